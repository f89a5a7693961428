"""Every keyed value we ever handed out keeps its exact bytes: links in mails already sent,
return paths and Message-IDs of mails still bouncing, and stored suppression hashes must
keep working across releases (DESIGN "Upgrades"). Pinned values were computed before the
HMAC code moved into ``newsletter.signing``; a value signed under a rotated-out key
(``SECRET_KEY_FALLBACKS``) still verifies."""

from __future__ import annotations

import pytest
from flask import Flask

from newsletter import signing
from newsletter.bounces import verp, views
from newsletter.subscribers import consent, suppression, tokens

EMAIL = "Reader@Example.org"
NOW = 1700000000.0
CURRENT, OLD = "pinned-key-2024", "old-key-2019"
OLD_MANAGE = "WzQyLCI0ZTNmMTNmNWQ1MDI5ZDI2Il0.ZVPxAA.PclJwG8zMbj1Tt_qz_XJSL5y01s"


@pytest.fixture
def rotated():
    """An app whose key was rotated: ``OLD`` is now a fallback."""
    app = Flask("pinned")
    app.config.update(
        SECRET_KEY=CURRENT,
        SECRET_KEY_FALLBACKS=[OLD],
        FROM="Letter <news@example.org>",
        BOUNCE_ADDRESS=None,
        CONSENT_IP="hash",
    )
    with app.app_context():
        yield app


def test_key_list_is_the_secret_key_then_its_fallbacks(rotated):
    assert signing.keys() == [CURRENT, OLD]


def test_link_tokens_keep_their_bytes(rotated, monkeypatch):
    monkeypatch.setattr("time.time", lambda: NOW)
    assert tokens.address_hash(EMAIL) == "a83cc05fe0bf0ff5"
    assert tokens.address_hashes(EMAIL) == {"a83cc05fe0bf0ff5", "4e3f13f5d5029d26"}
    assert tokens.make_many((tokens.UNSUBSCRIBE, tokens.MANAGE), 42, EMAIL) == [
        "WzQyLCJhODNjYzA1ZmUwYmYwZmY1Il0.ZVPxAA.8QGxSusfRcHRzIWh0bIeIxzposo",
        "WzQyLCJhODNjYzA1ZmUwYmYwZmY1Il0.ZVPxAA.j442bHDccvpC2axEluvi9zNKFOw",
    ]


def test_a_link_signed_under_a_rotated_out_key_still_reads(rotated):
    claim = tokens.read(tokens.MANAGE, OLD_MANAGE)
    assert claim.subscriber_id == 42
    assert tokens.matches(claim.address_hash, EMAIL)
    assert not tokens.matches(claim.address_hash, "someone@example.org")


def test_return_paths_and_message_tags_keep_their_bytes(rotated):
    assert verp.return_path(42) == "news+d42.447f2c71f5@example.org"
    assert verp.subscriber_return_path(7, EMAIL) == "news+r-7.ca269e2bc0f99ca2@example.org"
    assert verp.message_tag(42) == "4e8ded94f9e1db23"
    assert verp.unsubscribe_address(7, EMAIL) == "news+u-7.470b5ee43ecdb14a@example.org"


def test_tags_signed_under_a_rotated_out_key_still_match(rotated):
    assert verp.delivery_id("news+d42.4abc80af2f@example.org") == 42
    assert verp.delivery_in_message_id("<issue3.delivery42.172766f48436ff7f@x>") == 42
    assert verp.subscriber_signed(7, EMAIL, "40d81165a1d5cf0c")
    assert verp.unsubscribe_signed(7, EMAIL, "e7ee94465b02c351")
    assert verp.delivery_id("news+d43.4abc80af2f@example.org") is None
    assert not verp.unsubscribe_signed(8, EMAIL, "e7ee94465b02c351")


def test_suppression_hashes_keep_their_bytes(rotated):
    current = "06da85dbb125322c4ec30d27f2bdbefede86cc464056112b7447774072a6da2d"
    old = "886864512f78b513405008949db02affdeb3d8a8e9890b91a19d2bbaa2d6b002"
    assert suppression.email_hash(EMAIL) == current
    assert suppression.hash_params(EMAIL) == {"h0": current, "h1": old}


def test_consent_ip_hash_keeps_its_bytes(rotated):
    assert consent._kept_ip("203.0.113.9") == "hmac-sha256:2faafcd230080f625a9eed47b36f62ab"


def test_bounce_webhook_signature_checks_the_same_hmac(rotated):
    good = "sha256=19373ef0e8c66f206e49d251e4402291615bbce6ef00922e94a47a213fb76ee1"
    assert views._signed(b'{"a":1}', "whsec", good)
    assert views._signed(b'{"a":1}', "whsec", f"  {good} ")
    assert not views._signed(b'{"a":2}', "whsec", good)
    assert not views._signed(b'{"a":1}', "whsec", "sha256=\u00e9")
