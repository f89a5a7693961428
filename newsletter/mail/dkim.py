"""DKIM signing of outgoing mail: the key (:class:`Signer`) and the settings that choose it.

Signing uses dkimpy with two of its steps made fast: the RSA step done by OpenSSL (via
``cryptography``, when installed) and the message split skipping a needless line-by-line
pass. Both produce exactly the bytes dkimpy's own would.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import dkim

try:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding, rsa, utils
except ImportError:  # pragma: no cover - optional speed-up
    rsa = None  # type: ignore[assignment]

from .message import domain_of

# Headers the DKIM signature covers (RFC 8058 asks for both List-Unsubscribe headers).
SIGNED_HEADERS = [
    b"From", b"To", b"Subject", b"Date", b"Message-ID", b"MIME-Version", b"Content-Type",
    b"List-Id", b"List-Unsubscribe", b"List-Unsubscribe-Post",
]  # fmt: skip


def _openssl_rsa_sign(digest, private_key: dict[str, int]) -> bytes:  # type: ignore[no-untyped-def]
    """dkimpy's RSASSA-PKCS1-v1_5 step computed by OpenSSL: dkimpy's pure-Python RSA takes
    ~27 ms per signature, which would cap a worker near 40 messages/s. PKCS#1 v1.5 signatures
    are deterministic, so the bytes are exactly those dkimpy would produce."""
    key = _openssl_key(tuple(private_key[name] for name in _RSA_FIELDS))
    algorithm = hashes.SHA256() if digest.name.lower() == "sha256" else hashes.SHA1()  # noqa: S303
    return key.sign(digest.digest(), padding.PKCS1v15(), utils.Prehashed(algorithm))


_RSA_FIELDS = (
    "prime1", "prime2", "privateExponent", "exponent1", "exponent2", "coefficient",
    "publicExponent", "modulus",
)  # fmt: skip


@lru_cache(maxsize=8)
def _openssl_key(numbers: tuple[int, ...]) -> rsa.RSAPrivateKey:
    p, q, d, dmp1, dmq1, iqmp, e, n = numbers
    public = rsa.RSAPublicNumbers(e, n)
    return rsa.RSAPrivateNumbers(p, q, d, dmp1, dmq1, iqmp, public).private_key()


if rsa is not None:  # without the optional `cryptography`, dkimpy's own (slow) RSA signs
    dkim.RSASSA_PKCS1_v1_5_sign = _openssl_rsa_sign
# dkimpy parses the PEM key again for every signature (0.2 ms of a 1.5 ms signature); the
# parsed key is only read, so one parse per key serves them all.
dkim.parse_pem_private_key = lru_cache(maxsize=8)(inspect.unwrap(dkim.parse_pem_private_key))
_rfc822_parse = inspect.unwrap(dkim.rfc822_parse)


def _parse_crlf_message(message: bytes) -> tuple[list[list[bytes]], bytes]:
    """dkimpy's split of a message into headers and body, without cutting a CRLF-only
    message's ~30 KB body into lines and joining them again (0.4 ms per signature): for such
    a message the body it returns is exactly the bytes after the blank line. Any other
    message goes to dkimpy's own."""
    end = message.find(b"\r\n\r\n")
    if end < 0 or message.startswith(b"\r\n") or message.count(b"\n") != message.count(b"\r\n"):
        return _rfc822_parse(message)
    headers, _ = _rfc822_parse(message[: end + 4])
    return headers, message[end + 4 :]


_parse_crlf_message.__wrapped__ = _rfc822_parse  # type: ignore[attr-defined]
dkim.rfc822_parse = _parse_crlf_message


@dataclass(frozen=True)
class Signer:
    """A DKIM key: ``d=`` domain, ``s=`` selector and the PEM private key."""

    domain: str
    selector: str
    private_key: bytes

    @classmethod
    def from_files(cls, key_file: str, selector: str, sender: str) -> Signer:
        """The signer for mail from ``sender``, keyed by ``NEWSLETTER_DKIM_KEY_FILE``."""
        return cls(domain_of(sender), selector, Path(key_file).read_bytes())

    def sign(self, message: bytes) -> bytes:
        """The ``DKIM-Signature:`` header line(s) for ``message``."""
        return dkim.sign(
            message,
            self.selector.encode(),
            self.domain.encode(),
            self.private_key,
            include_headers=SIGNED_HEADERS,
            canonicalize=(b"relaxed", b"simple"),
            linesep=b"\r\n",
        )


def signer_for(key_file: str | None, selector: str | None, sender: str) -> Signer | None:
    """The signer the settings ask for (``NEWSLETTER_DKIM_KEY_FILE`` and
    ``NEWSLETTER_DKIM_SELECTOR``), or None when DKIM is not configured."""
    return Signer.from_files(key_file, selector, sender) if key_file and selector else None
