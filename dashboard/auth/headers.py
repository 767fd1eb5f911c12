"""Security headers and the content security policy (flask-talisman).

Scripts: only our own files plus the hashes of Dash's inline scripts (`app.csp_hashes()`; the
renderer bootstrap and clientside callbacks). Dash adds inline scripts while it sets itself up on
the first request, so the hashes are refreshed whenever their number changes.
Styles allow 'unsafe-inline': Plotly and MapLibre set style attributes and inject <style>.
MapLibre runs its tile workers from blob: URLs (worker-src / child-src blob:).
Everything is served locally: no CDN, no remote fonts; an intranet tile server
(GCC_TILE_URL, when that setting exists) is the one remote origin allowed.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import dash
from dash import _callback
from flask_talisman import Talisman


def policy(app: dash.Dash, extra_origins: list[str]) -> dict:
    return {
        "default-src": "'self'",
        "script-src": ["'self'", *app.csp_hashes()],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:", "blob:", *extra_origins],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'", *extra_origins],
        "worker-src": ["'self'", "blob:"],
        "child-src": ["'self'", "blob:"],
        "frame-ancestors": "'self'",
        "form-action": "'self'",
        "base-uri": "'self'",
        "object-src": "'none'",
    }


def install(app: dash.Dash) -> None:
    server = app.server
    settings = server.extensions["gcc_settings"]
    secure = bool(server.config.get("SESSION_COOKIE_SECURE"))
    tile_url = getattr(settings, "gcc_tile_url", "") or ""
    origins = []
    if tile_url:
        parts = urlsplit(tile_url.replace("{", "").replace("}", ""))
        if parts.scheme and parts.netloc:
            origins.append(f"{parts.scheme}://{parts.netloc}")
    talisman = Talisman(
        server,
        content_security_policy=policy(app, origins),
        force_https=False,  # TLS ends at the reverse proxy, if any; a redirect here would loop
        strict_transport_security=secure,
        session_cookie_secure=secure,  # Talisman would otherwise force Secure and break plain-HTTP demo mode
        session_cookie_http_only=True,
        session_cookie_samesite="Lax",
        frame_options="SAMEORIGIN",
        referrer_policy="same-origin",  # a kiosk link's token never leaves in a Referer
        permissions_policy={"browsing-topics": "()", "geolocation": "(self)", "camera": "(self)"},
    )
    seen = {"count": -1}

    @server.after_request
    def _refresh_script_hashes(response):
        # Runs before Talisman's own after_request (Flask runs them in reverse order).
        count = len(app._inline_scripts) + len(_callback.GLOBAL_INLINE_SCRIPTS)
        if count != seen["count"]:
            talisman.content_security_policy["script-src"] = ["'self'", *app.csp_hashes()]
            seen["count"] = len(app._inline_scripts)
        return response
