"""Anonymous submissions (the /report form, ratings) are rate-limited per client address and for
everybody together, with counters in the database (data.ratelimit) shared by every process."""

from __future__ import annotations

from dashboard.api.errors import ApiError
from dashboard.common import context
from dashboard.viewer import client_address
from data import ratelimit


def check_anonymous() -> None:
    settings = context.settings()
    window = settings.gcc_report_limit_window_seconds
    verdict = ratelimit.hit(
        context.db(),
        [
            ratelimit.Limit(f"anon:client:{client_address()}", settings.gcc_report_limit_per_client, window),
            ratelimit.Limit("anon:global", settings.gcc_report_limit_global, window),
        ],
    )
    if not verdict.allowed:
        who = "from your address" if ":client:" in verdict.bucket else "from everybody"
        raise ApiError(
            429,
            "rate_limited",
            f"too many submissions {who} ({verdict.limit} per {window} s); try again in {verdict.retry_after} s",
            {"Retry-After": str(verdict.retry_after)},
        )
