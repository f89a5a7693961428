"""Issues that target a segment: an admin builds "readers in Oslo who joined this year" in the
form, sees the count, and sends an issue to exactly them (embedded queue, real SMTP, SQLite and
PostgreSQL); lists and a segment together reach the intersection; an issue with neither cannot
be sent; ``newsletter issue create --segment`` and the API's ``segment`` field."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from helpers.admin import login, make_admin, post
from helpers.api import bearer
from helpers.outbox import wait_idle
from helpers.segments import add_people
from sqlalchemy import select

from newsletter.cli import main
from newsletter.delivery import fanout
from newsletter.extensions import db
from newsletter.issues import drafts
from newsletter.issues import service as issues
from newsletter.models import (
    Issue,
    IssueStatus,
    MailingList,
    Role,
    Subscriber,
    SubscriberStatus,
    Subscription,
    SubscriptionStatus,
    utcnow,
)
from newsletter.segments import service as segments

OSLO_THIS_YEAR = {
    "all": [
        {"field": "attributes.city", "op": "eq", "value": "Oslo"},
        {"field": "signed_up_at", "op": "within_days", "value": 365},
    ]
}
BUILDER = {
    "name": "Oslo, this year",
    "match": "all",
    "cond-0-field": "attribute",
    "cond-0-key": "city",
    "cond-0-op": "eq",
    "cond-0-value": "Oslo",
    "cond-1-field": "signed_up_at",
    "cond-1-op": "within_days",
    "cond-1-value": "365",
}


def add_town() -> None:
    """``helpers.segments``' six people, and Hal: in Oslo since last month and confirmed, but
    only pending on a list, so a segment counts him and no send reaches him."""
    add_people()
    weekly = db.session.scalar(select(MailingList).where(MailingList.slug == "weekly"))
    hal = Subscriber(
        email="hal@example.org",
        status=SubscriberStatus.CONFIRMED,
        attributes={"city": "Oslo"},
        created_at=utcnow() - timedelta(days=30),
    )
    hal.subscriptions = [Subscription(mailing_list=weekly, status=SubscriptionStatus.PENDING)]
    db.session.add(hal)
    db.session.commit()


def list_id(slug: str) -> int:
    return db.session.scalar(select(MailingList.id).where(MailingList.slug == slug))


def reached(issue_id: int) -> set[str]:
    ids = db.session.scalars(fanout.audience(issue_id)).all()
    return set(db.session.scalars(select(Subscriber.email).where(Subscriber.id.in_(ids))))


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_an_admin_sends_to_the_segment_built_in_the_form_and_only_they_get_it(
    make_app, smtp_server
):
    app = make_app(SMTP_URL=smtp_server.url)
    with app.app_context():
        add_town()
    make_admin(app)
    client = app.test_client()
    login(client)

    counted = post(client, "/admin/segments/new", {**BUILDER, "go": "count"})
    assert "3 subscribers match these rules now." in counted.get_data(as_text=True)
    saved = post(client, "/admin/segments/new", {**BUILDER, "go": "save"})
    segment_id = int(saved.headers["Location"].rsplit("/", 1)[1])

    composed = post(
        client,
        "/admin/issues/new",
        {"subject": "Oslo news", "body_md": "Hello, Oslo.", "segment_id": segment_id},
    )
    issue_id = int(re.search(r"/issues/(\d+)/", composed.headers["Location"]).group(1))
    page = client.get(f"/admin/issues/{issue_id}").get_data(as_text=True)
    # Hal matches but is confirmed on no list: Ann and Bob are who it reaches.
    assert re.search(r"would reach <strong>2</strong> confirmed\s+readers in the segment", page)
    assert "“Oslo, this year”" in page
    listed = client.get("/admin/issues").get_data(as_text=True)
    assert ">any<br><small>segment: Oslo, this year</small></td>" in listed

    sent = post(client, f"/admin/issues/{issue_id}/send")
    assert sent.status_code == 302
    wait_idle(app)
    smtp_server.wait_for(2)
    wait_idle(app)
    assert sorted(r for m in smtp_server.messages for r in m.rcpt_tos) == [
        "ann@example.org",
        "bob@example.org",
    ]
    assert {m.message["Subject"] for m in smtp_server.messages} == {"Oslo news"}
    with app.app_context():
        assert db.session.get(Issue, issue_id).status == IssueStatus.SENT


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_lists_and_a_segment_together_reach_those_on_the_lists_who_match(app):
    with app.app_context():
        add_town()
        oslo = segments.create("Oslo, this year", OSLO_THIS_YEAR).id
        daily, weekly = list_id("daily"), list_id("weekly")

        both = issues.save(None, subject="a", list_ids=[daily], segment_id=oslo).id
        two_lists = issues.save(None, subject="b", list_ids=[weekly, daily], segment_id=oslo).id
        only_lists = issues.save(None, subject="c", list_ids=[daily]).id

        assert reached(both) == {"bob@example.org"}  # Ann is on weekly only
        assert reached(two_lists) == {"ann@example.org", "bob@example.org"}
        assert reached(only_lists) == {"bob@example.org"}  # Eve bounced
        assert fanout.audience_size(both) == 1


def test_an_issue_with_neither_lists_nor_segment_cannot_be_sent(app, admin_client):
    with app.app_context():
        add_town()
        issue_id = issues.save(None, subject="To nobody").id

    page = admin_client.get(f"/admin/issues/{issue_id}").get_data(as_text=True)
    assert "Choose at least one list or a segment to send to." in page
    assert "would reach" not in page

    refused = post(admin_client, f"/admin/issues/{issue_id}/send")
    assert "Choose at least one list or a segment to send to." in admin_client.get(
        refused.headers["Location"]
    ).get_data(as_text=True)
    answer = app.test_client().post(f"/api/v1/issues/{issue_id}/send", headers=bearer(app))
    assert answer.status_code == 409 and "or a segment" in answer.json["detail"]
    with app.app_context():
        assert db.session.get(Issue, issue_id).status == IssueStatus.DRAFT


def test_compose_offers_the_segments_and_a_copy_keeps_the_segment(app, admin_client):
    with app.app_context():
        add_town()
        oslo = segments.create("Oslo, this year", OSLO_THIS_YEAR).id
    page = admin_client.get("/admin/issues/new").get_data(as_text=True)
    assert f'<option value="{oslo}">Oslo, this year</option>' in page

    composed = post(
        admin_client,
        "/admin/issues/new",
        {"subject": "Oslo", "lists": 1, "segment_id": oslo, "go": "save"},
    )
    issue_id = int(re.search(r"/issues/(\d+)/", composed.headers["Location"]).group(1))
    edit = admin_client.get(composed.headers["Location"]).get_data(as_text=True)
    assert f'<option selected value="{oslo}">' in edit
    with app.app_context():
        assert drafts.duplicate(issue_id).segment_id == oslo

    unknown = post(admin_client, "/admin/issues/new", {"subject": "x", "segment_id": 999})
    assert unknown.status_code == 400 and 'id="segment_id-error"' in unknown.get_data(as_text=True)


def test_issue_create_takes_a_segment_by_name(app, tmp_path):
    with app.app_context():
        add_town()
        oslo = segments.create("Oslo, this year", OSLO_THIS_YEAR).id
    body = tmp_path / "body.md"
    body.write_text("Hello", encoding="utf-8")
    run = app.test_cli_runner().invoke
    base = ["issue", "create", "--subject", "Oslo", "--body-file", str(body)]

    alone = run(main, [*base, "--segment", "Oslo, this year"])
    with_list = run(main, [*base, "--list", "daily", "--segment", "Oslo, this year"])
    unknown = run(main, [*base, "--segment", "Bergen"])
    neither = run(main, base)

    assert alone.exit_code == 0 and with_list.exit_code == 0, (alone.output, with_list.output)
    with app.app_context():
        first = db.session.get(Issue, int(alone.stdout))
        second = db.session.get(Issue, int(with_list.stdout))
        assert (first.segment_id, first.lists) == (oslo, [])
        assert (second.segment_id, [ml.slug for ml in second.lists]) == (oslo, ["daily"])
        assert reached(second.id) == {"bob@example.org"}
    assert unknown.exit_code == 2 and "no such segment: 'Bergen'" in unknown.output
    assert neither.exit_code == 2 and "Give --list, --segment or both" in neither.output


def test_the_api_sets_shows_and_clears_an_issues_segment(app):
    with app.app_context():
        add_town()
        oslo = segments.create("Oslo, this year", OSLO_THIS_YEAR).id
    client, headers = app.test_client(), bearer(app, Role.EDITOR)

    made = client.post("/api/v1/issues", json={"subject": "Oslo", "segment": oslo}, headers=headers)
    issue = made.json
    assert made.status_code == 201 and (issue["segment"], issue["lists"]) == (oslo, [])
    url = f"/api/v1/issues/{issue['id']}"
    assert client.get(url, headers=headers).json["segment"] == oslo
    kept = client.patch(url, json={"subject": "Oslo!"}, headers=headers).json
    assert kept["segment"] == oslo  # left out: kept
    unknown = client.patch(url, json={"segment": 999}, headers=headers)
    assert unknown.status_code == 422 and unknown.json["errors"][0]["field"] == "segment"
    cleared = client.patch(url, json={"segment": None, "lists": ["weekly"]}, headers=headers)
    assert cleared.json["segment"] is None

    with app.app_context():
        db.session.get(Issue, issue["id"]).status = IssueStatus.SENT
        db.session.commit()
    locked = client.patch(url, json={"segment": oslo}, headers=headers)
    assert locked.status_code == 409
    assert client.get(url, headers=headers).json["segment"] is None
