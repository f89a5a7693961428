"""Anyone can write to the bounce address: a report acts on a subscriber only when something we
signed (the VERP return path, the Message-ID's keyed tag) ties it to one of our mails.
Forgeries are kept for the admin as unverified and suppress nobody, by webhook or command."""

import mailbox
from collections import Counter

import pytest
from helpers.bounce import (
    SECRET,
    corpus,
    post_report,
    quoting,
    tagged_delivery,
    untagged_delivery,
)
from helpers.outbox import wait_idle
from helpers.send import add_subscribers, make_issue, make_list
from helpers.subscribe import make_list as make_public_list
from sqlalchemy import select

from newsletter.bounces import verp
from newsletter.cli import main
from newsletter.delivery import service
from newsletter.extensions import db
from newsletter.models import Bounce, Subscriber
from newsletter.subscribers.suppression import is_blocked

POSTFIX_VERP = "bounces+d101.c6b2f1@news.example.org"
POSTFIX_ID = "<177253290001.101.postfix@news.example.org>"
ARF_ID = "<177299639901.112.arf@news.example.org>"
ARF_YAHOO_ID = "<177278460201.113.arf@news.example.org>"


@pytest.fixture
def app(make_app):
    return make_app(BOUNCE_WEBHOOK_SECRET=SECRET)


def _hand_in(app, tmp_path, via: str, reports: list[bytes]) -> Counter[str]:
    """Give the reports to the app the way a mail server would (webhook or mailbox); return
    how many suppressed a subscriber and how many were kept as unverified."""
    said: Counter[str] = Counter()
    if via == "webhook":
        client = app.test_client()
        for raw in reports:
            answer = post_report(client, raw).json
            said["suppressed"] += sum(r["suppressed"] for r in answer["recorded"])
            said["unverified"] += answer["unverified"]
        return said
    box = mailbox.mbox(tmp_path / "bounces.mbox")
    for raw in reports:
        box.add(raw)
    box.flush()
    result = app.test_cli_runner().invoke(main, ["bounces", "process", box._path])
    assert result.exit_code == 0, result.output
    for item in result.output.strip().split(", "):
        label, _, n = item.partition(": ")
        said[label] = int(n)
    return said


def _statuses(*addresses: str) -> dict[str, str]:
    db.session.expire_all()
    rows = db.session.execute(select(Subscriber.email, Subscriber.status)).all()
    return {email: status.value for email, status in rows if email in addresses}


def _bounces() -> list[tuple[str, str, bool]]:
    return [
        (b.email, b.kind.value, b.verified)
        for b in db.session.scalars(select(Bounce).order_by(Bounce.id))
    ]


@pytest.mark.parametrize("via", ["webhook", "command"])
def test_complaint_naming_a_subscriber_only_by_address_suppresses_nobody(
    app,
    admin_client,
    tmp_path,
    via,
):
    with app.app_context():
        tagged_delivery("annoyed-reader@example.com")
    # The forger's ARF: Original-Rcpt-To names the subscriber; nothing in it is signed by us.
    forged = corpus("arf-rfc5965-abuse.eml")

    said = _hand_in(app, tmp_path, via, [forged])

    with app.app_context():
        assert _statuses("annoyed-reader@example.com") == {
            "annoyed-reader@example.com": "confirmed"
        }
        assert not is_blocked("annoyed-reader@example.com")
        assert _bounces() == [("annoyed-reader@example.com", "complaint", False)]
    assert (said["suppressed"], said["unverified"]) == (0, 1)
    page = admin_client.get("/admin/bounces").get_data(as_text=True)
    assert "annoyed-reader@example.com" in page
    assert "<td>complaint<br><strong>unverified</strong><br><small>via" in page
    assert "Lift suppression" not in page


@pytest.mark.parametrize("via", ["webhook", "command"])
def test_reports_counting_up_guessable_message_ids_suppress_nobody(app, tmp_path, via):
    with app.app_context():
        for n in range(3):
            untagged_delivery(f"early{n}@example.net")
        _, tagged_id, _ = tagged_delivery("later@example.net")
    # <issue1.delivery1@…>, <issue2.delivery2@…>, …: what mails sent before tags carried,
    # and what a forger counting up guesses for the later ones too.
    guesses = [f"<issue{n}.delivery{n}@news.example.org>" for n in range(1, 6)]
    guesses.append(f"<issue{tagged_id}.delivery{tagged_id}.0123456789abcdef@news.example.org>")
    forged = [
        quoting(
            "postfix-user-unknown.eml",
            POSTFIX_ID,
            guess,
            **{POSTFIX_VERP: "bounces@news.example.org"},
        )
        for guess in guesses
    ]

    said = _hand_in(app, tmp_path, via, forged)

    with app.app_context():
        everyone = [f"early{n}@example.net" for n in range(3)] + ["later@example.net"]
        assert set(_statuses(*everyone).values()) == {"confirmed"}
        assert not any(is_blocked(address) for address in everyone)
        # The old ids still find their mails, for the admin to see; they prove nothing.
        assert _bounces() == [(f"early{n}@example.net", "hard", False) for n in range(3)]
    assert (said["suppressed"], said["unverified"]) == (0, 3)


@pytest.fixture
def sent_mail(make_app, smtp_server):
    """Two subscribers sent a real issue through the SMTP server: (app, mail by address)."""
    app = make_app(BOUNCE_WEBHOOK_SECRET=SECRET, SMTP_URL=smtp_server.url)
    with app.app_context():
        weekly = make_list()
        add_subscribers(weekly, 2)
        service.start_sending(make_issue([weekly]))
    wait_idle(app)
    mails = smtp_server.wait_for(2)
    return app, {m.rcpt_tos[0]: m for m in mails}


@pytest.mark.parametrize("via", ["webhook", "command"])
def test_reports_carrying_what_we_signed_still_suppress(sent_mail, tmp_path, via):
    app, mails = sent_mail
    complained, bounced = "reader0@example.net", "reader1@example.net"
    # A feedback loop that redacts everything but our Message-ID (Yahoo's does)...
    complaint = quoting(
        "arf-yahoo-redacted.eml",
        ARF_YAHOO_ID,
        mails[complained].message["Message-ID"],
        **{"bounces+d113.fb0002@news.example.org": "bounces@news.example.org"},
    )
    # ...and a DSN sent to the return path the mail went out with.
    bounce = corpus(
        "postfix-user-unknown.eml",
        **{POSTFIX_VERP: mails[bounced].mail_from, "nobody-here@example.net": bounced},
    )

    said = _hand_in(app, tmp_path, via, [complaint, bounce])

    with app.app_context():
        assert _statuses(complained, bounced) == {complained: "complained", bounced: "bounced"}
        assert is_blocked(complained) and is_blocked(bounced)
        assert sorted(_bounces()) == [(complained, "complaint", True), (bounced, "hard", True)]
    assert (said["suppressed"], said["unverified"]) == (2, 0)


def test_a_forged_report_first_does_not_shadow_the_genuine_one(app):
    client = app.test_client()
    with app.app_context():
        _, delivery_id, message_id = untagged_delivery("reader@example.net")
        return_path = verp.return_path(delivery_id)
    forged = quoting(
        "postfix-user-unknown.eml",
        POSTFIX_ID,
        message_id,
        **{POSTFIX_VERP: "bounces@news.example.org"},
    )
    genuine = corpus("postfix-user-unknown.eml", **{POSTFIX_VERP: return_path})

    assert post_report(client, forged).json["unverified"] == 1
    answer = post_report(client, genuine)

    assert answer.json["recorded"] == [{"kind": "hard", "suppressed": True}]
    with app.app_context():
        assert _statuses("reader@example.net") == {"reader@example.net": "bounced"}


@pytest.mark.parametrize(
    ("name", "our_address"),
    [
        ("flufl-simple_01.eml", "zzzzz@wwww.org"),
        ("flufl-dsn_02.eml", "python-list-admin@python.org"),
    ],
)
def test_flufl_permanent_failures_suppress_the_signed_subscriber(app, name, our_address):
    # flufl.bounce's own samples: MDaemon's "Permanent Delivery Failure" (a bare 552) and an
    # X.400 gateway that gave up after 4.4.7; here they come back to our signed return path.
    with app.app_context():
        _, delivery_id, _ = tagged_delivery("reader@example.net")
        raw = corpus(name, **{our_address: verp.return_path(delivery_id)})

    answer = post_report(app.test_client(), raw)

    assert answer.json["recorded"] == [{"kind": "hard", "suppressed": True}]
    with app.app_context():
        assert _statuses("reader@example.net") == {"reader@example.net": "bounced"}


def test_a_bounced_confirmation_mail_proves_itself_and_a_forged_tag_does_not(
    make_app, smtp_server, tmp_path
):
    """Confirmations and welcomes go out from a return path signed for their subscriber, so their
    bounce suppresses that subscriber, while a tag made up by someone else suppresses nobody."""
    app = make_app(BOUNCE_WEBHOOK_SECRET=SECRET, SMTP_URL=smtp_server.url)
    make_public_list(app)
    client = app.test_client()
    for address in ("gone@example.net", "victim@example.net"):
        assert client.post("/subscribe", data={"email": address}).status_code == 200
    wait_idle(app)
    mails = {m.rcpt_tos[0]: m for m in smtp_server.wait_for(2)}
    return_path = mails["gone@example.net"].mail_from
    assert "+r-" in return_path
    with app.app_context():
        victim_id = db.session.scalar(
            select(Subscriber.id).where(Subscriber.email == "victim@example.net")
        )
    genuine = corpus(
        "postfix-user-unknown.eml",
        **{POSTFIX_VERP: return_path, "nobody-here@example.net": "gone@example.net"},
    )
    forged = corpus(
        "postfix-user-unknown.eml",
        **{
            POSTFIX_VERP: f"bounces+r-{victim_id}.0123456789abcdef@news.example.org",
            "nobody-here@example.net": "victim@example.net",
        },
    )

    said = _hand_in(app, tmp_path, "webhook", [genuine, forged])

    with app.app_context():
        assert is_blocked("gone@example.net")
        assert not is_blocked("victim@example.net")
        assert sorted(_bounces()) == [
            ("gone@example.net", "hard", True),
            ("victim@example.net", "hard", False),
        ]
    assert (said["suppressed"], said["unverified"]) == (1, 1)
