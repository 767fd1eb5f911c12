"""The guard: before every request, after the viewer is resolved, refuse what the permission table
(dashboard.auth.permissions) does not grant this viewer: 401 for anonymous (and a resident token
outside its page), 403 for a role that may not. Covers every Flask route, every Dash page (the
HTML shell and the pages router callback that renders it) and every Dash callback.

Also: unsafe requests whose Origin is another site are refused (CSRF on top of SameSite cookies),
and routes whose table entry names an audit action get an audit row for each successful response.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from urllib.parse import urlsplit

import dash
from dash import _callback, _pages
from flask import g, jsonify, render_template, request

from dashboard.auth import csrf, permissions
from dashboard.auth.permissions import CALLBACK, OWN_CREDENTIAL, PAGE, PUBLIC, SIGNED_IN, Access
from dashboard.common.context import db
from dashboard.labels import t
from dashboard.viewer import add_check, current_viewer
from data import audit
from data.access import Viewer

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Decision:
    access: Access | None  # None: nothing in the table grants this request
    what: str  # what was looked up, for the refusal message and the log
    status: int = 0  # a non-zero status refuses outright (bad request, unknown callback)


def install(app: dash.Dash) -> None:
    server = app.server
    server.extensions["gcc_dash"] = app

    # Right after the viewer is resolved, inside dashboard.viewer's hook: before Dash's own hooks.
    add_check(server, lambda: check(app))
    server.after_request(_audit_success)


def check(app: dash.Dash):
    if request.method not in ("GET", "HEAD", "OPTIONS") and not same_origin():
        return refuse(403, "cross-site request refused", json=True)
    decision = decide(app)
    if decision.status:
        return refuse(decision.status, decision.what, json=True)
    viewer = current_viewer()
    if decision.access is None:
        log.warning("no permission entry for %s %s (%s): refused", request.method, request.path, decision.what)
        return refuse(401 if _needs_login(viewer) else 403, f"not in the permission table: {decision.what}")
    if not allowed(viewer, decision.access.permission):
        return refuse(401 if _needs_login(viewer) else 403, f"{viewer.role} may not use {decision.what}")
    g.gcc_audit = decision.access.audit
    return None


def allowed(viewer: Viewer, permission: str) -> bool:
    if permission in (PUBLIC, OWN_CREDENTIAL):
        return True
    if permission == SIGNED_IN:
        return viewer.user_id is not None
    return viewer.can(permission)


def _needs_login(viewer: Viewer) -> bool:
    return viewer.role in ("anonymous", "resident")


def decide(app: dash.Dash) -> Decision:
    rule = request.url_rule.rule if request.url_rule is not None else None
    if rule is None:
        return Decision(permissions.OPEN, "no such route")  # Flask answers 404 / 405 itself
    entry = permissions.ROUTES.get(rule)
    if isinstance(entry, dict):
        entry = entry.get(request.method) or (entry.get("GET") if request.method == "HEAD" else None)
    if entry is None:
        for prefix, access in permissions.ROUTE_PREFIXES.items():
            if request.path.startswith(prefix):
                return Decision(access, f"route {rule}")
        return Decision(None, f"route {rule}")
    if entry.permission == PAGE:
        return page_decision(app, request.path)
    if entry.permission == CALLBACK:
        return callback_decision(app, request.get_json(silent=True))
    return Decision(entry, f"route {rule}")


def page_decision(app: dash.Dash, pathname: str) -> Decision:
    # Dash's own matcher decides which page renders, so the guard can never disagree with it.
    if not pathname.startswith(app.config.requests_pathname_prefix):
        return Decision(None, f"page {pathname[:80]} (not a path of this app)", status=400)
    page, _ = _pages._path_to_page(app.strip_relative_path(pathname) or "")
    if not page:
        return Decision(permissions.OPEN, f"page {pathname} (not found)")  # Dash's 404 layout, no data
    key = page.get("path_template") or page.get("path")
    return Decision(permissions.PAGES.get(key), f"page {key}")


def callback_decision(app: dash.Dash, body) -> Decision:
    if not _well_formed(body):
        return Decision(None, "a callback request needs output, outputs, inputs and state in Dash's shape", status=400)
    output = body["output"]
    spec = app.callback_map.get(output) or _callback.GLOBAL_CALLBACK_MAP.get(output)
    if spec is None:
        return Decision(None, f"unknown callback {output[:80]}", status=404)
    if output.startswith("..") and "_pages_content.children" in output:
        pathname = _input_value(body, "_pages_location", "pathname")
        if not isinstance(pathname, str) or len(pathname) > 512:
            return Decision(None, "pages router needs a pathname string", status=400)
        return page_decision(app, pathname)
    return Decision(callback_access(spec.get("callback")), f"callback {output[:120]}")


def callback_access(func) -> Access | None:
    module = getattr(func, "__module__", None) or ""
    for page in dash.page_registry.values():
        if page.get("module") == module:
            return permissions.PAGES.get(page.get("path_template") or page.get("path"))
    best = None
    for prefix, access in permissions.CALLBACK_MODULES.items():
        if (module == prefix or module.startswith(prefix + ".")) and (best is None or len(prefix) > len(best[0])):
            best = (prefix, access)
    return best[1] if best else None


def _well_formed(body) -> bool:
    # Dash itself answers a malformed body with a 500; a forged request gets a 400 here instead.
    if not isinstance(body, dict) or not isinstance(body.get("output"), str):
        return False
    for key in ("inputs", "state", "changedPropIds"):
        if key in body and not isinstance(body[key], list):
            return False
    if not isinstance(body.get("inputs"), list):
        return False
    items = [*body["inputs"], *body.get("state", [])]
    outputs = body.get("outputs", [])
    items += outputs if isinstance(outputs, list) else [outputs]
    for item in items:
        for leaf in item if isinstance(item, list) else [item]:
            if not isinstance(leaf, dict) or "id" not in leaf or not isinstance(leaf.get("property"), str):
                return False
    return all(isinstance(p, str) for p in body.get("changedPropIds", []))


def _input_value(body: dict, component_id: str, prop: str):
    for item in (body.get("inputs") or []) + (body.get("state") or []):
        if isinstance(item, dict) and item.get("id") == component_id and item.get("property") == prop:
            return item.get("value")
    return None


def same_origin() -> bool:
    """False when the browser says the request comes from another site (Origin, else Referer).
    Clients that send neither (curl, API clients) are not browsers and carry no ambient cookie
    of ours cross-site, so they pass; their own credential is checked further on."""
    source = request.headers.get("Origin") or request.headers.get("Referer")
    if not source or source == "null":
        return source != "null"
    parts = urlsplit(source)
    return parts.netloc == request.host and parts.scheme in ("http", "https")


def refuse(status: int, message: str, *, json: bool = False):
    viewer = current_viewer()
    wants_html = (
        not json
        and request.method == "GET"
        and request.path != "/_dash-update-component"
        and "text/html" in request.headers.get("Accept", "")
    )
    if wants_html and status == 401:
        from dashboard.auth.login import login_page

        return login_page(401, next_url=request.full_path.rstrip("?"), reason=t("auth.login_first"))
    if wants_html and status == 403:
        return render_template("auth/refused.html", viewer=viewer, csrf_token=csrf.token()), 403
    error = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found"}.get(status, "refused")
    return jsonify({"error": error, "message": message}), status


def _audit_success(response):
    action = g.pop("gcc_audit", None)
    if action and response.status_code < 400:
        with db().session() as s:
            audit.record(s, action, current_viewer(), target_type="route", target_id=request.path)
    return response


def describe(app: dash.Dash) -> dict:
    """The permission of every route, page and server-side callback of this app, as the guard
    sees them (`python app.py routes`, and tests/test_access_sweep.py which replays them all)."""
    app.server.test_client().get("/_dash-layout")  # lets Dash finish its setup (callbacks, pages)
    routes = []
    for rule in app.server.url_map.iter_rules():
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            entry = permissions.ROUTES.get(rule.rule)
            if isinstance(entry, dict):
                entry = entry.get(method)
            if entry is None:
                entry = next((a for p, a in permissions.ROUTE_PREFIXES.items() if rule.rule.startswith(p)), None)
            routes.append({"rule": rule.rule, "method": method, "endpoint": rule.endpoint, "permission": _name(entry)})
    pages = [
        {
            "path": page.get("path"),
            "path_template": page.get("path_template"),
            "module": page.get("module"),
            "permission": _name(permissions.PAGES.get(page.get("path_template") or page.get("path"))),
        }
        for page in dash.page_registry.values()
    ]
    callbacks = []
    for output, spec in app.callback_map.items():
        func = spec.get("callback")
        router = output.startswith("..") and "_pages_content.children" in output
        if func is None:
            permission = "clientside"  # runs in the browser; never reaches the server
        else:
            permission = PAGE if router else _name(callback_access(func))
        callbacks.append({"output": output, "module": getattr(func, "__module__", None), "permission": permission})
    return {"routes": routes, "pages": pages, "callbacks": callbacks}


def _name(access: Access | None) -> str | None:
    return access.permission if access is not None else None
