"""Rendering a page for the current viewer: the page's builder gets the Viewer; a refusal becomes
the 请登录/无权限 panel, something not found (or outside the viewer's area) the not-found panel,
and any other failure a short message, never a traceback."""

from __future__ import annotations

import logging
from collections.abc import Callable

from dash import html

from dashboard.common.access import error_panel, not_found_panel, refusal_panel
from dashboard.viewer import current_viewer
from data.access import AccessDenied, NotVisible

log = logging.getLogger(__name__)


def render(build: Callable[..., object], /, *args, **kwargs):
    viewer = current_viewer()
    try:
        return build(viewer, *args, **kwargs)
    except NotVisible as exc:  # the page answers 404 too (dashboard.common.not_found)
        log.info("page not found for %s: %s", viewer.role, exc)
        return html.Div(not_found_panel(), className="page page-not-found")
    except AccessDenied as exc:
        log.info("page refused for %s: %s", viewer.role, exc)
        return html.Div(refusal_panel(viewer), className="page page-refused")
    except Exception:
        log.exception("page failed to render")
        return html.Div(error_panel(), className="page page-error")
