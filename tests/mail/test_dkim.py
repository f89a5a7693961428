"""What a subscriber's mail server receives: the headers every bulk mail must carry, a DKIM
signature that verifies (covering List-Unsubscribe), and a one-click unsubscribe that works."""

from __future__ import annotations

import re
from types import SimpleNamespace
from urllib.parse import urlsplit

import dkim
import pytest
from dkim.crypto import RSASSA_PKCS1_v1_5_sign as dkim_crypto_sign
from helpers.dkim import SELECTOR, verifies
from helpers.outbox import wait_idle
from helpers.send import add_subscribers, make_issue, make_list
from sqlalchemy import select

from newsletter.delivery import service
from newsletter.extensions import db
from newsletter.mail.dkim import Signer
from newsletter.models import Subscriber, SubscriberStatus


@pytest.fixture
def sent_issue(make_app, smtp_server, dkim_key):
    """An issue sent to three subscribers with DKIM on; returns (app, received messages)."""
    path, _ = dkim_key
    app = make_app(
        SMTP_URL=smtp_server.url,
        BASE_URL="https://news.example.org",
        DKIM_KEY_FILE=str(path),
        DKIM_SELECTOR=SELECTOR,
    )
    with app.app_context():
        weekly = make_list("weekly", "Weekly Ünïcode News")
        add_subscribers(weekly, 3)
        issue_id = make_issue(
            [weekly],
            subject="Grüße from the garden: a rather long subject line that must be folded",
            body="Hello {{ subscriber.name }},\n\n" + "A long line of news. " * 40,
        )
        service.start_sending(issue_id)
    wait_idle(app)
    return app, smtp_server.wait_for(3)


def test_every_received_copy_carries_the_bulk_mail_headers(sent_issue):
    _, received = sent_issue
    for mail in received:
        msg = mail.message
        assert msg.get_content_type() == "multipart/alternative"
        assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
        assert msg["Subject"] == (
            "Grüße from the garden: a rather long subject line that must be folded"
        )
        assert msg["From"] == "Test Letter <news@example.org>"
        assert msg["To"].addresses[0].addr_spec == mail.rcpt_tos[0]
        assert msg["Message-ID"].endswith("@example.org>") and msg["Date"]
        assert msg["List-Id"] == "Weekly Ünïcode News <weekly.example.org>"
        https, mailto = [u.strip(" <>") for u in str(msg["List-Unsubscribe"]).split(",")]
        assert https.startswith("https://news.example.org/unsubscribe/")
        # The subscriber's own signed address at the bounce mailbox (test_unsubscribe_mail.py).
        assert re.fullmatch(
            r"mailto:news\+u-\d+\.[0-9a-f]{16}@example\.org\?subject=unsubscribe", mailto
        )
        assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert msg["Precedence"] == "bulk"
        name = msg["To"].addresses[0].display_name
        for subtype in ("plain", "html"):
            body = mail.part(subtype)
            assert f"Hello {name}" in body
            assert "1 Test Street, Testville" in body
            assert https in body  # the visible unsubscribe link is the same link
        lines = mail.data.split(b"\r\n")
        assert max(len(line) for line in lines) <= 998
        long_lines = [line for line in lines if len(line) > 78]
        assert all(b"/unsubscribe/" in line or b"dkim" in line.lower() for line in long_lines)
        mail.data.decode("ascii")  # 7-bit clean: encodings are declared, not assumed


def test_dkim_signature_verifies_on_the_received_bytes(sent_issue, dkim_key):
    _, record = dkim_key
    _, received = sent_issue
    for mail in received:
        signature = mail.message["DKIM-Signature"]
        signed = {h.strip().lower() for h in signature.split("h=")[1].split(";")[0].split(":")}
        assert {"list-unsubscribe", "list-unsubscribe-post", "from", "subject"} <= signed
        assert verifies(mail.data, record)
        tampered = mail.data.replace(b"List-Unsubscribe-Post: List", b"List-Unsubscribe-Post:  X")
        assert not verifies(tampered, record)


def test_one_click_unsubscribe_from_a_received_issue(sent_issue):
    app, received = sent_issue
    mail = received[0]
    https = str(mail.message["List-Unsubscribe"]).split(",")[0].strip(" <>")
    response = app.test_client().post(
        urlsplit(https).path,
        data="List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers
    with app.app_context():
        status = db.session.scalar(
            select(Subscriber.status).where(Subscriber.email == mail.rcpt_tos[0])
        )
    assert status == SubscriberStatus.UNSUBSCRIBED


def test_openssl_signature_is_byte_for_byte_dkimpys_own(dkim_key, monkeypatch):
    path, _ = dkim_key
    signer = Signer("example.org", SELECTOR, path.read_bytes())
    message = b"From: a@example.org\r\nTo: b@example.net\r\nSubject: Hi\r\n\r\nHello\r\n"
    # dkimpy stamps t= from its clock and takes no timestamp: both signatures are made at the
    # same second, so a second ticking between them cannot tell them apart.
    monkeypatch.setattr(dkim, "time", SimpleNamespace(time=lambda: 1_780_000_000.0))
    fast = signer.sign(message)
    monkeypatch.setattr(dkim, "RSASSA_PKCS1_v1_5_sign", dkim_crypto_sign)
    assert signer.sign(message) == fast
    assert b"t=1780000000;" in fast  # the whole header compared, timestamp included
