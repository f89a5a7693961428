"""The mailto in List-Unsubscribe works: a mail sent to it, whatever it says, unsubscribes the
subscriber whose issue carried it, through the bounce mailbox (command or webhook); forged,
swapped or plain addresses unsubscribe nobody."""

from __future__ import annotations

import mailbox
from email.message import EmailMessage
from urllib.parse import parse_qs, urlsplit

import pytest
from helpers.bounce import SECRET, corpus, post_report
from helpers.outbox import wait_idle
from helpers.send import add_subscribers, make_issue, make_list
from sqlalchemy import select

from newsletter.bounces import verp
from newsletter.cli import main
from newsletter.delivery import service
from newsletter.extensions import db
from newsletter.models import (
    Bounce,
    ConsentEvent,
    Delivery,
    Subscriber,
    SubscriberStatus,
    SubscriptionStatus,
)
from newsletter.subscribers.suppression import is_blocked

POSTFIX_VERP = "bounces+d101.c6b2f1@news.example.org"


@pytest.fixture
def sent(make_app, smtp_server):
    """An issue sent to three subscribers; returns (app, {their address: the mailto received})."""
    app = make_app(
        SMTP_URL=smtp_server.url,
        BOUNCE_ADDRESS="bounces@news.example.org",
        BOUNCE_WEBHOOK_SECRET=SECRET,
    )
    with app.app_context():
        weekly = make_list("weekly")
        add_subscribers(weekly, 3)
        service.start_sending(make_issue([weekly]))
    wait_idle(app)
    received = smtp_server.wait_for(3)
    mailtos = {}
    for mail in received:
        https, mailto = (u.strip(" <>") for u in str(mail.message["List-Unsubscribe"]).split(","))
        mailtos[mail.rcpt_tos[0]] = mailto
    return app, mailtos


def _mail_to(mailto: str, sender: str, body: str = "Please take me off this list.") -> bytes:
    """What a subscriber's mail program sends when they press "unsubscribe" (RFC 6068 mailto)."""
    target = urlsplit(mailto)
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = target.path
    msg["Subject"] = parse_qs(target.query)["subject"][0]
    msg.set_content(body)
    return msg.as_bytes()


def _subscriber(app, address: str) -> Subscriber:
    with app.app_context():
        return db.session.scalar(select(Subscriber).where(Subscriber.email == address))


def _left_every_list(app, address: str) -> bool:
    with app.app_context():
        subscriber = db.session.scalar(select(Subscriber).where(Subscriber.email == address))
        return subscriber.status == SubscriberStatus.UNSUBSCRIBED and all(
            s.status == SubscriptionStatus.UNSUBSCRIBED for s in subscriber.subscriptions
        )


def _still_subscribed(app, *addresses: str) -> bool:
    return all(_subscriber(app, a).status == SubscriberStatus.CONFIRMED for a in addresses)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_mail_to_the_received_mailto_unsubscribes_the_subscriber_via_the_maildir(sent, tmp_path):
    app, mailtos = sent
    address = "reader1@example.net"
    local_part = urlsplit(mailtos[address]).path.split("@")[0]
    assert local_part.startswith("bounces+u-") and len(local_part) <= 64
    box = mailbox.Maildir(tmp_path / "Maildir")
    box.add(_mail_to(mailtos[address], address))

    result = app.test_cli_runner().invoke(main, ["bounces", "process", str(tmp_path / "Maildir")])

    assert result.exit_code == 0, result.output
    assert result.output.strip() == (
        "messages: 1, hard: 0, soft: 0, complaint: 0, suppressed: 0, unverified: 0, "
        "ignored: 0, unsubscribed: 1, unmatched: 0"
    )
    assert _left_every_list(app, address)
    assert _still_subscribed(app, "reader0@example.net", "reader2@example.net")
    with app.app_context():
        # Recorded as every other unsubscribe is: a consent event saying how.
        event = db.session.scalars(
            select(ConsentEvent).where(ConsentEvent.action == "unsubscribe")
        ).one()
        assert event.subscriber.email == address
        assert event.source == "mail to the unsubscribe address"
        assert event.lists == ["weekly"]
        assert not is_blocked(address)  # unsubscribed, not suppressed: they may come back


def test_mail_to_the_received_mailto_unsubscribes_the_subscriber_via_the_webhook(sent):
    app, mailtos = sent
    address = "reader2@example.net"

    answer = post_report(app.test_client(), _mail_to(mailtos[address], address, body=""))

    assert answer.status_code == 200
    assert answer.json == {
        "recorded": [],
        "ignored": 0,
        "unverified": 0,
        "unsubscribed": 1,
        "unmatched": False,
    }
    assert _left_every_list(app, address)
    assert _still_subscribed(app, "reader0@example.net", "reader1@example.net")


def test_forged_or_plain_unsubscribe_addresses_unsubscribe_nobody(sent, tmp_path):
    app, mailtos = sent
    with app.app_context():
        ids = {a: _subscriber(app, a).id for a in mailtos}
    mine = mailtos["reader0@example.net"]
    # subscriber0's signature on subscriber1's number; a signature with one digit changed; the plain
    # bounce address.
    someone_else = mine.replace(
        f"+u-{ids['reader0@example.net']}.", f"+u-{ids['reader1@example.net']}."
    )
    signature = mine.split(".")[1].split("@")[0]
    altered = mine.replace(signature, signature[:-1] + ("0" if signature[-1] != "0" else "1"))
    box = mailbox.Maildir(tmp_path / "Maildir")
    for target in (someone_else, altered, "mailto:bounces@news.example.org?subject=unsubscribe"):
        box.add(_mail_to(target, "attacker@example.com"))

    result = app.test_cli_runner().invoke(main, ["bounces", "process", str(tmp_path / "Maildir")])

    assert "unsubscribed: 0, unmatched: 3" in result.output
    assert _still_subscribed(app, *mailtos)


def test_unsubscribe_tag_in_upper_case_still_works(sent):
    # Some mail servers rewrite the local part; the tag is digits and hex for that reason.
    app, mailtos = sent
    shouted = f"mailto:{urlsplit(mailtos['reader0@example.net']).path.upper()}?subject=unsubscribe"

    answer = post_report(app.test_client(), _mail_to(shouted, "reader0@example.net"))

    assert answer.json["unsubscribed"] == 1
    assert _left_every_list(app, "reader0@example.net")


def test_bounce_tags_and_unsubscribe_tags_do_not_stand_in_for_each_other(sent):
    app, mailtos = sent
    address = "reader0@example.net"
    client = app.test_client()
    with app.app_context():
        delivery_id = db.session.scalar(
            select(Delivery.id).join(Subscriber).where(Subscriber.email == address)
        )
        return_path = verp.return_path(delivery_id)
    # A plain "unsubscribe" mail to the subscriber's bounce return path unsubscribes nobody.
    answer = post_report(client, _mail_to(f"mailto:{return_path}?subject=unsubscribe", address))
    assert answer.json["unmatched"] is True
    assert _still_subscribed(app, address)
    # A bounce report sent to the unsubscribe address records no bounce and suppresses
    # nobody (sent to the return path, it would suppress the subscriber): whoever holds the
    # unsubscribe address may unsubscribe the subscriber, no more.
    unsubscribe_address = urlsplit(mailtos[address]).path
    report = corpus(
        "postfix-user-unknown.eml",
        **{POSTFIX_VERP: unsubscribe_address, "nobody-here@example.net": address},
    )
    answer = post_report(client, report)
    assert answer.json["recorded"] == []
    with app.app_context():
        assert db.session.scalar(select(Bounce.id)) is None
        assert not is_blocked(address)


def test_the_mailto_is_left_out_when_the_bounce_address_leaves_no_room(make_app, smtp_server):
    app = make_app(
        SMTP_URL=smtp_server.url,
        BOUNCE_ADDRESS="a-very-long-mailbox-name-for-bounces-and-more@news.example.org",
    )
    with app.app_context():
        weekly = make_list("weekly")
        add_subscribers(weekly, 1)
        service.start_sending(make_issue([weekly]))
    wait_idle(app)
    (mail,) = smtp_server.wait_for(1)

    # The one-click https link alone; never a mailto whose local part servers would refuse.
    assert str(mail.message["List-Unsubscribe"]).startswith("<http://localhost/unsubscribe/")
    assert "mailto:" not in str(mail.message["List-Unsubscribe"])


def test_unsubscribe_address_dies_when_the_subscribers_address_changes(sent):
    app, mailtos = sent
    with app.app_context():
        subscriber = db.session.scalar(
            select(Subscriber).where(Subscriber.email == "reader0@example.net")
        )
        subscriber.email = "new-home@example.net"  # as an admin's correction would
        db.session.commit()

    answer = post_report(app.test_client(), _mail_to(mailtos["reader0@example.net"], "x@y.z"))

    assert answer.json["unmatched"] is True
    assert _still_subscribed(app, "new-home@example.net")
