"""Confirmation mails through Redis and real ``python worker.py`` processes: signups push
ids, drain jobs send them; every signup gets its one mail, even when the web process that
took it died before asking for a drain."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from subscribe_helpers import make_list

from newsletter import queue
from newsletter.subscribers import confirmations, service


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


def test_a_confirmation_left_waiting_goes_out_at_the_next_tick(
    make_app, redis_url, smtp_server, start_worker, monkeypatch
):
    app = make_app(REDIS_URL=redis_url, SMTP_URL=smtp_server.url, TICK_SECONDS=1)
    make_list(app, "news", "Weekly News")
    # The web process dies after pushing the id and before queueing a drain for it.
    monkeypatch.setattr(queue, "enqueue", lambda *args, **kwargs: None)
    with app.test_request_context():
        service.subscribe("late@example.org", "", service.resolve_lists(None), source="t", ip=None)
        assert queue.redis().llen(queue.key(confirmations.WAITING)) == 1
    start_worker(app)  # its periodic tick finds the id waiting and queues a drain
    (mail,) = smtp_server.wait_for(1, timeout=30)
    assert mail.rcpt_tos == ["late@example.org"] and "/confirm/" in mail.part("plain")
