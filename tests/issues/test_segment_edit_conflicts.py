"""Two admins editing the same segment (an issue's audience): the save from the page opened
before the other's save is refused with a warning, and the rules saved first stay."""

from __future__ import annotations

import re

from helpers.admin import csrf_token, two_admins

from newsletter.extensions import db
from newsletter.models import Segment
from newsletter.segments import service as segments

OSLO = {"all": [{"field": "attributes.city", "op": "eq", "value": "Oslo"}]}


def rules_form(name: str, city: str) -> dict[str, str]:
    """The builder's fields for one condition, "city is <city>", as the page posts them."""
    return {
        "name": name,
        "match": "all",
        "source": "rows",
        "cond-0-field": "attribute",
        "cond-0-key": "city",
        "cond-0-op": "eq",
        "cond-0-value": city,
        "go": "save",
    }


def test_saving_a_segment_someone_else_saved_meanwhile_warns_and_keeps_theirs(app):
    with app.app_context():
        segment_id = segments.create("Oslo", OSLO).id
    url = f"/admin/segments/{segment_id}"
    opened = []
    for client in two_admins(app):
        page = client.get(url).get_data(as_text=True)
        stamp = re.search(r'name="edited_from"[^>]*value="([^"]*)"', page)
        fields = {"csrf_token": csrf_token(page), "edited_from": stamp.group(1) if stamp else ""}
        opened.append((client, fields))
    (ann, ann_fields), (bob, bob_fields) = opened

    assert ann.post(url, data={**ann_fields, **rules_form("Oslo", "Bergen")}).status_code == 302
    answer = bob.post(url, data={**bob_fields, **rules_form("Oslo readers", "Oslo")})

    assert answer.status_code == 409
    page = answer.get_data(as_text=True)
    assert "saved this segment after you opened it" in page
    assert 'value="Oslo readers"' in page  # Bob's entry is still in the form
    with app.app_context():
        segment = db.session.get(Segment, segment_id)
        assert (segment.name, segment.rules["all"][0]["value"]) == ("Oslo", "Bergen")
