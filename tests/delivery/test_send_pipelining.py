"""Pipelined sending: with a server that offers PIPELINING, each message's content goes out
together with the next message's envelope. Every subscriber still gets exactly their own copy,
and a refusal lands on the subscriber it was about."""

from __future__ import annotations

from helpers.outbox import wait_idle
from helpers.send import (
    add_subscribers,
    delivery_counts,
    issue_for_subscribers,
    make_issue,
    make_list,
)
from sqlalchemy import update

from newsletter.delivery import service
from newsletter.extensions import db
from newsletter.models import Subscriber


async def _ehlo_with_pipelining(server, session, envelope, hostname, responses):  # type: ignore[no-untyped-def]
    session.host_name = hostname
    return [*responses[:-1], "250-PIPELINING", responses[-1]]


def test_pipelined_sending_gives_each_subscriber_their_own_copy_once(make_app, smtp_server):
    smtp_server.handler.handle_EHLO = _ehlo_with_pipelining
    smtp_server.handler.replies["reader3@example.net"] = "550 5.1.1 No such user here"
    smtp_server.handler.replies["reader6@example.net"] = "451 4.3.0 Try again later"
    smtp_server.handler.replies["reader7@example.net"] = "550 5.1.1 Gone"
    app = make_app(SMTP_URL=smtp_server.url, BATCH_SIZE=5, RETRY_BASE_SECONDS=60)
    with app.app_context():
        issue_id = issue_for_subscribers(14)
        service.start_sending(issue_id)
    wait_idle(app)
    with app.app_context():
        assert delivery_counts(issue_id) == {"sent": 11, "failed": 2, "queued": 1}
    expected = {f"reader{n}@example.net" for n in range(14)} - {
        "reader3@example.net",
        "reader6@example.net",
        "reader7@example.net",
    }
    received = [m for m in smtp_server.messages if m.rcpt_tos]
    assert sorted(m.rcpt_tos[0] for m in received) == sorted(expected)  # once each
    for m in received:  # each copy is the one made for its envelope's subscriber and delivery
        assert m.rcpt_tos[0] in m.message["To"]
        delivery = m.mail_from.split("+d")[1].split(".")[0]
        assert f".delivery{delivery}." in m.message["Message-ID"]


def test_lines_starting_with_a_dot_arrive_intact(make_app, smtp_server):
    """SMTP ends a message at a line holding only a dot, and drops one leading dot from any
    other line: both the issue's own lines and a subscriber's name at the start of a line must
    be dot-stuffed on the wire and arrive as written."""
    smtp_server.handler.handle_EHLO = _ehlo_with_pipelining
    app = make_app(SMTP_URL=smtp_server.url)
    body = (
        "{{ subscriber.attributes.handle }} wrote:\n\n"
        ".dotfile at the start of a line\n\n"
        "    .gitignore\n    ..\n    .\n    ...\n"
    )
    with app.app_context():
        list_id = make_list()
        add_subscribers(list_id, 2)
        db.session.execute(update(Subscriber).values(attributes={"handle": ".dot"}))
        db.session.commit()
        issue_id = make_issue([list_id], body=body)
        service.start_sending(issue_id)
    wait_idle(app)
    received = smtp_server.wait_for(2)
    assert len(received) == 2
    for mail in received:
        text, html = mail.part("plain"), mail.part("html")
        assert ".dot wrote:" in text and ".dot wrote:" in html
        assert "\n.dotfile at the start of a line" in text
        assert ">.gitignore\n..\n.\n...\n" in html.replace("\r\n", "\n")
