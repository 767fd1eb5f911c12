"""create_app: the Flask server and the Dash app on it, with every blueprint and the viewer guard."""

from __future__ import annotations

import dash
from flask import Flask
from flask.json.provider import DefaultJSONProvider
from flask_compress import Compress

from dashboard import api, auth, health, labels, phone, ui, viewer
from dashboard.common import not_found
from dashboard.reports import routes as report_routes
from data.db import Database
from data.settings import Settings


class RequestJSON(DefaultJSONProvider):
    """A JSON body nested deeper than Python can parse is a malformed request: ValueError (so
    get_json answers 400), never a RecursionError that would become a 500 (issue #9)."""

    def loads(self, s, **kwargs):
        try:
            return super().loads(s, **kwargs)
        except RecursionError:
            raise ValueError("the JSON body is nested too deeply") from None


def create_app(settings: Settings, db: Database) -> dash.Dash:
    server = Flask(__name__)
    server.json = RequestJSON(server)
    # Requests wait for a database lock at most GCC_DB_WAIT_SECONDS, then get a 503 (issue #9).
    server.extensions["gcc_db"] = db.bounded(settings.gcc_db_wait_seconds)
    server.extensions["gcc_settings"] = settings
    viewer.install(server)
    # gzip JSON, JS and CSS: the wall's geometry and callbacks are mostly numbers and repeat.
    Compress(server)
    server.register_blueprint(health.blueprint)
    api.register(server)  # /api/v1, /open311/v2, /photos (issue #5)
    phone.register(server)  # /report, /my, /t/<token> (issue #5)
    report_routes.register(server)  # /reports/<week>/<file>: the weekly report archive (issue #10)
    app = dash.Dash(
        __name__,
        server=server,
        title=labels.text("app.title", settings.gcc_locale),  # until a page sets its own
        serve_locally=True,  # the dispatch center is on an intranet: no CDN
        suppress_callback_exceptions=True,
        update_title=None,
        use_pages=True,
        pages_folder="pages",  # dashboard/pages: the screen, drill-down, ticket and desk pages (issue #4)
    )
    ui.install(app)  # page container, page callbacks, /geo/*.json (issue #4)
    auth.protect(app)  # the guard before every page, callback and route; CSP and security headers
    not_found.install(app)  # a real 404 for a path that is no page, or an unknown region (issue #9)
    return app
