"""Every kind of mail we send (confirmation, welcome, issue, test copy), as the subscriber's mail
server receives it: DKIM-signed when a key is configured, its unsubscribe header a URL a mail
client can use, and no header encoded where plain ASCII would do."""

from __future__ import annotations

import email
import email.header
import email.utils
import re
import time

import pytest
from helpers.dkim import SELECTOR, verifies
from helpers.outbox import wait_idle
from helpers.send import make_issue
from helpers.subscribe import csrf_from, link_path
from helpers.subscribe import make_list as make_public_list

from newsletter.delivery import service
from newsletter.extensions import db
from newsletter.issues import service as issues
from newsletter.models import MailingList

BASE_URL = "https://news.example.org"
KINDS = ("confirmation", "welcome", "issue", "test")
SUBJECT = "Notes from the garden: a subject line long enough that it has to be folded"


@pytest.fixture
def mails(make_app, smtp_server, dkim_key):
    """One received mail of each kind, by kind: a signup, its welcome, an issue and a test
    copy of it, sent over SMTP with DKIM on."""
    path, _ = dkim_key
    app = make_app(
        SMTP_URL=smtp_server.url,
        BASE_URL=BASE_URL,
        DKIM_KEY_FILE=str(path),
        DKIM_SELECTOR=SELECTOR,
    )
    make_public_list(app)
    client = app.test_client()
    client.post("/subscribe", data={"email": "ann@example.net", "name": "Ann", "lists": "news"})
    [confirmation] = smtp_server.wait_for(1)
    path = link_path(confirmation.part("plain"), "confirm")
    client.post(path, data={"csrf_token": csrf_from(client.get(path).data)})
    [_, welcome] = smtp_server.wait_for(2)
    with app.app_context():
        news = db.session.scalar(db.select(MailingList.id).where(MailingList.slug == "news"))
        issue_id = make_issue([news], subject=SUBJECT)
        issues.queue_test(issue_id, "editor@example.org")
        wait_idle(app)
        service.start_sending(issue_id)
    wait_idle(app)
    received = smtp_server.wait_for(4)
    [test] = [m for m in received if m.rcpt_tos == ["editor@example.org"]]
    [issue] = [m for m in received if m not in (confirmation, welcome, test)]
    return dict(zip(KINDS, (confirmation, welcome, issue, test), strict=True))


@pytest.mark.parametrize("kind", KINDS)
def test_every_mail_kind_arrives_with_a_dkim_signature_that_verifies(mails, dkim_key, kind):
    _, record = dkim_key
    mail = mails[kind]
    assert verifies(mail.data, record), f"the {kind} mail is not signed or does not verify"
    signature = "".join(str(mail.message["DKIM-Signature"]).split())
    signed = set(signature.split("h=")[1].split(";")[0].lower().split(":"))
    assert {"from", "to", "subject", "date", "message-id"} <= signed
    if kind != "confirmation":  # RFC 8058: the signature covers both unsubscribe headers
        assert {"list-unsubscribe", "list-unsubscribe-post"} <= signed


@pytest.mark.parametrize("kind", ("welcome", "issue", "test"))
def test_list_unsubscribe_is_a_url_a_mail_client_can_use(mails, kind):
    message = email.message_from_bytes(mails[kind].data)
    assert message["List-Unsubscribe"].startswith(f"<{BASE_URL}/"), message["List-Unsubscribe"]
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_the_confirmation_mail_offers_no_unsubscribe_header(mails):
    # Nothing to leave yet: the mail itself says that ignoring it is enough.
    assert email.message_from_bytes(mails["confirmation"].data)["List-Unsubscribe"] is None


@pytest.mark.parametrize("kind", KINDS)
def test_no_header_is_encoded_where_plain_ascii_would_do(mails, kind):
    head = mails[kind].data.partition(b"\r\n\r\n")[0].decode("ascii")
    for line in re.split(r"\r\n(?![ \t])", head):
        name, _, value = line.partition(":")
        if "=?" not in value:
            continue
        decoded = str(email.header.make_header(email.header.decode_header(value)))
        assert not decoded.isascii(), f"{name} of the {kind} mail is encoded: {value!r}"


@pytest.mark.parametrize("kind", KINDS)
def test_the_date_is_now_with_a_numeric_zone(mails, kind):
    # RFC 5322 forbids generating the obsolete zone name "GMT" (HTTP's date form).
    date = re.search(rb"^Date: (.*)\r\n", mails[kind].data, re.MULTILINE).group(1).decode()
    assert re.fullmatch(r"\w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} \+0000", date), date
    assert abs(email.utils.parsedate_to_datetime(date).timestamp() - time.time()) < 60
