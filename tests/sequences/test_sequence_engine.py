"""The sequence engine on the embedded queue and a real SMTP server: which reader gets which
step when, catch-up, editing, pausing, leaving between due and send, and steps kept out of
every issue listing. (Real worker processes: ``test_sequence_workers.py``.)"""

from __future__ import annotations

import pytest
from helpers.api import bearer
from helpers.outbox import wait_idle
from helpers.send import delivery_counts, make_list
from helpers.sequences import confirmed_reader, subjects_to, travel
from sqlalchemy import select

from newsletter.delivery import batch, leases
from newsletter.delivery import queries as delivery_queries
from newsletter.extensions import db
from newsletter.issues import service as issues
from newsletter.lists import service as lists
from newsletter.models import (
    Delivery,
    DeliveryStatus,
    Issue,
    IssueStatus,
    SuppressionReason,
    utcnow,
)
from newsletter.sequences import due, service, tick
from newsletter.subscribers import service as subscribers


def _weekly() -> int:
    return lists.by_slug("weekly").id


def _run_tick(app) -> None:
    with app.app_context():
        tick.send_due()
    wait_idle(app)


@pytest.fixture
def mailing(make_app, smtp_server):
    app = make_app(SMTP_URL=smtp_server.url)
    with app.app_context():
        make_list("weekly")
    return app


def test_a_new_reader_starts_at_step_one_while_others_are_further_on(mailing, smtp_server):
    with mailing.app_context():
        list_id = _weekly()
        for subject, after in (("One", "0m"), ("Two", "1h"), ("Three", "1d")):
            service.add_step(
                "weekly", subject, "Hello {{ subscriber.name }}", service.parse_delay(after)
            )
        confirmed_reader(list_id, "early@example.net", "Early")
    _run_tick(mailing)
    with mailing.app_context():
        travel(61)
    _run_tick(mailing)
    with mailing.app_context():
        travel(24 * 60)
        confirmed_reader(list_id, "late@example.net", "Late")
    _run_tick(mailing)
    _run_tick(mailing)  # nothing more is due for anyone

    assert subjects_to(smtp_server, "early@example.net") == ["One", "Two", "Three"]
    assert subjects_to(smtp_server, "late@example.net") == ["One"]
    with mailing.app_context():
        progress = {p.subject: (p.sent, p.due, p.skipped) for p in service.steps("weekly")}
    assert progress == {"One": (2, 0, 0), "Two": (1, 0, 0), "Three": (1, 0, 0)}


def test_a_step_added_later_reaches_readers_not_yet_past_it_and_catch_up_the_rest(
    mailing, smtp_server
):
    with mailing.app_context():
        confirmed_reader(_weekly(), "old@example.net")
        travel(3 * 24 * 60)  # confirmed three days ago
        confirmed_reader(_weekly(), "new@example.net")
        step_id = service.add_step("weekly", "Day two", "Tips", service.parse_delay("2d")).id
        assert [p.due for p in service.steps("weekly")] == [0]
        travel(2 * 24 * 60 + 1)
    _run_tick(mailing)
    assert subjects_to(smtp_server, "new@example.net") == ["Day two"]
    assert subjects_to(smtp_server, "old@example.net") == []

    with mailing.app_context():
        service.catch_up(step_id)
        assert [p.due for p in service.steps("weekly")] == [1]
    _run_tick(mailing)
    _run_tick(mailing)
    assert subjects_to(smtp_server, "old@example.net") == ["Day two"]
    assert subjects_to(smtp_server, "new@example.net") == ["Day two"]  # still once


def test_editing_a_step_never_resends_it(mailing, smtp_server):
    with mailing.app_context():
        step_id = service.add_step("weekly", "Welcome", "First text", 0).id
        confirmed_reader(_weekly(), "first@example.net")
    _run_tick(mailing)
    with mailing.app_context():
        service.update_step(
            step_id, subject="Welcome aboard", body_md="Better text", after_seconds=60
        )
        confirmed_reader(_weekly(), "second@example.net")
        travel(2)
    _run_tick(mailing)
    _run_tick(mailing)

    assert subjects_to(smtp_server, "first@example.net") == ["Welcome"]
    assert subjects_to(smtp_server, "second@example.net") == ["Welcome aboard"]
    assert "Better text" in smtp_server.to("second@example.net")[0].part("plain")


def test_a_paused_sequence_sends_nothing_until_resumed(mailing, smtp_server):
    with mailing.app_context():
        service.add_step("weekly", "Welcome", "Hi", 0)
        service.pause("weekly")
        confirmed_reader(_weekly(), "waiting@example.net")
    _run_tick(mailing)
    assert smtp_server.to("waiting@example.net") == []
    with mailing.app_context():
        assert [(p.sent, p.due) for p in service.steps("weekly")] == [(0, 1)]
        service.resume("weekly")
    _run_tick(mailing)
    assert subjects_to(smtp_server, "waiting@example.net") == ["Welcome"]


def test_every_step_mail_carries_the_bulk_headers(mailing, smtp_server):
    with mailing.app_context():
        service.add_step("weekly", "Welcome", "Hi {{ subscriber.name }}", 0)
        confirmed_reader(_weekly(), "reader@example.net", "Ann")
    _run_tick(mailing)
    [received] = smtp_server.to("reader@example.net")
    headers = received.message
    assert headers["List-Unsubscribe"].startswith("<http://localhost/unsubscribe/")
    assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "weekly." in headers["List-Id"]
    assert "Hi Ann" in received.part("plain")


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_a_reader_who_left_between_due_and_send_is_skipped(make_app, redis_url, smtp_server):
    # With Redis and no worker, the tick queues the step's batch and nothing runs it yet.
    app = make_app(REDIS_URL=redis_url, SMTP_URL=smtp_server.url)
    with app.app_context():
        list_id = make_list("weekly")
        step = service.add_step("weekly", "Welcome", "Hi", 0)
        stays = confirmed_reader(list_id, "stays@example.net")
        leaves = confirmed_reader(list_id, "leaves@example.net")
        erased = confirmed_reader(list_id, "erased@example.net")
        confirmed_reader(list_id, "blocked@example.net")
        assert tick.send_due() == 4
        subscribers.unsubscribe(leaves, "test")
        subscribers.erase(erased)  # their copy goes with them
        subscribers.suppress("blocked@example.net", SuppressionReason.ADMIN)
        db.session.commit()

        batch.send_batch(step.issue_id, 0)
        assert delivery_counts(step.issue_id) == {"sent": 1, "skipped": 2}
        assert delivery_queries.issue_status(step.issue_id) == IssueStatus.SENDING
        assert (
            db.session.scalar(
                select(Delivery.subscriber_id).where(Delivery.status == DeliveryStatus.SENT)
            )
            == stays
        )
        assert tick.send_due() == 0
    assert [m.rcpt_tos for m in smtp_server.messages] == [["stays@example.net"]]


def test_steps_never_show_as_issues(mailing, smtp_server):
    with mailing.app_context():
        service.add_step("weekly", "Secret step", "Hi", 0)
        confirmed_reader(_weekly(), "reader@example.net")
    _run_tick(mailing)
    with mailing.app_context():
        assert issues.recent() == []
        assert issues.archived() == []
        assert delivery_queries.recent_issues() == []
        step_issue = db.session.scalar(select(Issue))
        assert step_issue.status == IssueStatus.SENDING  # never "sent", never in the archive
    client = mailing.test_client()
    assert b"Secret step" not in client.get("/archive").data
    assert b"Secret step" not in client.get("/feed.atom").data
    token = bearer(mailing)
    listed = client.get("/api/v1/issues", headers=token)
    assert listed.status_code == 200 and listed.get_json()["items"] == []
    # A step stops only with its list's sequence, not by the issue controls.
    refused = client.post(f"/api/v1/issues/{step_issue.id}/cancel", headers=token)
    assert refused.status_code == 409
    with mailing.app_context():
        assert delivery_queries.issue_status(step_issue.id) == IssueStatus.SENDING


def test_ticks_between_full_scans_read_only_readers_who_came_due_lately(make_app):
    app = make_app()
    with app.app_context():
        list_id = make_list("weekly")
        long_ago = confirmed_reader(list_id, "long-ago@example.net")
        travel(120)
        recent = confirmed_reader(list_id, "recent@example.net")
        service.add_step("weekly", "Welcome", "Hi", 0, catch_up=True)
        leases.touch(tick.scan_key(), 60)  # a full scan ran a moment ago

        assert tick.send_due() == 1
        assert db.session.scalars(select(Delivery.subscriber_id)).all() == [recent]
        tick.ask_full_scan()
        assert tick.send_due() == 1
        assert set(db.session.scalars(select(Delivery.subscriber_id))) == {recent, long_ago}


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_the_due_query_keeps_order_reach_and_leavers(make_app):
    app = make_app()
    with app.app_context():
        list_id = make_list("weekly")
        first = service.add_step("weekly", "One", "1", 0)
        second = service.add_step("weekly", "Two", "2", 0)
        a = confirmed_reader(list_id, "a@example.net")
        b = confirmed_reader(list_id, "b@example.net")
        subscribers.unsubscribe(confirmed_reader(list_id, "gone@example.net"), "test")
        now = utcnow()

        def ids(step) -> set[int]:
            return set(db.session.scalars(due.readers(step, now)))

        assert ids(first) == {a, b}
        assert ids(second) == set()  # step one has not settled for anyone
        db.session.add(
            Delivery(issue_id=first.issue_id, subscriber_id=a, status=DeliveryStatus.SENT)
        )
        db.session.add(
            Delivery(issue_id=first.issue_id, subscriber_id=b, status=DeliveryStatus.QUEUED)
        )
        db.session.commit()
        assert ids(first) == set()  # one row per step and reader
        assert ids(second) == {a}


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_status_counts_due_readers_as_the_tick_finds_them(make_app):
    app = make_app()
    with app.app_context():
        list_id = make_list("weekly")
        readers = [confirmed_reader(list_id, f"{n}@example.net") for n in "abc"]
        travel(3 * 24 * 60)  # a, b, c confirmed three days ago
        confirmed_reader(list_id, "late@example.net")
        one = service.add_step("weekly", "One", "1", 0, catch_up=True)
        two = service.add_step("weekly", "Two", "2", service.parse_delay("2d"))  # reaches none yet
        three = service.add_step("weekly", "Three", "3", service.parse_delay("1d"), catch_up=True)
        for reader, status in zip(readers, [DeliveryStatus.SENT, DeliveryStatus.QUEUED]):
            db.session.add(Delivery(issue_id=one.issue_id, subscriber_id=reader, status=status))
        db.session.commit()
        now = utcnow()

        found = {
            s.id: len(db.session.scalars(due.readers(s, now)).all()) for s in (one, two, three)
        }
        assert found == {one.id: 2, two.id: 0, three.id: 1}  # c and late; none; a
        assert due.counts([one, two, three], now) == found
        shown = [(p.id, p.due) for p in service.steps("weekly")]
        assert shown == [(one.id, 3), (two.id, 0), (three.id, 1)]  # b's copy is on its way
