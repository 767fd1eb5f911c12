"""ReportError: a report could not be made; the message says why, in one line an operator can act on."""

from __future__ import annotations


class ReportError(Exception):
    pass


class NotInstalled(ReportError):
    """Chromium or Playwright is missing: the one message naming what to install."""
