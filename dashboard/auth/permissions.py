"""The permission table: which permission (data.access.PERMISSIONS) each route, page and callback
needs. Data only, read top to bottom; dashboard.auth.guard enforces it before every request and
tests/test_access_sweep.py fails when a route, page or callback is missing from it,
tests/test_permissions.py when an entry here names nothing the app has.

Anything not listed is refused (default deny). A page's callbacks need the page's permission: a
callback defined in a page module (dash.register_page) is found through the page registry; one
defined elsewhere needs a CALLBACK_MODULES entry (the longest matching module prefix wins).

Scope (which grids, communities, tickets) is not decided here: the data layer filters every
query by the viewer (data.access.ticket_clause / region_clause), so a permitted page or callback
still returns only the viewer's own area.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Access:
    permission: str  # a data.access permission, or PUBLIC / SIGNED_IN / PAGE / CALLBACK
    audit: str | None = None  # an audit action written for every successful request (data.audit)


PUBLIC = "public"  # anyone, also anonymous: the data behind it is public or checked by its own token
SIGNED_IN = "signed_in"  # any logged-in account (not the kiosk, not a resident token)
PAGE = "page"  # a Dash page: the permission comes from PAGES
CALLBACK = "callback"  # Dash's callback endpoint: each callback is looked up on its own
# The route authenticates its own credential (an API key of data.apikeys, a ticket's public token)
# and reads only through the Viewer that credential yields; the sweep probes these for every role.
OWN_CREDENTIAL = "own_credential"

OPEN = Access(PUBLIC)

# Flask routes, by their rule in the url map; a dict value gives a permission per method.
ROUTES: dict[str, Access | dict[str, Access]] = {
    # Logging in and out; health for the load balancer.
    "/login": OPEN,
    "/logout": OPEN,
    "/healthz": OPEN,
    "/auth-static/<path:filename>": OPEN,
    "/static/<path:filename>": OPEN,
    # Dash's own machinery: the page shell, scripts, styles and the callback list carry no data.
    "/assets/<path:filename>": OPEN,
    "/_dash-component-suites/<string:package_name>/<path:fingerprinted_path>": OPEN,
    "/_dash-layout": OPEN,
    "/_dash-dependencies": OPEN,
    "/_reload-hash": OPEN,
    "/_favicon.ico": OPEN,
    "/_dash-update-component": Access(CALLBACK),
    "/": Access(PAGE),
    "/<path:path>": Access(PAGE),
    # The map's display GeoJSON, scoped to the viewer inside the handler (issue #4).
    "/geo/<layer>.json": Access("regions"),
    # Unmasking one field of one ticket, with a reason (audited inside data.privacy).
    "/api/unmask": Access("unmask"),
    # Phone pages of issue #5 (Flask routes in dashboard.phone; /my's handlers also check the field role).
    "/report": OPEN,
    "/report/map.svg": OPEN,
    "/phone-static/<path:filename>": OPEN,
    "/t/<token>": OPEN,
    "/t/<token>/rate": Access(OWN_CREDENTIAL),
    "/my": Access("ticket_actions"),
    "/my/<int(max=9223372036854775807):ticket_id>/<any(respond, handle):action>": Access("ticket_actions"),
    # The weekly report archive (issue #10): district-wide exporters only (checked in the handler too).
    "/reports/<week>/<name>": Access("export", audit="download"),
    "/reports/<week>/thumbs/<name>": Access("export"),
}

# Route families whose handlers check their own credential (issue #5's intake API and photos).
ROUTE_PREFIXES: dict[str, Access] = {
    "/api/v1/": Access(OWN_CREDENTIAL),
    "/open311/v2/": Access(OWN_CREDENTIAL),
    "/photos/": Access(OWN_CREDENTIAL),
}

# Dash pages, by path_template (or path when the page has no template). The phone pages (/report,
# /t/<token>, /my) are Flask routes: they are in ROUTES.
PAGES: dict[str, Access] = {
    "/": Access("aggregates"),
    "/screen": Access("aggregates"),  # the big screen: staff and the kiosk token
    "/grid/<code>": Access("drilldown"),
    "/community/<code>": Access("drilldown"),
    "/street/<code>": Access("drilldown"),
    "/district": Access("drilldown"),
    "/desk": Access("desk"),
    "/desk/<ticket_id>": Access("desk"),
    "/ticket/<ticket_id>": Access("tickets"),
    # Administration (issue #9): accounts and the audit log; every change on /users is audited.
    "/users": Access("users"),
    "/audit": Access("audit"),
    # What the pages router shows for a path that is no page (answered with status 404): no data.
    "/not-found-404": OPEN,
    "/reports": Access("export"),  # the weekly report archive and "generate now" (issue #10)
}

# Callbacks defined outside a page module, by module prefix.
CALLBACK_MODULES: dict[str, Access] = {
    "dash": OPEN,  # Dash's own: the pages router (guard checks the page it renders) and document.title
    "dashboard.screen": Access("aggregates"),  # the big screen's refresh (issue #4)
    "dashboard.drill": Access("drilldown"),  # drill-down filters (issue #4)
    "dashboard.desk": Access("desk"),  # the desk's queues (issue #4)
    "dashboard.desk.actions": Access("ticket_actions"),  # the action panel, on /desk and /ticket (issue #4)
    "dashboard.ticketview": Access("tickets"),  # the ticket page after an action (issue #4)
}
