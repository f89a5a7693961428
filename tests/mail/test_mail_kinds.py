"""Every kind of mail we send (confirmation, welcome, sequence step, issue, test copy), as the
subscriber's mail server receives it: DKIM-signed when a key is configured, its unsubscribe
header a URL a mail client can use, no header encoded where plain ASCII would do, a Date in
RFC 5322's form, and Auto-Submitted on the mails the system writes by itself only."""

from __future__ import annotations

import email
import email.header
import email.utils
import re
import time
from urllib.parse import urlsplit

import pytest
from helpers.dkim import SELECTOR, verifies
from helpers.mail_kinds import READER, SITE, send_every_kind
from helpers.subscribe import subscriber

from newsletter.mail.remote import host_of, remote_hosts
from newsletter.models import SubscriberStatus

PROMISE = {  # the signup box's words, in the mail's language
    "en": "Your information will not be shared. We hate SPAM.",
    "de": "Ihre Daten werden nicht weitergegeben. Wir hassen SPAM.",
}
KINDS = ("confirmation", "welcome", "step", "issue", "test")
SUBJECT = "Notes from the garden: a subject line long enough that it has to be folded"


@pytest.fixture
def sent(make_app, smtp_server, dkim_key):
    """The app, and one received mail of each kind by kind, sent over SMTP with DKIM on."""
    path, _ = dkim_key
    app = make_app(
        SMTP_URL=smtp_server.url, BASE_URL=SITE, DKIM_KEY_FILE=str(path), DKIM_SELECTOR=SELECTOR
    )
    return app, send_every_kind(app, smtp_server, SUBJECT)


@pytest.fixture
def mails(sent):
    return sent[1]


@pytest.mark.parametrize("kind", KINDS)
def test_every_mail_kind_arrives_with_a_dkim_signature_that_verifies(mails, dkim_key, kind):
    _, record = dkim_key
    mail = mails[kind]
    assert verifies(mail.data, record), f"the {kind} mail is not signed or does not verify"
    signature = "".join(str(mail.message["DKIM-Signature"]).split())
    signed = set(signature.split("h=")[1].split(";")[0].lower().split(":"))
    assert {"from", "to", "subject", "date", "message-id"} <= signed
    if kind not in ("confirmation", "test"):  # RFC 8058: signed with both unsubscribe headers
        assert {"list-unsubscribe", "list-unsubscribe-post"} <= signed


@pytest.mark.parametrize("kind", ("welcome", "step", "issue"))
def test_list_unsubscribe_is_a_url_a_mail_client_can_use(mails, kind):
    message = email.message_from_bytes(mails[kind].data)
    unsubscribe = message["List-Unsubscribe"]
    assert unsubscribe.startswith(f"<{SITE}/unsubscribe/"), unsubscribe
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_a_mail_to_someone_on_no_list_offers_no_unsubscribe_header(mails):
    # A confirmation: nothing to leave yet, and the mail says ignoring it is enough. A test
    # copy: its footer links are samples (the home page), where a one-click POST answers 405.
    for kind in ("confirmation", "test"):
        message = email.message_from_bytes(mails[kind].data)
        assert message["List-Unsubscribe"] is None, kind
        assert message["List-Unsubscribe-Post"] is None, kind


def test_only_the_mails_the_system_writes_itself_are_marked_auto_submitted(mails):
    # RFC 3834: autoresponders leave a confirmation or welcome alone. An issue, a step or its
    # test copy is a person's writing sent as list mail (List-Id, Precedence: bulk).
    marked = {kind: email.message_from_bytes(mails[kind].data)["Auto-Submitted"] for kind in KINDS}
    assert marked == {
        "confirmation": "auto-generated",
        "welcome": "auto-generated",
        "step": None,
        "issue": None,
        "test": None,
    }


@pytest.mark.parametrize("kind", KINDS)
def test_no_header_is_encoded_where_plain_ascii_would_do(mails, kind):
    head = mails[kind].data.partition(b"\r\n\r\n")[0].decode("ascii")
    for line in re.split(r"\r\n(?![ \t])", head):
        name, _, value = line.partition(":")
        if "=?" not in value:
            continue
        decoded = str(email.header.make_header(email.header.decode_header(value)))
        assert not decoded.isascii(), f"{name} of the {kind} mail is encoded: {value!r}"


def test_the_date_is_now_with_a_numeric_zone(mails):
    # RFC 5322 forbids generating the obsolete zone name "GMT" (HTTP's date form).
    for kind, mail in mails.items():
        date = re.search(rb"^Date: (.*)\r\n", mail.data, re.MULTILINE).group(1).decode()
        assert re.fullmatch(r"\w{3}, \d{2} \w{3} \d{4} \d{2}:\d{2}:\d{2} \+0000", date), kind
        assert abs(email.utils.parsedate_to_datetime(date).timestamp() - time.time()) < 60


def test_every_mail_about_a_list_names_it_in_list_id(mails):
    # RFC 2919: on the list's mail and on the system's mails about it (its confirmation and
    # welcome), so filters and mail programs file them together; a test copy is on no list.
    for kind, mail in mails.items():
        expected = None if kind == "test" else "Garden News <news.example.org>"
        assert email.message_from_bytes(mail.data)["List-Id"] == expected, kind


def test_every_mail_keeps_the_promise_of_the_signup_box(mails):
    # The box on the site promises it, and so does every mail, in both of its parts. (The
    # words cost nothing with a spam filter: tests/mail/test_spam_score.py.)
    for kind, mail in mails.items():
        promise = PROMISE["de" if kind.endswith("-de") else "en"]
        for subtype in ("plain", "html"):
            assert promise in " ".join(mail.part(subtype).split()), (kind, subtype)


def test_every_mail_is_well_formed_mime_with_text_beside_html(mails):
    # RFC 5322 (CRLF lines of at most 998, a Message-ID on our domain), RFC 2045-2049 (one
    # MIME-Version, declared charsets and encodings, 7-bit), and the text part the big
    # providers want beside the HTML.
    for kind, mail in mails.items():
        data = mail.data
        assert b"\n" not in data.replace(b"\r\n", b""), kind
        assert max(map(len, data.split(b"\r\n"))) <= 998, kind
        data.decode("ascii")
        message = mail.message
        assert message["Message-ID"].endswith("@example.org>"), kind
        assert data.count(b"MIME-Version: 1.0\r\n") == 1, kind
        assert message.get_content_type() == "multipart/alternative", kind
        parts = list(message.iter_parts())
        assert [p.get_content_type() for p in parts] == ["text/plain", "text/html"], kind
        for part in parts:
            assert part.get_content_charset() == "utf-8", kind
            assert part["Content-Transfer-Encoding"] == "quoted-printable", kind
            assert not part.defects, (kind, part.defects)
        assert not message.defects, (kind, message.defects)


def test_no_mail_makes_the_reader_load_anything_from_another_host(mails):
    # Our privacy promise: nothing that tells a third party who reads when; the image
    # is hosted here.
    own = host_of(SITE)
    for kind, mail in mails.items():
        assert remote_hosts(mail.part("html"), own) == [], kind
    assert f'src="{SITE}/media/' in mails["issue"].part("html")


def test_one_click_in_every_list_mail_unsubscribes_without_a_cookie(sent):
    # RFC 8058, as a mailbox provider's unsubscribe button does it: a POST, nothing else.
    app, mails = sent
    for kind in ("welcome", "step", "issue"):
        header = email.message_from_bytes(mails[kind].data)["List-Unsubscribe"]
        url = header.split(",")[0].strip(" <>")
        assert url.startswith(f"{SITE}/unsubscribe/"), kind
        answer = app.test_client().post(
            urlsplit(url).path,
            data="List-Unsubscribe=One-Click",
            content_type="application/x-www-form-urlencoded",
        )
        assert answer.status_code == 200, kind
        assert "Set-Cookie" not in answer.headers, kind
    assert subscriber(app, READER).status == SubscriberStatus.UNSUBSCRIBED
