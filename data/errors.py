"""Errors are types: every refusal of the domain is a `DomainError` with a `kind`, and ONE table
(`HTTP_STATUS`) says what each kind is on the web. The web layer (dashboard.api.errors) never looks
at a message to decide a status; a page shows the message, an API answers
`{"error": code, "detail": message}` with the kind's status.

Kinds:
- invalid      the input is wrong (a field, a missing reason)                     422
- bad_request  the request itself is malformed (a header, the body's shape)       400
- unauthorized no credential, or a wrong one                                       401
- forbidden    the viewer may see the thing but not do this                        403
- not_found    no such thing, or not visible to this viewer (never tell which)     404
- conflict     the thing's state does not allow it now, or a twin exists           409
- too_large    a body or an upload is over its limit                               413
- unsupported  a media type we do not take                                         415
- too_many     a rate limit                                                         429
- unavailable  the database is busy or down: try again later (Retry-After)          503
"""

from __future__ import annotations

from typing import Any, ClassVar

HTTP_STATUS: dict[str, int] = {
    "invalid": 422,
    "bad_request": 400,
    "unauthorized": 401,
    "forbidden": 403,
    "not_found": 404,
    "conflict": 409,
    "too_large": 413,
    "unsupported": 415,
    "too_many": 429,
    "unavailable": 503,
}


class DomainError(Exception):
    """A refusal: `kind` (a key of HTTP_STATUS), `code` for machines, the message for people,
    `detail` optional structured detail (e.g. field errors) for API answers."""

    kind: ClassVar[str] = "invalid"  # the default kind of a subclass; an instance may override it

    def __init__(self, code: str, message: str, *, kind: str | None = None, detail: Any = None):
        super().__init__(message)
        self.code = code
        if kind is not None:
            if kind not in HTTP_STATUS:
                raise ValueError(f"unknown error kind {kind!r}")
            self.kind = kind
        self.detail = detail

    @property
    def status(self) -> int:
        return HTTP_STATUS[self.kind]

    @property
    def message(self) -> str:
        return str(self)


class WorkflowError(DomainError):
    """An action refused by the state machine or its inputs (invalid; conflict for a wrong state)."""


class Unavailable(DomainError):
    """The database could not answer in time (locked, down): nothing was written; try again."""

    kind = "unavailable"

    def __init__(self, message: str = "the database is busy; try again in a few seconds", *, retry_after: int = 5):
        super().__init__("unavailable", message)
        self.retry_after = retry_after
