"""Requests that used to give 500 (issue #9): digits that str.isdigit() accepts but int() refuses,
integers of thousands of digits, and JSON nested 100,000 deep — each must be a 4xx with the usual
error body, through the real app on the real database."""

from __future__ import annotations

import pytest

from tests.api_fixtures import assert_error, make_client, new_key

DEEP = "[" * 100_000 + "]" * 100_000
HUGE = "9" * 5000


@pytest.fixture
def app_client(db, settings, district):
    client = make_client(db, settings)
    client.key = new_key(db, "hostile", role="dispatcher", source="hotline")
    return client


def test_deeply_nested_json_is_a_400_everywhere(app_client):
    headers = {"X-Api-Key": app_client.key, "Content-Type": "application/json"}
    assert_error(app_client.post("/api/v1/tickets", data=DEEP, headers=headers), 400, "bad_json")
    obj = '{"a":' * 100_000 + "1" + "}" * 100_000
    assert_error(app_client.post("/api/v1/tickets", data=obj, headers=headers), 400, "bad_json")
    dash = app_client.post("/_dash-update-component", data=DEEP, headers={"Content-Type": "application/json"})
    assert dash.status_code == 400, dash.get_data(as_text=True)[:300]


def test_integers_of_thousands_of_digits_are_refused_not_crashed(app_client):
    headers = {"X-Api-Key": app_client.key, "Content-Type": "application/json"}
    body = '{"category": "0101", "priority": ' + HUGE + "}"
    assert_error(app_client.post("/api/v1/tickets", data=body, headers=headers), 400, "bad_json")
    assert_error(app_client.get(f"/api/v1/tickets/{HUGE}", headers=headers), 404)
    assert_error(app_client.get("/api/v1/tickets", query_string={"cursor": HUGE}, headers=headers), 422)
    dash = app_client.post(
        "/_dash-update-component",
        data='{"output": "x.children", "inputs": [' + HUGE + "]}",
        headers={"Content-Type": "application/json"},
    )
    assert dash.status_code == 400


@pytest.mark.parametrize("value", ["²", "١٢", HUGE, "-5", "0"])
def test_odd_digits_in_ids_are_a_clean_4xx(app_client, value):
    photo = app_client.get("/photos/u/2026/11/x.jpg", query_string={"ticket": value})
    assert photo.status_code in (400, 401, 404), photo.status_code
    assert_error(app_client.get(f"/api/v1/tickets/{value}", headers={"X-Api-Key": app_client.key}), 404)
    limit = app_client.get("/open311/v2/requests.json", query_string={"limit": value})
    assert limit.status_code == 400 and limit.get_json()[0]["error"] == "bad_limit"
    one = app_client.get(f"/open311/v2/requests/{value}.json")
    assert one.status_code == 404


def test_callback_inputs_with_odd_digits_do_not_crash(app_client, db, district):
    """Every server callback coerces its inputs (dashboard.common.inputs): '²' is not a number."""
    from dashboard.common.inputs import as_int, parse_id, ticket_id

    for value in ("²", "١٢", HUGE, "1e5", " 7 ", None, [], {}):
        as_int(value)
        parse_id(value if isinstance(value, str) else None)
        ticket_id(value)
    assert as_int(" 7 ") == 7 and as_int("²") is None and parse_id(HUGE) is None
