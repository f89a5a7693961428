"""Sequences with real ``python worker.py`` processes on Redis and a real SMTP server: the
workers' own tick finds what came due; a new reader gets the series in order, once each,
while an issue is sending; a worker killed mid-step loses and doubles nothing."""

from __future__ import annotations

import collections
import os
import signal

from helpers.send import add_subscribers, issue_status, make_issue, make_list, wait_for
from helpers.sequences import confirm_all_now, confirmed_reader, subjects_to, travel

from newsletter.delivery import service as delivery
from newsletter.delivery import state
from newsletter.lists import service as lists
from newsletter.sequences import service
from newsletter.subscribers import service as subscribers


def _progress(app) -> list[tuple[int, int, int, int]]:
    with app.app_context():
        return [(p.sent, p.due, p.skipped, p.unknown) for p in service.steps("weekly")]


def test_a_new_reader_gets_the_series_in_order_once_each_while_an_issue_is_sending(
    make_app, redis_url, smtp_server, start_worker
):
    app = make_app(REDIS_URL=redis_url, SMTP_URL=smtp_server.url, BATCH_SIZE=25, SEND_RATE=20)
    with app.app_context():
        list_id = make_list("weekly")
        add_subscribers(list_id, 100)  # readers from before the sequence: no step for them
        for subject, after in (("One", "0m"), ("Two", "1m"), ("Three", "2m")):
            service.add_step(
                "weekly", subject, "Hi {{ subscriber.name }}", service.parse_delay(after)
            )
        issue_id = make_issue([list_id], subject="Issue")
        delivery.start_sending(issue_id)
        confirmed_reader(list_id, "new@example.org", "New")
        leaver = confirmed_reader(list_id, "leaver@example.org", "Leaver")
    start_worker(app, TICK_SECONDS=0.3)

    wait_for(lambda: subjects_to(smtp_server, "leaver@example.org"), timeout=30)
    wait_for(lambda: subjects_to(smtp_server, "new@example.org"), timeout=30)
    assert issue_status(app, issue_id) == "sending"  # the welcome did not wait for the issue
    with app.app_context():
        subscribers.unsubscribe(leaver, "test")
        travel(1)
    wait_for(lambda: len(subjects_to(smtp_server, "new@example.org")) == 2, timeout=30)
    with app.app_context():
        travel(1)
    wait_for(lambda: len(subjects_to(smtp_server, "new@example.org")) == 3, timeout=30)
    wait_for(lambda: issue_status(app, issue_id) == "sent", timeout=60)

    assert subjects_to(smtp_server, "new@example.org") == ["One", "Two", "Three"]
    assert subjects_to(smtp_server, "leaver@example.org") == ["One"]
    copies = collections.Counter(m.rcpt_tos[0] for m in smtp_server.messages)
    assert set(copies.values()) == {1, 3}  # the issue once each; the new reader's three steps
    assert _progress(app) == [(2, 0, 0, 0), (1, 0, 0, 0), (1, 0, 0, 0)]


def test_a_worker_killed_mid_step_loses_nothing_and_doubles_nothing(
    make_app, redis_url, smtp_server, start_worker
):
    app = make_app(REDIS_URL=redis_url, SMTP_URL=smtp_server.url, BATCH_SIZE=50, SEND_RATE=100)
    with app.app_context():
        list_id = make_list("weekly")
        step = service.add_step("weekly", "Welcome", "Hi", 0)
        issue_id = step.issue_id
        add_subscribers(list_id, 200)
        confirm_all_now(list_id)
    victim = start_worker(app, TICK_SECONDS=0.3)
    smtp_server.wait_for(30, timeout=30)
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait()
    start_worker(app, TICK_SECONDS=0.3)

    wait_for(lambda: _progress(app)[0][1] == 0, timeout=60)  # nothing due any more
    sent, _, skipped, unknown = _progress(app)[0]
    copies = collections.Counter(m.rcpt_tos[0] for m in smtp_server.messages)
    with app.app_context():
        missing = {a for a, _ in delivery.deliveries(issue_id, state.UNKNOWN)}
        assert lists.by_slug("weekly").sequence_paused_at is None
    assert set(copies.values()) == {1}  # nobody got it twice
    assert unknown <= 1 and skipped == 0  # at most the one in flight at the kill
    assert sent + unknown == 200
    everyone = {f"reader{n}@example.net" for n in range(200)}
    assert everyone - set(copies) <= missing  # anyone missing is listed as unknown
