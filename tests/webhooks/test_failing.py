"""An endpoint failing for three days is disabled by the tick and shown to owners; a worker
killed in the middle of a call loses nothing: the delivery is sent again, same id."""

from __future__ import annotations

import signal
from datetime import timedelta

import pytest
from helpers.env import free_port
from helpers.outbox import wait_idle
from helpers.send import wait_for
from helpers.webhooks import Receiver, add_endpoint
from sqlalchemy import select, update

from newsletter.extensions import db
from newsletter.jobs import tick
from newsletter.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint, utcnow
from newsletter.webhooks import jobs, service, standard
from newsletter.webhooks.failing import disabled_endpoints, failing_endpoints
from newsletter.webhooks.outbox import emit


def _emit_erased(app, subscriber_id: int) -> None:
    with app.app_context():
        emit("subscriber.erased", {"id": subscriber_id})
        db.session.commit()


def test_an_endpoint_failing_for_three_days_is_disabled_by_the_tick(make_app):
    app = make_app(WEBHOOK_ALLOW_PRIVATE=True)
    down, _ = add_endpoint(app, f"http://127.0.0.1:{free_port()}/hook", ["subscriber.erased"])
    _emit_erased(app, 1)
    wait_idle(app)  # the hand-off after the commit made the first attempt
    with app.app_context():
        [failing] = failing_endpoints()
        assert failing.id == down and failing.last_error
        tick.tick()
        assert db.session.get_one(WebhookEndpoint, down).disabled_at is None  # only just failing
        three_days_ago = utcnow() - timedelta(days=3, hours=1)
        db.session.execute(update(WebhookAttempt).values(at=three_days_ago))
        db.session.execute(update(WebhookEndpoint).values(enabled_at=three_days_ago))
        db.session.commit()
        tick.tick()
        assert db.session.get_one(WebhookEndpoint, down).disabled_at is not None
        assert [e.id for e in disabled_endpoints()] == [down]
        assert failing_endpoints() == []
        # Its deliveries wait while it is disabled: nothing is due.
        db.session.execute(update(WebhookDelivery).values(next_attempt_at=utcnow()))
        db.session.commit()
        assert jobs.deliver_due() == 0
        # An owner enables it again: a fresh start, which the old failures do not cut short.
        service.enable(down)
        assert failing_endpoints() == []
        tick.tick()
        assert db.session.get_one(WebhookEndpoint, down).disabled_at is None


def test_a_success_ends_the_failing_streak(make_app):
    app = make_app(WEBHOOK_ALLOW_PRIVATE=True)
    receiver = Receiver(standard.new_secret(), answer=lambda n: 500 if n == 0 else 200).start()
    try:
        endpoint_id, _ = add_endpoint(app, receiver.url, ["subscriber.erased"], receiver.secret)
        _emit_erased(app, 1)
        wait_idle(app)  # the first attempt: 500
        with app.app_context():
            assert [f.id for f in failing_endpoints()] == [endpoint_id]
            # The retry is due in 5 s; the test moves it to now rather than wait.
            db.session.execute(update(WebhookDelivery).values(next_attempt_at=utcnow()))
            db.session.commit()
            assert jobs.deliver_due() == 1  # 200
            assert failing_endpoints() == []
    finally:
        receiver.stop()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_a_worker_killed_mid_delivery_loses_nothing(backend, make_app, redis_url, start_worker):
    # The first request hangs; the worker is SIGKILLed while it waits for the answer. Its
    # claim (a lease of WEBHOOK_TIMEOUT × 2 + 5 s) runs out and a second worker's tick sends it.
    app = make_app(REDIS_URL=redis_url, WEBHOOK_ALLOW_PRIVATE=True)
    receiver = Receiver(standard.new_secret(), answer=lambda n: (200, 30) if n == 0 else 200)
    receiver.start()
    try:
        add_endpoint(app, receiver.url, ["subscriber.erased"], receiver.secret)
        settings = {"WEBHOOK_ALLOW_PRIVATE": 1, "WEBHOOK_TIMEOUT": 2, "TICK_SECONDS": 0.5}
        first = start_worker(app, **settings)
        _emit_erased(app, 5)  # handed to the queue after the commit
        assert receiver.arrived.wait(20), "the first worker never called"
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        with app.app_context():
            [delivery] = db.session.scalars(select(WebhookDelivery)).all()
            assert delivery.status == "pending" and delivery.attempts == 0
        start_worker(app, **settings)
        [got] = receiver.wait_for(1, timeout=30)
        assert got.body["data"] == {"id": 5}
        assert receiver.seen[0] == got.msg_id  # the same webhook-id as the lost call

        def delivered() -> bool:
            with app.app_context():
                db.session.expire_all()
                return db.session.scalar(select(WebhookDelivery.status)) == "delivered"

        wait_for(delivered, timeout=10)
    finally:
        receiver.stop()
