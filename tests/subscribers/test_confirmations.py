"""Confirmation mails through Redis and real ``python worker.py`` processes: signups push
ids, drain jobs send them; every signup gets its one mail, even when the web process that
took it died before asking for a drain."""

from __future__ import annotations

import json
import time
from collections import Counter

import pytest
from helpers.outbox import outbox_messages, wait_idle
from helpers.send import wait_for
from helpers.subscribe import age_debts, make_list
from sqlalchemy import select

from newsletter.extensions import db
from newsletter.jobs import queues
from newsletter.models import Subscriber
from newsletter.subscribers import confirmations, service, signup


def _signup(client, address):
    return client.post("/subscribe", data=json.dumps({"email": address}),
                       content_type="application/json")  # fmt: skip


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_a_burst_of_signups_gets_one_confirmation_each(
    backend, make_app, redis_url, smtp_server, start_worker
):
    limit = "1000 per minute"
    app = make_app(REDIS_URL=redis_url, SMTP_URL=smtp_server.url, SIGNUP_RATE_LIMIT=limit)
    make_list(app, "news", "Weekly News")
    start_worker(app)
    start_worker(app)  # two workers share the backlog
    count = 2 * confirmations.DRAIN_EVERY + 10
    client = app.test_client()
    addresses = [f"reader{i}@example.org" for i in range(count)]
    assert {_signup(client, a).status_code for a in addresses} == {200}
    received = smtp_server.wait_for(count, timeout=60)
    assert Counter(r for m in received for r in m.rcpt_tos) == Counter(addresses)
    assert all("/confirm/" in m.part("plain") for m in received)
    # Each sending settled its debt, even those popped by a drain that began before the
    # signup: a later tick resends nothing.
    wait_for(lambda: not any(_owed(app).values()), timeout=10)


def test_a_confirmation_left_waiting_goes_out_at_the_next_tick(
    make_app, redis_url, smtp_server, start_worker, monkeypatch
):
    app = make_app(REDIS_URL=redis_url, SMTP_URL=smtp_server.url, TICK_SECONDS=1)
    make_list(app, "news", "Weekly News")
    # The web process dies after pushing the id and before queueing a drain for it.
    monkeypatch.setattr(queues, "enqueue", lambda *args, **kwargs: None)
    with app.test_request_context():
        signup.subscribe("late@example.org", "", service.resolve_lists(None), source="t", ip=None)
        confirmations.flush()  # the push its thread makes
        assert queues.redis().llen(queues.key(confirmations.WAITING)) == 1
    start_worker(app)  # its periodic tick finds the id waiting and queues a drain
    (mail,) = smtp_server.wait_for(1, timeout=30)
    assert mail.rcpt_tos == ["late@example.org"] and "/confirm/" in mail.part("plain")


def _owed(app) -> dict[str, object]:
    with app.app_context():
        rows = db.session.execute(select(Subscriber.email, Subscriber.confirmation_due_at))
        return {email: due for email, due in rows}


def test_confirmations_lost_with_a_redis_restarted_empty_are_sent_by_the_tick(
    make_app, redis_url, smtp_server, start_worker
):
    app = make_app(REDIS_URL=redis_url, SMTP_URL=smtp_server.url)
    make_list(app, "news", "Weekly News")
    client = app.test_client()
    addresses = [f"reader{i}@example.org" for i in range(5)]
    assert {_signup(client, a).status_code for a in addresses} == {200}
    with app.app_context():  # Redis restarts empty before any worker took the ids
        confirmations.flush()
        conn = queues.redis()
        for key in conn.scan_iter(match=f"*{app.config['REDIS_PREFIX']}*"):
            conn.delete(key)
        assert confirmations.resend_owed() == 0  # owed, but not for long enough yet
    assert all(due is not None for due in _owed(app).values())

    age_debts(app)
    with app.app_context():
        assert confirmations.resend_owed() == 5
    start_worker(app)
    received = smtp_server.wait_for(5, timeout=30)
    assert Counter(r for m in received for r in m.rcpt_tos) == Counter(addresses)
    wait_for(lambda: not any(_owed(app).values()), timeout=10)

    age_debts(app)  # nothing is owed any more: a later tick sends nobody a second mail
    with app.app_context():
        assert confirmations.resend_owed() == 0
    time.sleep(1)
    assert len(smtp_server.messages) == 5


def test_confirmations_refused_during_an_smtp_outage_are_sent_once_it_ends(
    make_app, redis_url, smtp_server, start_worker
):
    down = "smtp://127.0.0.1:1"  # nothing listens: every attempt is a temporary failure
    app = make_app(REDIS_URL=redis_url, SMTP_URL=down)
    make_list(app, "news", "Weekly News")
    assert _signup(app.test_client(), "patient@example.org").status_code == 200
    with app.app_context():
        confirmations.flush()  # the signup's id on the Redis list before the worker starts
    assert _waiting(app) == 1
    worker = start_worker(app)
    wait_for(lambda: _waiting(app) == 0, timeout=30)  # taken by a drain, and refused
    time.sleep(6)  # the drain's retries within seconds (1 s, then 4 s) fail too
    worker.terminate()
    worker.wait(timeout=60)  # a warm shutdown ends its job first: slow on a loaded machine
    assert smtp_server.messages == []
    assert _owed(app)["patient@example.org"] is not None  # still owed

    app.config["SMTP_URL"] = smtp_server.url  # the outage ends
    age_debts(app)
    with app.app_context():
        assert confirmations.resend_owed() == 1
    start_worker(app)
    (mail,) = smtp_server.wait_for(1, timeout=30)
    assert mail.rcpt_tos == ["patient@example.org"] and "/confirm/" in mail.part("plain")


def _waiting(app) -> int:
    with app.app_context():
        return confirmations.waiting()


def test_without_redis_a_confirmation_lost_with_its_process_is_sent_by_the_tick(
    make_app, monkeypatch
):
    app = make_app()
    make_list(app, "news", "Weekly News")
    with monkeypatch.context() as m, app.test_request_context():
        m.setattr(queues, "enqueue", lambda *args, **kwargs: None)  # the process dies first
        signup.subscribe("lost@example.org", "", service.resolve_lists(None), source="t", ip=None)
    age_debts(app)
    with app.app_context():
        assert confirmations.resend_owed() == 1
    wait_idle(app)
    (mail,) = outbox_messages(app)
    assert mail["To"] == "lost@example.org"
    assert "/confirm/" in mail.get_body(("plain",)).get_content()
    assert _owed(app) == {"lost@example.org": None}
