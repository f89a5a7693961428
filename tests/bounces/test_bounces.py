"""Bounces and complaints arriving by webhook or mailbox suppress the right subscriber, once."""

import mailbox
import subprocess

import pytest
from helpers.bounce import (
    SECRET,
    corpus,
    post_report,
    quoting,
    sent_delivery,
    tagged_delivery,
)
from sqlalchemy import func, select

from newsletter.bounces import verp
from newsletter.cli import main
from newsletter.extensions import db
from newsletter.models import Bounce, Subscriber
from newsletter.subscribers.suppression import is_blocked

POSTFIX_VERP = "bounces+d101.c6b2f1@news.example.org"
ARF_YAHOO_ID = "<177278460201.113.arf@news.example.org>"


@pytest.fixture
def app(make_app):
    return make_app(BOUNCE_WEBHOOK_SECRET=SECRET, SOFT_BOUNCE_LIMIT=3)


def _status(subscriber_id):
    db.session.expire_all()
    return db.session.get(Subscriber, subscriber_id).status


def test_hard_bounce_matched_by_verp_suppresses_the_subscriber_at_once(app, client):
    with app.app_context():
        subscriber_id, delivery_id = sent_delivery("nobody-here@example.net")
        raw = corpus("postfix-user-unknown.eml", **{POSTFIX_VERP: verp.return_path(delivery_id)})

        answer = post_report(client, raw)

        assert answer.status_code == 200
        assert answer.json["recorded"] == [{"kind": "hard", "suppressed": True}]
        assert _status(subscriber_id) == "bounced"
        assert is_blocked("nobody-here@example.net")
        bounce = db.session.scalar(select(Bounce))
        assert bounce.delivery_id == delivery_id
        assert "5.1.1" in bounce.reason and "User unknown" in bounce.reason


def test_complaint_with_redacted_recipient_is_matched_by_its_tagged_message_id(app, client):
    with app.app_context():
        subscriber_id, _, message_id = tagged_delivery("someone@yahoo.example.com")
        raw = quoting("arf-yahoo-redacted.eml", ARF_YAHOO_ID, message_id)

        answer = post_report(client, raw)

        assert answer.json["recorded"] == [{"kind": "complaint", "suppressed": True}]
        assert _status(subscriber_id) == "complained"
        assert is_blocked("someone@yahoo.example.com")


def test_soft_bounces_suppress_only_past_the_limit_and_a_repeat_counts_once(app, client):
    with app.app_context():
        deliveries = []
        subscriber_id, first = sent_delivery("full-box@example.net")
        deliveries.append(first)
        for n in range(2):  # two more issues to the same subscriber
            _, other = sent_delivery(f"other{n}@example.net")
            deliveries.append(other)
        from newsletter.models import Delivery

        for delivery_id in deliveries[1:]:
            db.session.get(Delivery, delivery_id).subscriber_id = subscriber_id
        db.session.commit()
        reports = [
            corpus(
                "postfix-mailbox-full-delayed.eml",
                **{"bounces+d102.0a9e77@news.example.org": verp.return_path(d)},
            )
            for d in deliveries
        ]

        post_report(client, reports[0])
        post_report(client, reports[0])  # the same report again
        post_report(client, reports[1])
        assert _status(subscriber_id) == "confirmed"
        answer = post_report(client, reports[2])

        assert answer.json["recorded"] == [{"kind": "soft", "suppressed": True}]
        assert _status(subscriber_id) == "bounced"
        assert db.session.scalar(select(func.count(Bounce.id))) == 3


def test_forged_verp_address_matches_no_delivery(app, client):
    with app.app_context():
        subscriber_id, delivery_id = sent_delivery("victim@example.org")
        forged = f"bounces+d{delivery_id}.0000000000@news.example.org"

        answer = post_report(client, corpus("postfix-user-unknown.eml", **{POSTFIX_VERP: forged}))

        assert answer.json == {
            "recorded": [],
            "ignored": 1,
            "unverified": 0,
            "unsubscribed": 0,
            "unmatched": True,
        }
        assert _status(subscriber_id) == "confirmed"


def test_unsigned_or_wrongly_signed_report_is_refused_and_nothing_stored(app, client):
    with app.app_context():
        sent_delivery("nobody-here@example.net")
        raw = corpus("postfix-user-unknown.eml")

        unsigned = client.post("/webhooks/bounce", data=raw)
        wrong = post_report(client, raw, secret="not-the-secret")

        assert (unsigned.status_code, wrong.status_code) == (401, 401)
        assert db.session.scalar(select(func.count(Bounce.id))) == 0


def test_webhook_does_not_exist_without_a_secret(make_app):
    app = make_app()

    assert post_report(app.test_client(), corpus("postfix-user-unknown.eml")).status_code == 404


def test_oversized_report_is_refused_before_it_is_read(make_app):
    app = make_app(BOUNCE_WEBHOOK_SECRET=SECRET, BOUNCE_MAX_BYTES=1000)

    answer = post_report(app.test_client(), b"x" * 5000)

    assert answer.status_code == 413


def test_out_of_office_reply_is_answered_but_records_nothing(app, client):
    with app.app_context():
        answer = post_report(client, corpus("auto-reply-out-of-office.eml"))

        assert answer.status_code == 200
        assert answer.json == {
            "recorded": [],
            "ignored": 0,
            "unverified": 0,
            "unsubscribed": 0,
            "unmatched": True,
        }


def test_command_reads_a_maildir_once(app, runner, tmp_path):
    with app.app_context():
        subscriber_id, _, message_id = tagged_delivery("no-such-user@example.com")
        gmail = quoting(
            "gmail-address-not-found.eml", "<177254000001.105.gm@news.example.org>", message_id
        )
    box = mailbox.Maildir(tmp_path / "Maildir")
    box.add(gmail)
    box.add(corpus("auto-reply-out-of-office.eml"))

    first = runner.invoke(main, ["bounces", "process", str(tmp_path / "Maildir")])
    again = runner.invoke(main, ["bounces", "process", str(tmp_path / "Maildir")])

    assert first.output.strip() == (
        "messages: 2, hard: 1, soft: 0, complaint: 0, suppressed: 1, unverified: 0, "
        "ignored: 0, unsubscribed: 0, unmatched: 1"
    )
    assert again.output.startswith("messages: 0,")
    with app.app_context():
        assert _status(subscriber_id) == "bounced"


def test_command_reads_an_mbox_and_a_rerun_records_nothing_twice(app, runner, tmp_path):
    with app.app_context():
        arf = quoting(
            "arf-rfc5965-abuse.eml",
            "<177299639901.112.arf@news.example.org>",
            tagged_delivery("annoyed-reader@example.com")[2],
        )
        ms = quoting(
            "microsoft365-recipient-not-found.eml",
            "<177254100001.108.ms@news.example.org>",
            tagged_delivery("departed@contoso.example.com")[2],
        )
    box = mailbox.mbox(tmp_path / "bounces.mbox")
    box.add(arf)
    box.add(ms)
    box.flush()

    first = runner.invoke(main, ["bounces", "process", str(tmp_path / "bounces.mbox")])
    again = runner.invoke(main, ["bounces", "process", str(tmp_path / "bounces.mbox")])

    assert "hard: 1, soft: 0, complaint: 1, suppressed: 2, unverified: 0" in first.output
    assert "complaint: 0, suppressed: 0, unverified: 0, ignored: 2" in again.output


def test_report_signed_with_the_documented_openssl_command_is_accepted(app, client):
    raw = corpus("auto-reply-out-of-office.eml")
    digest = subprocess.run(
        ["openssl", "dgst", "-sha256", "-hmac", SECRET, "-r"],
        input=raw, capture_output=True, check=True,
    ).stdout.split()[0].decode()  # fmt: skip

    answer = client.post(
        "/webhooks/bounce", data=raw, headers={"X-Newsletter-Signature": f"sha256={digest}"}
    )

    assert answer.status_code == 200


def test_report_about_two_recipients_suppresses_only_our_subscriber(app, client):
    with app.app_context():
        subscriber_id, delivery_id = sent_delivery("nobody-here@example.net")
        raw = corpus("postfix-user-unknown.eml", **{POSTFIX_VERP: verp.return_path(delivery_id)})
        second = (
            b"\nFinal-Recipient: rfc822; stranger@example.com\nAction: failed\nStatus: 5.1.1\n"
            b"Diagnostic-Code: smtp; 550 5.1.1 unknown\n"
        )
        end_of_first = b"virtual mailbox table\n\n--"
        raw = raw.replace(end_of_first, end_of_first[:-3] + second + b"\n--")

        answer = post_report(client, raw)

        assert answer.json["recorded"] == [{"kind": "hard", "suppressed": True}]
        assert answer.json["ignored"] == 1 and answer.json["unmatched"] is False
        assert _status(subscriber_id) == "bounced"
        assert db.session.scalar(select(func.count(Bounce.id))) == 1
