"""Bulk copies are signed with the body hash started from the parts every copy shares (hashed
once per issue): each signature is still byte for byte the one plain dkimpy makes for the whole
copy, and verifies."""

from __future__ import annotations

import hashlib
import re
from types import SimpleNamespace

import dkim
import pytest
from dkim.canonicalization import Simple
from dkim.crypto import RSASSA_PKCS1_v1_5_sign as dkim_crypto_sign
from helpers.dkim import SELECTOR, verifies

from newsletter.mail import dkim as our_dkim
from newsletter.mail.bulk import BulkTemplate
from newsletter.mail.compiled import compile_issue
from newsletter.mail.dkim import SharedParts, Signer
from newsletter.mail.render import SubscriberFields
from newsletter.subscribers.links import Links

_SIGNATURE = re.compile(rb"\ADKIM-Signature:.*?\r\n(?=[^ \t])", re.DOTALL)
BODY = (
    "Hello {{ subscriber.name }},\n\n"
    + "A long line of news, the same for everyone. " * 60
    + "\n\nYour city: {{ subscriber.attributes.city }}\n\n"
    + "More news for all. " * 80
)
SUBSCRIBERS = [
    ("ada@example.org", "Ada", {"city": "Oslo"}),
    ("bob@example.net", "Bôb Ünïcode, a name long enough to be folded on its way", {}),
    ("cy@example.com", "", {"city": "Zürich"}),
]


@pytest.fixture
def copies(app, dkim_key, monkeypatch):
    """Three subscribers' signed copies, and the signer, all made at one frozen second."""
    path, _ = dkim_key
    clock = SimpleNamespace(time=lambda: 1_780_000_000.0)
    monkeypatch.setattr(dkim, "time", clock)
    monkeypatch.setattr(our_dkim, "time", clock)
    signer = Signer("example.org", SELECTOR, path.read_bytes())
    template = BulkTemplate(
        sender="Test Letter <news@example.org>",
        subject="Grüße: the week",
        list_id="weekly.example.org",
        list_name="Weekly",
        signer=signer,
    )
    with app.test_request_context():
        issue = compile_issue(
            "Grüße: the week", "", BODY, site_name="Test", postal_address="1 Test Street"
        )
        made = []
        for n, (email, name, attributes) in enumerate(SUBSCRIBERS):
            links = Links(f"https://x.example/u/{n}", f"https://x.example/p/{n}")
            made.append(
                template.personalise(
                    recipient=email,
                    name=name,
                    message_id=f"<m{n}@example.org>",
                    body=issue.render(SubscriberFields(email, name, attributes), links),
                    unsubscribe_url=links.unsubscribe_url,
                ).data
            )
    return signer, made


def test_each_copys_signature_is_plain_dkimpys_for_the_whole_copy(copies, monkeypatch):
    signer, made = copies
    monkeypatch.setattr(dkim, "RSASSA_PKCS1_v1_5_sign", dkim_crypto_sign)  # dkimpy's own RSA
    for data in made:
        signature = _SIGNATURE.match(data).group(0)
        assert (
            dkim.sign(
                data[len(signature) :],
                SELECTOR.encode(),
                b"example.org",
                signer.private_key,
                include_headers=our_dkim.SIGNED_HEADERS,
                canonicalize=(b"relaxed", b"simple"),
                linesep=b"\r\n",
            )
            == signature
        )


def test_each_signed_copy_verifies_and_a_changed_body_does_not(copies, dkim_key):
    _, record = dkim_key
    _, made = copies
    for data in made:
        assert verifies(data, record)
        assert not verifies(data.replace(b"news for all", b"news for some", 1), record)


@pytest.mark.parametrize(
    "later",
    [
        [b"A\r\n", b"B\r\n", b"C\r\n"],  # the same parts, other objects
        [b"A\r\n", b"X\r\n", b"C\r\n", b"D\r\n"],  # longer, differs in the middle
        [b"Z\r\n"],  # shorter, differs at once
        [b"A\r\n", b"B\r\n\r\n\r\n"],  # empty lines at the end: "simple" drops them
        [b"A\r\n", b"no line end"],
    ],
)
def test_body_hash_is_the_simple_body_hash_of_the_joined_parts(later):
    first = [b"A\r\n", b"B\r\n", b"C\r\n"]
    shared = SharedParts()
    shared.body_digest(first)
    later = [first[i] if i < 3 and part == first[i] else part for i, part in enumerate(later)]
    expected = hashlib.sha256(Simple.canonicalize_body(b"".join(later))).digest()
    assert shared.body_digest(later) == expected
