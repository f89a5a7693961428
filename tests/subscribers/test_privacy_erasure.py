"""Erasure erases: after a bounce, a test send and an import that named the subscriber, erasing
them (by command, by their own link, or by an admin) leaves the address in no table."""

from __future__ import annotations

import io

import pytest
from helpers.admin import post
from helpers.bounce import corpus
from helpers.outbox import wait_idle
from helpers.privacy import tables_holding
from helpers.send import add_subscribers, make_issue, make_list, subscribe
from helpers.subscribe import csrf_from
from sqlalchemy import select

from newsletter.bounces import service as bounces
from newsletter.bounces import verp
from newsletter.cli import main
from newsletter.delivery import service as sending
from newsletter.extensions import db
from newsletter.imports import jobs as import_jobs
from newsletter.issues import service as issues
from newsletter.models import Delivery, Subscriber, Suppression
from newsletter.subscribers import tokens
from newsletter.subscribers.suppression import is_blocked

DAVE = "dave@example.net"


@pytest.fixture
def app(make_app, smtp_server):
    return make_app(SMTP_URL=smtp_server.url)


def _leave_traces(app, smtp_server) -> int:
    """Dave's issue bounces at SMTP time and by DSN, an admin sends him a test copy and an
    import names him; returns his id, once the address is in every place it can be."""
    smtp_server.handler.replies[DAVE] = f"550 5.1.1 <{DAVE}>: Recipient address rejected"
    with app.app_context():
        list_id = make_list()
        add_subscribers(list_id, 2)
        db.session.add(Subscriber(email=DAVE, status="confirmed"))
        db.session.commit()
        subscribe(DAVE, list_id)
        issue_id = make_issue([list_id])
        sending.start_sending(issue_id)
    wait_idle(app)
    with app.app_context():
        delivery = db.session.scalar(select(Delivery).where(Delivery.error != ""))
        raw = corpus(
            "postfix-user-unknown.eml",
            **{
                "bounces+d101.c6b2f1@news.example.org": verp.return_path(delivery.id),
                "nobody-here@example.net": DAVE,
            },
        )
        bounces.process(raw)
        db.session.commit()
        smtp_server.handler.replies.clear()  # the test copy is accepted
        issues.queue_test(issue_id, "Dave@Example.NET")
        import_jobs.start(
            io.BytesIO(f"email\n{DAVE}\n".encode()), "r.csv", list_id, confirmed=False, note=""
        )
    wait_idle(app)
    with app.app_context():
        assert is_blocked(DAVE)
        held = tables_holding(DAVE)
        assert {"suppression", "delivery", "bounce", "audit_event", "import_job"} <= set(held)
        return db.session.scalar(select(Subscriber.id).where(Subscriber.email == DAVE))


def _erased_without_a_trace(app) -> None:
    with app.app_context():
        assert tables_holding(DAVE) == {}
        assert db.session.scalar(select(Subscriber).where(Subscriber.email == DAVE)) is None
        assert is_blocked(DAVE)  # the keyed hash stays, still blocking
        assert db.session.scalar(select(Suppression.detail)).count("[erased]") >= 1


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_erase_by_command_leaves_the_address_in_no_table(app, smtp_server):
    _leave_traces(app, smtp_server)

    result = app.test_cli_runner().invoke(main, ["erase", DAVE, "--yes"])

    assert result.exit_code == 0, result.output
    _erased_without_a_trace(app)


def test_erase_by_the_subscribers_own_link_leaves_the_address_in_no_table(app, smtp_server):
    dave = _leave_traces(app, smtp_server)
    with app.app_context():
        token = tokens.make(tokens.MANAGE, dave, DAVE)

    subscriber = app.test_client()
    page = subscriber.get(f"/preferences/{token}")
    erased = subscriber.post(
        f"/preferences/{token}/erase", data={"csrf_token": csrf_from(page.data)}
    )

    assert erased.status_code == 200

    _erased_without_a_trace(app)


def test_erase_by_an_admin_leaves_the_address_in_no_table(app, smtp_server, admin_client):
    dave = _leave_traces(app, smtp_server)

    assert post(admin_client, f"/admin/subscribers/{dave}/delete").status_code == 302

    _erased_without_a_trace(app)


def test_bulk_delete_of_a_search_for_the_address_leaves_it_in_no_table(
    app, smtp_server, admin_client
):
    _leave_traces(app, smtp_server)

    form = {"action": "delete", "scope": "all", "q": DAVE}
    assert post(admin_client, "/admin/subscribers/bulk", form).status_code == 302

    _erased_without_a_trace(app)
