"""The label catalogue (dashboard/labels.py) is complete: every key the code and the templates ask
for exists in both locales, every code that reaches a person (status, action, channel, rating,
quality flag, role, intake notice) has English words, and the helpers for scripts and notices work.
(Same keys and placeholders in both locales: tests/test_figures.py; pages with GCC_LOCALE=en:
tests/test_locale_en.py.)"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from dashboard import labels
from data.access import ROLES
from data.demo.reference import SOURCE_LABELS
from data.models import RATINGS
from data.quality import FLAGS
from data.workflow import STATUS_LABELS, TRANSITIONS

ROOT = Path(__file__).resolve().parent.parent
# t("key" / text("key" in Python, t('key' in Jinja templates; keys built at run time are not seen.
CALL = re.compile(r"""\b(?:t|text)\(\s*["']([a-z0-9_]+(?:\.[a-z0-9_]+)+)["']""")


def _used_keys() -> dict[str, set[Path]]:
    used: dict[str, set[Path]] = {}
    files = [*ROOT.glob("dashboard/**/*.py"), *ROOT.glob("dashboard/**/*.html")]
    for path in files:
        if path.name == "labels.py":
            continue
        for key in CALL.findall(path.read_text()):
            used.setdefault(key, set()).add(path.relative_to(ROOT))
    return used


def test_every_key_the_code_asks_for_exists():
    used = _used_keys()
    assert len(used) > 100  # the scan sees the pages' labels
    missing = {key: sorted(map(str, where)) for key, where in used.items() if key not in labels.ZH}
    assert not missing


def test_every_notice_the_intake_gives_has_words():
    codes = set()
    for path in ROOT.glob("data/**/*.py"):
        codes.update(re.findall(r"""\bnotice\(\s*["'](\w+)["']""", path.read_text()))
    codes.update(re.findall(r"""\bnotice\(\s*["'](\w+)["']""", (ROOT / "dashboard/api/open311.py").read_text()))
    assert {"possible_duplicate", "outside_grids", "repeat_alarm"} <= codes
    assert not {c for c in codes if f"notice.{c}" not in labels.ZH}


def test_codes_shown_to_people_have_english_words():
    assert set(STATUS_LABELS) <= set(labels.STATUS_EN)
    assert set(TRANSITIONS) | set(labels.ACTIONS_ZH_EXTRA) <= set(labels.ACTIONS_EN)
    assert set(SOURCE_LABELS) <= set(labels.SOURCES_EN)
    assert set(RATINGS) <= set(labels.RATINGS_EN)
    assert set(labels.MATCH_ZH) == set(labels.MATCH_EN)
    assert not [f for f in FLAGS if f"quality.{f}" not in labels.ZH]
    assert not [r for r in ROLES if f"role.{r}" not in labels.ZH]
    for status in STATUS_LABELS:
        assert labels.status_label(status, "en") != labels.status_label(status, "zh")


def test_a_notice_in_words():
    notice = {"code": "repeat_alarm", "ticket_id": 12, "alarms": 3}
    assert labels.notice_text(notice, "en") == "The device's repeated alarm was added to ticket 12 (alarm 3)"
    assert labels.notice_text(notice, "zh") == "同一设备的重复告警已并入工单 12（第 3 次）"
    assert labels.notice_text("stored before codes", "en") == "stored before codes"  # an old idempotent replay
    assert labels.notices_text([{"code": "outside_grids"}], "en")[0].startswith("The location is in no grid")
    with pytest.raises(KeyError):
        labels.notice_text({"code": "no_such_notice"}, "en")


def test_a_script_gets_its_words_unformatted():
    words = labels.templates("phone.js.", "en")
    assert words["too_many_photos"] == "At most {n} photos" and "phone.js.sending" not in words
    assert set(words) == set(labels.templates("phone.js.", "zh"))
    assert labels.templates("phone.js.", "zh")["sending"] == "正在提交…"


def test_an_automatic_escalation_is_worded_by_the_dashboard():
    data = {"level": 1, "to": "community", "reason": "response_timeout"}
    assert labels.event_note("escalate", None, data, "zh") == "响应超时，自动督办至社区"
    assert labels.event_note("escalate", None, data, "en") == "Response deadline passed: escalated to Community level"
    assert labels.event_note("escalate", "人工督办", {**data, "reason": "manual"}, "en") == "人工督办"
    assert labels.event_note("comment", None, {}, "en") is None


def test_a_repeated_iot_alarm_is_worded_by_the_dashboard():
    data = {"repeat_alarm": {"device_id": "D-7", "alarm_type": "overflow", "alarms": 3}}
    assert labels.event_note("comment", None, data, "zh") == "设备 D-7 再次告警（overflow，第 3 次）"
    assert labels.event_note("comment", "满溢", data, "en") == "Device D-7 alarmed again (overflow, alarm 3): 满溢"
