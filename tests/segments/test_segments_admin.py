"""The segment pages of the admin, without JavaScript: an admin builds "readers in Oslo who
joined this year" row by row, counts, saves; bad rules are shown by their row and nothing is
saved; nested groups go through the JSON box; delete is refused while an issue waits for the
segment; viewers read and cannot save. (The browser and the live count: tests/e2e.)"""

from __future__ import annotations

import json
import re

from helpers.admin import PASSWORD, post
from helpers.roles import logged_in
from sqlalchemy import select

from newsletter.accounts import service as accounts
from newsletter.extensions import db
from newsletter.issues import service as issues
from newsletter.models import Role, Segment
from newsletter.segments import service as segments

OSLO = {
    "cond-0-field": "attribute",
    "cond-0-key": "city",
    "cond-0-op": "eq",
    "cond-0-value": "Oslo",
}
THIS_YEAR = {"cond-1-field": "signed_up_at", "cond-1-op": "within_days", "cond-1-value": "365"}
OSLO_THIS_YEAR = {
    "all": [
        {"field": "attributes.city", "op": "eq", "value": "Oslo"},
        {"field": "signed_up_at", "op": "within_days", "value": 365},
    ]
}


def saved(app) -> list[tuple[str, dict]]:
    with app.app_context():
        return [(s.name, s.rules) for s in db.session.scalars(select(Segment))]


def rows(page: str) -> int:
    return len(re.findall(r'name="cond-\d+-field"', page))


def status_text(page: str) -> str:
    found = re.search(r'<p id="segment-count"[^>]*>([^<]*)</p>', page)
    return found.group(1).strip() if found else ""


def test_admin_builds_oslo_this_year_row_by_row_counts_and_saves(app, admin_client, people):
    assert rows(admin_client.get("/admin/segments/new").get_data(as_text=True)) == 1
    form = {"name": "Oslo, this year", "match": "all", **OSLO}

    added = post(admin_client, "/admin/segments/new", {**form, "go": "add"})
    page = added.get_data(as_text=True)
    assert added.status_code == 200 and rows(page) == 2
    assert 'value="Oslo"' in page  # the first row kept as typed
    assert status_text(page) == ""

    counted = post(admin_client, "/admin/segments/new", {**form, **THIS_YEAR, "go": "count"})
    # Ann (3 days) and Bob (40 days) live in Oslo; Dan does too but joined 400 days ago.
    assert status_text(counted.get_data(as_text=True)) == "2 subscribers match these rules now."
    assert saved(app) == []  # counting saves nothing

    done = post(admin_client, "/admin/segments/new", {**form, **THIS_YEAR, "go": "save"})
    assert done.status_code == 302
    assert saved(app) == [("Oslo, this year", OSLO_THIS_YEAR)]
    listing = admin_client.get("/admin/segments").get_data(as_text=True)
    assert re.search(r"Oslo, this year</a></td>\s*<td>2</td>", listing)
    edit = admin_client.get(done.headers["Location"]).get_data(as_text=True)
    assert "2 subscribers match these rules now." in edit
    assert rows(edit) == 2 and 'value="365"' in edit  # the saved rules back in the rows
    assert "&#34;within_days&#34;" in edit  # and in the JSON box


def test_a_row_is_removed_by_its_own_button(app, admin_client, people):
    form = {"name": "x", "match": "any", **OSLO, **THIS_YEAR, "remove": "0"}

    page = post(admin_client, "/admin/segments/new", form).get_data(as_text=True)

    assert rows(page) == 1
    assert 'value="365"' in page and 'value="Oslo"' not in page
    assert re.search(r'<input checked[^>]*value="any"', page)
    assert saved(app) == []


def test_bad_rules_are_shown_by_their_row_and_nothing_is_saved(app, admin_client, people):
    bad = {**OSLO, "cond-1-field": "signed_up_at", "cond-1-op": "within_days"}
    form = {"name": "Broken", "match": "all", **bad, "cond-1-value": "soon", "go": "save"}

    answer = post(admin_client, "/admin/segments/new", form)

    page = answer.get_data(as_text=True)
    assert answer.status_code == 400
    assert 'id="cond-1-error"' in page and "Condition 2: within_days takes a whole number" in page
    assert 'aria-describedby="cond-1-error"' in page and 'id="cond-0-error"' not in page
    assert 'value="soon"' in page  # as typed, to correct
    assert saved(app) == []


def test_nested_groups_go_through_the_json_box(app, admin_client, people):
    nested = {"any": [OSLO_THIS_YEAR, {"field": "attributes.plan", "op": "eq", "value": "pro"}]}
    form = {"name": "Oslo or pro", "match": "all", **OSLO, "rules_shown": "", "go": "save"}

    for bad in ("{not json", "[" * 100_000, json.dumps({"all": [{"field": "citty"}]})):
        refused = post(admin_client, "/admin/segments/new", {**form, "rules_json": bad})
        assert refused.status_code == 400
        assert 'id="rules_json-error"' in refused.get_data(as_text=True)
    assert saved(app) == []

    done = post(admin_client, "/admin/segments/new", {**form, "rules_json": json.dumps(nested)})
    assert saved(app) == [("Oslo or pro", nested)]
    page = admin_client.get(done.headers["Location"]).get_data(as_text=True)
    assert rows(page) == 0 and "groups inside groups, which rows cannot show" in page
    # Ann and Bob (Oslo, this year), Eve (pro).
    assert "3 subscribers match these rules now." in page

    again = post(  # re-saved untouched from that page: the JSON stays the rules
        admin_client,
        done.headers["Location"],
        {"name": "Oslo or pro", "source": "json", "rules_json": json.dumps(nested), "go": "save"},
    )
    assert again.status_code == 302 and saved(app) == [("Oslo or pro", nested)]


def test_the_count_endpoint_answers_the_forms_rules(app, admin_client, people):
    answer = post(admin_client, "/admin/segments/count", {"match": "all", **OSLO, **THIS_YEAR})
    assert answer.json == {"count": 2, "text": "2 subscribers match these rules now."}

    bad = post(admin_client, "/admin/segments/count", {**OSLO, "cond-0-op": "before"})
    assert bad.status_code == 422 and bad.json["error"].startswith("condition 1: ")


def test_delete_is_refused_plainly_while_an_unsent_issue_targets_it(app, admin_client, people):
    with app.app_context():
        segment_id = segments.create("Oslo", OSLO_THIS_YEAR).id
        issue_id = issues.save(None, subject="Oslo news", segment_id=segment_id).id

    refused = post(admin_client, f"/admin/segments/{segment_id}/delete")
    page = refused.get_data(as_text=True)
    assert refused.status_code == 409
    assert "Not deleted." in page and "Oslo news" in page
    assert [name for name, _ in saved(app)] == ["Oslo"]

    with app.app_context():
        issues.save(issue_id, subject="Oslo news", segment_id=None)
    deleted = post(admin_client, f"/admin/segments/{segment_id}/delete")
    assert deleted.status_code == 302 and saved(app) == []


def test_viewers_read_segments_but_cannot_save_or_count(app, people):
    with app.app_context():
        accounts.set_admin("viewer@example.org", PASSWORD, role=Role.VIEWER)
        segment_id = segments.create("Oslo", OSLO_THIS_YEAR).id
    viewer, token = logged_in(app, Role.VIEWER)

    page = viewer.get(f"/admin/segments/{segment_id}").get_data(as_text=True)
    assert "2 subscribers match these rules now." in page
    assert "Save segment" not in page and "Delete this segment" not in page
    assert "data-count-url" not in page
    form = {"csrf_token": token, "name": "Renamed", "match": "all", **OSLO, "go": "save"}
    assert viewer.post(f"/admin/segments/{segment_id}", data=form).status_code == 403
    assert viewer.post("/admin/segments/new", data=form).status_code == 403
    assert viewer.post("/admin/segments/count", data=form).status_code == 403
    assert saved(app) == [("Oslo", OSLO_THIS_YEAR)]
