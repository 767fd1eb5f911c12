"""What a page shows a viewer who may not see it: an explicit panel (请登录 / 无权限), never data
and never a traceback. Pages call `refusal(viewer, permission)` first; callbacks raise or catch
`AccessDenied` and show `refusal_panel`."""

from __future__ import annotations

from dash import html

from dashboard.labels import t
from data.access import Viewer


def needs_login(viewer: Viewer) -> bool:
    return viewer.role in ("anonymous", "resident")


def refusal_panel(viewer: Viewer, detail: str | None = None) -> html.Div:
    if needs_login(viewer):
        return html.Div(
            [
                html.H2(t("access.login_needed")),
                html.P(detail or t("access.login_hint")),
                html.A(t("access.login_link"), href="/login", className="gcc-button"),
            ],
            className="gcc-refusal",
            role="alert",
        )
    return html.Div(
        [html.H2(t("access.denied")), html.P(detail or t("access.denied_hint"))],
        className="gcc-refusal",
        role="alert",
    )


def refusal(viewer: Viewer, *permissions: str) -> html.Div | None:
    """A refusal panel if the viewer lacks any of `permissions`, else None."""
    if all(viewer.can(p) for p in permissions):
        return None
    return refusal_panel(viewer)


def error_panel(message: str | None = None) -> html.Div:
    return html.Div(html.P(message or t("error.page")), className="gcc-refusal gcc-error", role="alert")


def not_found_panel() -> html.Div:
    """No such page or thing, or not in the viewer's area (the two are not told apart)."""
    return html.Div(
        [
            html.H2(t("notfound.title")),
            html.P(t("notfound.hint")),
            html.A(t("notfound.home"), href="/", className="gcc-button"),
        ],
        className="gcc-refusal",
        role="alert",
    )
