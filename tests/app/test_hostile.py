"""Hostile input, property-based: every public endpoint and form answers random bytes, huge
fields, wrong encodings, CR/LF and Unicode confusables with a 4xx or a success, never a 500;
a refused request stores nothing; no accepted input ever injects a header into a mail."""

from __future__ import annotations

import email
import email.header
import email.policy
import hashlib
import hmac
import json
import unicodedata
from pathlib import Path
from urllib.parse import quote

import pytest
from helpers.bounce import CORPUS
from helpers.subscribe import csrf_from, make_list
from hypothesis import HealthCheck, currently_in_test_context, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from newsletter.extensions import db
from newsletter.mail.bulk import address_header
from newsletter.models import (
    AuditEvent,
    Bounce,
    ConsentEvent,
    MailingList,
    Subscriber,
    Subscription,
    Suppression,
)
from newsletter.subscribers import tokens

SECRET = "hostile-webhook-secret"
EXAMPLES = settings(
    max_examples=40,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# ---------------------------------------------------------------- what hostile input looks like

NASTY_CHARS = "\r\n\x00\t\x0b\x0c\x1b\x7f\x85\u2028\u2029\u200b\u200d\u202e\ufeff\ud7ff<>\"'%;,:@\\"
CONFUSABLES = [
    "pаypal@example.org",  # Cyrillic а
    "paypal@exаmple.org",
    "user＠example.org",  # fullwidth at
    "ｕｓｅｒ@ｅｘａｍｐｌｅ.org",
    "user@example.org\u202e",
    "us\u200ber@example.org",
    "user@xn--80ak6aa92e.com",
    "user@ex\u0430mple.org",
    "Ǆ@example.org",
    "ß@straße.de",
    "user@example.org\r\nBcc: victim@example.net",
    "user@example.org%0d%0aBcc:victim@example.net",
    '"a\r\nb"@example.org',
    "user@[127.0.0.1]",
    "user@localhost",
    "a" * 65 + "@example.org",
    "user@" + "a" * 300 + ".org",
    "=?utf-8?q?user=0D=0ABcc=3A_victim=40example=2Enet?=@example.org",
]
text = st.one_of(
    st.text(max_size=60),
    st.text(alphabet=st.sampled_from(NASTY_CHARS + "abc@. "), max_size=60),
    st.sampled_from(CONFUSABLES),
    st.binary(max_size=60).map(lambda b: b.decode("latin-1")),
)
huge = st.integers(min_value=1_000, max_value=200_000).map(lambda n: "x" * n)
field = st.one_of(text, text, text, huge)
addresses = st.one_of(
    st.emails(),
    st.emails(),
    st.sampled_from(CONFUSABLES),
    st.builds(lambda a, b: f"{a}@{b}.example.org", text, text),
    field,
)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4),
    max_leaves=12,
)
content_types = st.sampled_from(
    [
        "application/x-www-form-urlencoded",
        "application/x-www-form-urlencoded; charset=utf-16",
        "multipart/form-data; boundary=zzz",
        "multipart/form-data",
        "application/json",
        "application/json; charset=latin-1",
        "text/plain",
        "message/rfc822",
        "",
        "application/x-www-form-urlencoded\r\nX-Injected: 1",
    ]
)

# ---------------------------------------------------------------- fixtures and checks


@pytest.fixture
def app(make_app):
    app = make_app(
        SIGNUP_RATE_LIMIT="1000000 per minute",
        LOGIN_RATE_LIMIT="1000000 per minute",
        BOUNCE_WEBHOOK_RATE_LIMIT="1000000 per minute",
        CONFIRM_MAILS_PER_HOUR=1_000_000,
        BOUNCE_WEBHOOK_SECRET=SECRET,
    )
    make_list(app, "news", "News")
    make_list(app, "private", "Private", public=False)
    return app


STORED = (Subscriber, Subscription, ConsentEvent, Bounce, Suppression, AuditEvent, MailingList)


def _snapshot(app) -> tuple:
    """Row counts of everything a request could store, and the mails written."""
    from helpers.outbox import wait_idle

    wait_idle(app)
    with app.app_context():
        rows = tuple(db.session.scalar(select(func.count()).select_from(m)) for m in STORED)
    return rows, len(list(Path(app.config["OUTBOX_DIR"]).glob("*.eml")))


def _client_with_csrf(app):
    """A client holding a session and its CSRF token, so hostile forms reach the real code
    (from the expired-link page's form: the signup page carries no token and sets no cookie)."""
    client = app.test_client()
    return client, csrf_from(client.get("/confirm/x").data)


def _no_line_breaks_or_controls(value: str) -> bool:
    return not any(unicodedata.category(c) in {"Cc", "Zl", "Zp"} for c in value)


def _new_mails(app, before: int) -> list[bytes]:
    paths = sorted(Path(app.config["OUTBOX_DIR"]).glob("*.eml"))
    return [p.read_bytes() for p in paths[before:]]


def _assert_no_header_injection(raw: bytes, stored: set[str]) -> None:
    """One recipient, one of ours; no header line that we did not write."""
    head = raw.split(b"\r\n\r\n", 1)[0].decode("ascii")  # 8-bit in a header is itself a bug
    names = [line.split(":", 1)[0].lower() for line in head.split("\r\n") if line[:1] not in " \t"]
    assert not {"bcc", "cc", "reply-to", "x-injected"} & set(names), names
    assert len(names) == len(set(names) - {"received"}), names  # no header given twice
    message = email.message_from_bytes(raw, policy=email.policy.default)
    [recipient] = message["To"].addresses
    assert recipient.addr_spec in stored


def _check(app, answer, before) -> None:
    if currently_in_test_context():
        event(f"status {answer.status_code}")
    assert answer.status_code < 500, answer.data[:500]
    if answer.status_code >= 400:
        assert _snapshot(app) == before, "a refused request stored something"
        return
    after = _snapshot(app)
    with app.app_context():
        stored = set(db.session.scalars(select(Subscriber.email)))
    for address in stored:
        assert address.isascii() and address.isprintable() and " " not in address, address
    with app.app_context():
        for name in db.session.scalars(select(Subscriber.name)):
            assert _no_line_breaks_or_controls(name), repr(name)
    for raw in _new_mails(app, before[1]):
        _assert_no_header_injection(raw, stored)
    assert after[0][5] == before[0][5], "a subscriber's request wrote to the admin audit log"


@pytest.mark.parametrize(
    "name",
    [
        "a" * 65 + "@example.org",  # the email package's refolding once dropped its quotes
        '"Boss" <boss@example.com>, victim@example.net',
        "Zoë Ünïcödé-Ñame " * 8,
        "x" * 150 + "@evil.example",
    ],
)
def test_a_name_that_looks_like_an_address_stays_the_name(name):
    # The To of a welcome, an issue or a test copy (a confirmation names no one): its writer.
    raw = address_header("To", "reader@example.net", name) + b"\r\n"
    assert all(len(line) <= 78 for line in raw.split(b"\r\n"))
    [recipient] = email.message_from_bytes(raw, policy=email.policy.default)["To"].addresses
    assert recipient.addr_spec == "reader@example.net"
    phrase = email.message_from_bytes(raw)["To"].rpartition("<")[0].strip()
    if phrase.startswith("=?"):  # read as RFC 2047 says: white space between words dropped
        shown = str(email.header.make_header(email.header.decode_header(phrase)))
    else:
        shown = recipient.display_name
    assert shown == " ".join(name.split())


# ---------------------------------------------------------------- signup


@EXAMPLES
@given(
    email_=addresses,
    name=field,
    lists=st.lists(st.sampled_from(["news", "news", "private", "", "n\r\news"]), max_size=3),
    honeypot=st.sampled_from(["", "", "", "http://spam.example"]),
    extra=st.dictionaries(text, text, max_size=2),
)
def test_signup_form_never_fails_and_never_injects(app, email_, name, lists, honeypot, extra):
    client, csrf = _client_with_csrf(app)
    before = _snapshot(app)
    form = {**extra, "email": email_, "name": name, "lists": lists, "website": honeypot}
    form["csrf_token"] = csrf

    _check(app, client.post("/subscribe", data=form), before)


@EXAMPLES
@given(
    raw=st.booleans(),
    payload=json_values,
    email_=addresses,
    name=st.one_of(field, json_values),
    lists=st.one_of(st.none(), st.just(["news"]), json_values),
)
def test_signup_json_never_fails_and_never_injects(app, raw, payload, email_, name, lists):
    client = app.test_client()
    before = _snapshot(app)
    body = payload if raw else {"email": email_, "name": name, "lists": lists}

    _check(app, client.post("/subscribe", json=body), before)


def test_crlf_in_a_name_is_refused_and_nothing_is_mailed(app):
    client, csrf = _client_with_csrf(app)
    before = _snapshot(app)
    form = {
        "email": "eve@example.org",
        "name": "Eve\r\nBcc: victim@example.net",
        "lists": ["news"],
        "csrf_token": csrf,
    }

    answer = client.post("/subscribe", data=form)

    assert answer.status_code == 400
    _check(app, answer, before)  # nothing stored, no mail written


def _oversized(chunk: bytes) -> bytes:
    """About 70 KB, over every public form's size limit, repeated from a random chunk: 70 KB
    of fresh random bytes exceeds what hypothesis will generate per example (a flaky
    data_too_large health check)."""
    return (chunk * (70_000 // len(chunk) + 1))[:70_050]


OVERSIZED = st.builds(_oversized, st.binary(min_size=1, max_size=64))


@EXAMPLES
@given(
    path=st.sampled_from(["/subscribe", "/resend", "/admin/login", "/webhooks/bounce"]),
    body=st.one_of(st.binary(max_size=2000), OVERSIZED),
    content_type=content_types,
    origin=st.one_of(st.none(), st.just("https://evil.example"), text),
)
def test_raw_bytes_under_any_content_type_are_refused_cleanly(
    app, path, body, content_type, origin
):
    client = app.test_client()
    before = _snapshot(app)
    headers = {"Content-Type": content_type.replace("\r\n", " ")}
    if origin is not None:
        headers["Origin"] = origin.replace("\r", " ").replace("\n", " ")[:200]

    _check(app, client.post(path, data=body, headers=headers), before)


# ---------------------------------------------------------------- personal links


TOKEN_ROUTES = [
    ("GET", "/confirm/{}"),
    ("POST", "/confirm/{}"),
    ("GET", "/unsubscribe/{}"),
    ("POST", "/unsubscribe/{}"),
    ("GET", "/preferences/{}"),
    ("POST", "/preferences/{}"),
    ("GET", "/preferences/{}/export"),
    ("POST", "/preferences/{}/erase"),
    ("GET", "/archive/{}"),
]


def _mangled_token(app, draw_text: str, cut: int) -> str:
    with app.app_context():
        real = tokens.make(tokens.MANAGE, 1, "nobody@example.org")
    return real[:cut] + draw_text + real[cut:]


@EXAMPLES
@given(
    route=st.sampled_from(TOKEN_ROUTES),
    junk=text,
    mangle=st.booleans(),
    cut=st.integers(min_value=0, max_value=60),
    form=st.dictionaries(st.sampled_from(["name", "lists", "List-Unsubscribe", "x"]), text),
)
def test_any_token_in_any_link_is_answered_without_error(app, route, junk, mangle, cut, form):
    client, csrf = _client_with_csrf(app)
    before = _snapshot(app)
    token = _mangled_token(app, junk, cut) if mangle else junk
    form["csrf_token"] = csrf
    method, pattern = route
    path = pattern.format(quote(token[:5000], safe="")) if token else pattern.format("x")

    _check(app, client.open(path, method=method, data=form), before)


@EXAMPLES
@given(name=text, lists=st.lists(st.one_of(st.sampled_from(["news", "private"]), text), max_size=4))
def test_preferences_form_keeps_names_clean_or_refuses_them(app, name, lists):
    with app.app_context():
        subscriber = db.session.scalar(
            select(Subscriber).where(Subscriber.email == "prefs@example.org")
        ) or Subscriber(email="prefs@example.org", status="confirmed")
        db.session.add(subscriber)
        db.session.commit()
        token = tokens.make(tokens.MANAGE, subscriber.id, subscriber.email)
    client, csrf = _client_with_csrf(app)
    form = {"name": name, "lists": lists, "csrf_token": csrf}

    answer = client.post(f"/preferences/{token}", data=form)

    assert answer.status_code < 500
    with app.app_context():
        stored = db.session.scalar(
            select(Subscriber.name).where(Subscriber.email == "prefs@example.org")
        )
    assert _no_line_breaks_or_controls(stored) and len(stored) <= 200, repr(stored)


# ---------------------------------------------------------------- machine endpoints


def _signed(body: bytes) -> dict[str, str]:
    digest = hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    return {"X-Newsletter-Signature": f"sha256={digest}", "Content-Type": "message/rfc822"}


REPORTS = sorted(CORPUS.glob("*.eml"))


@settings(EXAMPLES, max_examples=150)  # cheap, and where a rare input once gave a 500
@given(
    sample=st.sampled_from(REPORTS),
    cut=st.integers(min_value=0, max_value=4000),
    insert=st.binary(max_size=200),
    where=st.integers(min_value=0, max_value=4000),
)
def test_signed_but_mangled_bounce_reports_never_fail(app, sample, cut, insert, where):
    raw = sample.read_bytes()
    raw = raw[:where] + insert + raw[where:cut] if cut > where else raw[:where] + insert
    before = _snapshot(app)

    answer = app.test_client().post("/webhooks/bounce", data=raw, headers=_signed(raw))

    assert answer.status_code < 500
    assert answer.status_code == 200, "a signed report is always accepted for reading"
    assert json.loads(answer.data)["recorded"] == []  # none of these subscribers exist here
    assert _snapshot(app) == before


@EXAMPLES
@given(
    query=st.dictionaries(text, text, max_size=3),
    path=st.sampled_from(["/", "/archive", "/feed.atom", "/healthz", "/admin/login"]),
)
def test_public_pages_ignore_any_query_string(app, query, path):
    before = _snapshot(app)

    answer = app.test_client().get(path, query_string=query)

    assert answer.status_code < 500
    assert _snapshot(app) == before
