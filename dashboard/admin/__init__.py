"""The administration pages of issue #9: /users (accounts) and /audit (the audit log), for the
roles with the "users" / "audit" permissions (admins). Page modules (dashboard/pages/users.py,
audit.py) hold the callbacks, so the guard applies the page's permission to them."""
