"""Numbers an editor can type into the address bar or a form: ids beyond the database's
integer, digits that are not ASCII ("²", "٣"), a 5,000-digit number. Each is a row that does
not exist or a value ignored, never a 500, on SQLite and on PostgreSQL."""

from __future__ import annotations

import re

import pytest
from helpers.api import bearer
from helpers.roles import database_state, logged_in, make_staff

from newsletter.models import Role

BEYOND = {
    "past PostgreSQL's integer": str(2**31),
    "past SQLite's integer": str(10**20),
    "past Python's int() limit": "7" * 5000,
}
ODD_DIGITS = {
    "superscript two": "²",
    "Arabic-Indic three": "٣",
    "past SQLite's integer": str(10**20),
    "5000 digits": "7" * 5000,
    "negative": "-1",
}

pytestmark = pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)


def _admin_urls_with_ids(app, number: str) -> list[tuple[str, str]]:
    """(method, url) of every admin route that names a row by id, with ``number`` as every id."""
    calls = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/admin/") or "<int:" not in rule.rule:
            continue
        url = re.sub(r"<int:[^>]+>", number, rule.rule)
        url = re.sub(r"<any\('?([^',)]+)[^>]*>", r"\1", url)  # the first verb a route takes
        url = re.sub(r"<verb>", "pause", url)
        calls += [(method, url) for method in sorted(rule.methods - {"HEAD", "OPTIONS"})]
    return calls


@pytest.mark.parametrize("number", BEYOND.values(), ids=BEYOND.keys())
def test_an_id_beyond_any_row_in_an_admin_url_is_not_found(app, number):
    make_staff(app)
    client, token = logged_in(app, Role.OWNER)
    calls = _admin_urls_with_ids(app, number)
    assert len(calls) > 40

    answers = {(m, u[:60]): client.open(u, method=m, data={"csrf_token": token}) for m, u in calls}

    assert {call: a.status_code for call, a in answers.items() if a.status_code != 404} == {}


@pytest.mark.parametrize("number", BEYOND.values(), ids=BEYOND.keys())
def test_an_id_beyond_any_row_in_an_api_url_is_a_404_problem(app, number):
    headers = bearer(app)
    calls = [
        (method, re.sub(r"<int:[^>]+>", number, rule.rule))
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/v1/") and "<int:" in rule.rule
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"})
    ]
    assert len(calls) > 20

    answers = {(m, u[:60]): app.test_client().open(u, method=m, headers=headers) for m, u in calls}

    assert {call: a.status_code for call, a in answers.items() if a.status_code != 404} == {}
    assert {a.mimetype for a in answers.values()} == {"application/problem+json"}


@pytest.mark.parametrize("value", ODD_DIGITS.values(), ids=ODD_DIGITS.keys())
def test_odd_numbers_in_filters_and_cursors_are_ignored(app, value):
    staff = make_staff(app)
    client, _ = logged_in(app, Role.OWNER)
    pages = {
        "/admin/bounces": {"before": value},
        "/admin/audit": {"before": value},
        "/admin/subscribers": {"list": value},
    }

    for page, query in pages.items():
        answer = client.get(page, query_string=query)
        assert answer.status_code == 200, page
    export = client.get("/admin/export.csv", query_string={"list": value})
    assert export.status_code == 200
    # An id that names no list is no filter: the whole export, as for no list at all.
    assert export.data.count(b"@example.net") == len(staff.subscriber_ids)


@pytest.mark.parametrize("value", ODD_DIGITS.values(), ids=ODD_DIGITS.keys())
def test_odd_numbers_in_the_segment_builder_are_told_or_ignored(app, value):
    make_staff(app)
    client, token = logged_in(app, Role.EDITOR)
    form = {
        "csrf_token": token,
        "name": "Odd",
        "match": "all",
        "cond-0-field": "signed_up_at",
        "cond-0-op": "within_days",
        "cond-0-value": value,
        f"cond-{value}-field": "email",
        "go": "count",
    }

    counted = client.post("/admin/segments/new", data=form)
    removed = client.post("/admin/segments/new", data={**form, "remove": value})

    for answer in (counted, removed):  # no row has that number: nothing is removed
        assert answer.status_code == 400  # within_days takes 0 to 36,500 days, and says so
        assert "whole number of days" in answer.get_data(as_text=True)


@pytest.mark.parametrize("value", ODD_DIGITS.values(), ids=ODD_DIGITS.keys())
def test_odd_ids_in_the_bulk_and_retry_forms_change_nothing(app, value):
    staff = make_staff(app)
    client, token = logged_in(app, Role.OWNER)
    before = database_state(app)

    bulk = client.post(
        "/admin/subscribers/bulk",
        data={"csrf_token": token, "action": "unsubscribe", "id": [value, value]},
    )
    retry = client.post(
        f"/admin/webhooks/{staff.webhook_id}/retry", data={"csrf_token": token, "delivery": value}
    )

    assert (bulk.status_code, retry.status_code) == (302, 302)
    assert database_state(app) == before
