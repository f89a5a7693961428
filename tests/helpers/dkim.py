"""A DKIM key for the tests and the DNS answer that publishes it, as dkimpy asks for it."""

from __future__ import annotations

import base64
import inspect

import dkim
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

SELECTOR = "mail2026"


@pytest.fixture
def dkim_key(tmp_path):
    """A fresh RSA key on disk and the DNS TXT record that publishes it."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = tmp_path / "dkim.pem"
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    record = b"v=DKIM1; k=rsa; p=" + base64.b64encode(public)
    return path, record


def verifies(data: bytes, record: bytes, domain: str = "example.org") -> bool:
    """Whether ``data`` carries a DKIM signature that a receiver running plain dkimpy accepts
    with ``record`` published for our selector (our signer splits messages its own way, so
    dkimpy's own parser is put back for the check)."""

    def dns(name, timeout=5):
        assert name == f"{SELECTOR}._domainkey.{domain}.".encode()
        return record

    patched, dkim.rfc822_parse = dkim.rfc822_parse, inspect.unwrap(dkim.rfc822_parse)
    try:
        return dkim.verify(data, dnsfunc=dns)
    finally:
        dkim.rfc822_parse = patched
