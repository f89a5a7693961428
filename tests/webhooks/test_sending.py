"""Outgoing webhooks on the wire: signed as Standard Webhooks says (the ``standardwebhooks``
package verifies every request), delivered within seconds of the commit, retried with the
same id until the receiver answers, never redirected, never sent to a private address."""

from __future__ import annotations

import time

import pytest
from helpers.env import free_port
from helpers.outbox import outbox_messages, wait_idle
from helpers.send import wait_for
from helpers.subscribe import csrf_from, link_path, make_list
from helpers.webhooks import Receiver, add_endpoint
from sqlalchemy import select

from newsletter.extensions import db
from newsletter.models import WebhookAttempt, WebhookDelivery
from newsletter.webhooks import jobs, ssrf, standard
from newsletter.webhooks.outbox import emit

FAST = {"WEBHOOK_ALLOW_PRIVATE": True, "WEBHOOK_RETRY_SCALE": 0.01, "WEBHOOK_TIMEOUT": 2}


@pytest.fixture
def receiver():
    started = Receiver(standard.new_secret()).start()
    yield started
    started.stop()


def _deliveries(app) -> list[WebhookDelivery]:
    with app.app_context():
        found = list(db.session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)))
        db.session.expunge_all()
        return found


def _attempts(app) -> list[WebhookAttempt]:
    with app.app_context():
        found = list(db.session.scalars(select(WebhookAttempt).order_by(WebhookAttempt.id)))
        db.session.expunge_all()
        return found


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_signup_and_confirm_reach_the_receiver_verified_within_seconds(backend, make_app, receiver):
    app = make_app(**FAST)
    make_list(app, "news", "News")
    add_endpoint(app, receiver.url, ["subscriber.created", "subscriber.confirmed"], receiver.secret)
    browser = app.test_client()

    started = time.monotonic()
    answer = browser.post("/subscribe", data={"email": "ada@example.org", "lists": ["news"]})
    assert answer.status_code == 200
    wait_idle(app)
    confirm_path = link_path(outbox_messages(app)[0].get_body(("plain",)).get_content(), "confirm")
    page = browser.get(confirm_path)
    browser.post(confirm_path, data={"csrf_token": csrf_from(page.data)})

    created, confirmed = receiver.wait_for(2, timeout=5)
    assert time.monotonic() - started < 5
    assert [created.body["type"], confirmed.body["type"]] == [
        "subscriber.created",
        "subscriber.confirmed",
    ]
    assert created.body["data"]["email"] == "ada@example.org"
    assert confirmed.body["data"]["id"] == created.body["data"]["id"]
    assert receiver.unverified == 0
    assert created.headers["webhook-signature"].startswith("v1,")
    assert created.msg_id != confirmed.msg_id
    # A second signup of the same address creates nobody: no second subscriber.created.
    browser.post("/subscribe", data={"email": "ada@example.org", "lists": ["news"]})
    wait_idle(app)
    time.sleep(0.3)
    assert receiver.types() == ["subscriber.created", "subscriber.confirmed"]


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_receiver_down_then_up_gets_every_event_once_with_the_same_id(backend, make_app):
    # NEWSLETTER_WEBHOOK_RETRY_SCALE=0.01 shortens the schedule (5 s -> 0.05 s, 5 min -> 3 s).
    app = make_app(**FAST)
    port = free_port()
    receiver = Receiver(standard.new_secret(), answer=lambda n: 500 if n < 2 else 200)
    add_endpoint(app, f"http://127.0.0.1:{port}/hook", ["subscriber.erased"], receiver.secret)
    with app.app_context():
        for subscriber_id in (1, 2):
            emit("subscriber.erased", {"id": subscriber_id})
            db.session.commit()
        jobs.deliver_due()  # nobody listens: connection refused
    wait_idle(app)
    refused = _attempts(app)
    assert refused and all(a.status_code is None and a.error for a in refused)

    receiver.start(port)  # up again, but answering 500 twice before it copes
    try:

        def tick() -> bool:
            with app.app_context():
                jobs.deliver_due()
            return all(d.status == "delivered" for d in _deliveries(app))

        # Within seconds when the machine is quiet; a loaded one can push a delivery to the
        # schedule's next step (30 min -> 18 s), past the 15 s this used to wait.
        wait_for(tick, timeout=60, interval=0.2)
    finally:
        receiver.stop()
    assert sorted(r.body["data"]["id"] for r in receiver.received) == [1, 2]
    assert len({r.msg_id for r in receiver.received}) == 2
    assert set(receiver.seen) == {r.msg_id for r in receiver.received}  # retries: same ids
    assert receiver.seen.count(receiver.seen[0]) >= 2
    deliveries = _deliveries(app)
    assert all(d.attempts >= 2 and d.last_status_code == 200 for d in deliveries)
    assert len(_attempts(app)) == sum(d.attempts for d in deliveries)
    assert {a.status_code for a in _attempts(app)} >= {None, 500, 200}


def test_a_redirect_is_not_followed_and_counts_as_a_failure(make_app):
    app = make_app(WEBHOOK_ALLOW_PRIVATE=True)  # the retry waits its 5 s: one request
    receiver = Receiver(standard.new_secret(), answer=lambda n: 302).start()
    try:
        add_endpoint(app, receiver.url, ["subscriber.erased"], receiver.secret)
        with app.app_context():
            emit("subscriber.erased", {"id": 7})
            db.session.commit()
            jobs.deliver_due()
        wait_idle(app)
    finally:
        receiver.stop()
    [delivery] = _deliveries(app)
    assert receiver.requests == 1  # the Location (example.org) was never asked
    assert delivery.status == "pending" and delivery.last_status_code == 302
    assert "redirect" in delivery.last_error and delivery.next_attempt_at is not None


def test_a_private_address_is_refused_when_called(make_app, receiver):
    app = make_app(WEBHOOK_ALLOW_PRIVATE=False)
    # As if added while allowed, or a name that now resolves to a private address.
    add_endpoint(app, receiver.url, ["subscriber.erased"], receiver.secret)
    with app.app_context():
        emit("subscriber.erased", {"id": 7})
        db.session.commit()
        jobs.deliver_due()
    wait_idle(app)
    [delivery] = _deliveries(app)
    assert receiver.requests == 0
    assert delivery.status == "pending" and delivery.attempts == 1
    assert "private" in delivery.last_error


def test_retries_follow_the_schedule_then_fail(make_app, monkeypatch):
    app = make_app(WEBHOOK_ALLOW_PRIVATE=True, WEBHOOK_RETRY_SCALE=0)
    receiver = Receiver(standard.new_secret(), answer=lambda n: 503).start()
    try:
        add_endpoint(app, receiver.url, ["subscriber.erased"], receiver.secret)
        with app.app_context():
            emit("subscriber.erased", {"id": 3})
            db.session.commit()
            for _ in range(len(jobs.SCHEDULE) + 3):
                jobs.deliver_due()
        wait_idle(app)
    finally:
        receiver.stop()
    [delivery] = _deliveries(app)
    assert delivery.status == "failed"
    assert delivery.attempts == len(jobs.SCHEDULE) + 1 == receiver.requests
    with app.app_context():
        assert jobs._delay(1).total_seconds() == 0
        app.config["WEBHOOK_RETRY_SCALE"] = 1
        for n, seconds in enumerate(jobs.SCHEDULE, start=1):
            assert 0.9 * seconds <= jobs._delay(n).total_seconds() <= 1.1 * seconds


def test_retry_now_and_a_test_event(make_app, receiver):
    app = make_app(**FAST)
    endpoint_id, _ = add_endpoint(app, receiver.url, ["issue.sent"], receiver.secret)
    with app.app_context():
        jobs.send_test(endpoint_id)
    [test] = receiver.wait_for(1)
    assert test.body["type"] == "webhook.test"
    with app.app_context():
        [delivery] = _deliveries(app)
        jobs.retry_now(delivery.id)  # a delivered one is not sent again
    wait_idle(app)
    assert receiver.requests == 1


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "224.0.0.1",
        "240.0.0.1",
        "[::1]",
        "[::]",
        "[fe80::1]",
        "[fc00::1]",
        "[ff02::1]",
        "[::ffff:127.0.0.1]",
        "[::ffff:10.0.0.1]",
        "[2002:7f00:1::]",  # 6to4 around 127.0.0.1
        "[2002:a9fe:a9fe::1]",  # 6to4 around 169.254.169.254
        "[64:ff9b::7f00:1]",  # NAT64 around 127.0.0.1
    ],
)
def test_check_url_refuses_non_public_addresses(address):
    with pytest.raises(ssrf.URLRefused):
        ssrf.check_url(f"http://{address}/hook", allow_private=False)
    assert ssrf.check_url(f"http://{address}/hook", allow_private=True).port == 80


@pytest.mark.parametrize(
    "url", ["ftp://93.184.215.14/", "file:///etc/passwd", "http:///x", "http://u:p@93.184.215.14/"]
)
def test_check_url_wants_plain_http_or_https(url):
    with pytest.raises(ssrf.URLRefused):
        ssrf.check_url(url, allow_private=True)


def test_check_url_accepts_a_public_address_and_pins_it():
    target = ssrf.check_url("https://93.184.215.14:8443/in?x=1", allow_private=False)
    assert (target.address, target.port, target.path) == ("93.184.215.14", 8443, "/in?x=1")
