"""DKIM signing of outgoing mail: the key (:class:`Signer`) and the settings that choose it.

Signing uses dkimpy with two of its steps made fast: the RSA step done by OpenSSL (via
``cryptography``, when installed) and the message split skipping a needless line-by-line
pass. Both produce exactly the bytes dkimpy's own would. Bulk copies go one step further
(:meth:`Signer.sign_parts`): the body hash starts from the state after the leading parts every
copy shares, hashed once per issue (:class:`SharedParts`), and only the headers are parsed; the
signature is still byte for byte dkimpy's, from dkimpy's own folding and canonicalisation.
"""

from __future__ import annotations

import base64
import hashlib
import inspect
import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import dkim

try:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding, rsa, utils
except ImportError:  # pragma: no cover - optional speed-up
    rsa = None  # type: ignore[assignment]

from dkim.canonicalization import Relaxed

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

    def sign_parts(
        self, own: bytes, shared: bytes, body: Sequence[bytes], cache: SharedParts
    ) -> bytes:
        """The ``DKIM-Signature:`` header line(s) for the message made of the header lines
        ``own`` then ``shared`` (each line ending with CRLF), a blank line and the ``body``
        parts: the bytes :meth:`sign` gives for the joined message in the same second, sooner,
        as ``cache`` holds the work the copies of one issue share."""
        if rsa is None:
            return self.sign(own + shared + b"\r\n" + b"".join(body))
        headers = _relaxed(dkim.rfc822_parse(own + b"\r\n")[0]) + cache.headers(shared)
        return self._signature(headers, cache.body_digest(body))

    def _signature(self, headers: list[tuple[bytes, bytes]], body_digest: bytes) -> bytes:
        """dkimpy's ``DKIM.sign`` and ``gen_header`` for our one choice of algorithm,
        canonicalisation and signed headers, given the relaxed headers and the body's hash."""
        domain = self.domain.encode()
        fields = [
            (b"v", b"1"),
            (b"a", b"rsa-sha256"),
            (b"c", b"relaxed/simple"),
            (b"d", domain),
            (b"i", b"@" + domain),
            (b"q", b"dns/txt"),
            (b"s", self.selector.encode()),
            (b"t", str(int(time.time())).encode()),
            (b"h", b" : ".join(_SIGNED_LOWER)),
            (b"bh", base64.b64encode(body_digest)),
            (b"b", b"0" * 60),  # as dkimpy: b= folds onto its own line
        ]
        value = dkim.fold(b"; ".join(b"=".join(f) for f in fields), namelen=len(_NAME))
        value = dkim.RE_BTAG.sub(b"\\1", value)
        ((name, field),) = _relaxed([(_NAME, b" " + value)])
        hasher = hashlib.sha256()
        for name_, field_ in [*_selected(headers), (name, field.rstrip())]:
            hasher.update(name_)
            hasher.update(b":")
            hasher.update(field_)
        signature = _openssl_rsa_sign(hasher, dkim.parse_pem_private_key(self.private_key))
        fields[-1] = (b"b", base64.b64encode(signature))
        value = b"; ".join(b"=".join(f) for f in fields) + b"\r\n"
        return _NAME + b": " + dkim.fold(value, namelen=len(_NAME), linesep=b"\r\n")

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


_NAME = b"DKIM-Signature"
_SIGNED_LOWER = tuple(h.lower() for h in SIGNED_HEADERS)


def _relaxed(headers: Sequence[Sequence[bytes]]) -> list[tuple[bytes, bytes]]:
    return [(name, value) for name, value in Relaxed.canonicalize_headers(headers)]


def _selected(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """dkimpy's ``select_headers`` for our signed headers, over names already in lower case
    (relaxed): for each name, its last field not yet taken."""
    chosen, before = [], {}
    for name in _SIGNED_LOWER:
        i = before.get(name, len(headers))
        while i > 0:
            i -= 1
            if headers[i][0] == name:
                chosen.append(headers[i])
                break
        before[name] = i
    return chosen


class SharedParts:
    """What the copies of one issue share, prepared once for signing them all: their common
    header lines, parsed and canonicalised, and the body hash ("simple" canonical form) up to
    the leading parts every copy shares (the MIME preamble, the text part up to the first line
    with a subscriber's value are the same ``bytes`` objects in every copy). The first copy
    leaves the hash state after each of its parts; each later one starts from the state after
    the longest run of leading parts that are the very objects the first copy had (identity,
    so nothing is compared; the kept parts cannot be freed, so their ids are not reused), and
    hashes only the rest."""

    def __init__(self) -> None:
        # Each set once, in one assignment (threads may share a template).
        self._headers: tuple[bytes, list[tuple[bytes, bytes]]] | None = None
        self._body: tuple[list[bytes], list[hashlib._Hash]] | None = None

    def headers(self, shared: bytes) -> list[tuple[bytes, bytes]]:
        """The header lines ``shared``, relaxed, as dkimpy canonicalises them."""
        known = self._headers
        if known is None or known[0] is not shared:
            known = self._headers = (shared, _relaxed(dkim.rfc822_parse(shared + b"\r\n")[0]))
        return known[1]

    def body_digest(self, body: Sequence[bytes]) -> bytes:
        """The digest of ``body``'s joined parts, as dkimpy's "simple" body hash."""
        last = body[-1] if body else b""
        if not last.endswith(b"\r\n") or last.endswith(b"\r\n\r\n") or last == b"\r\n":
            # Empty lines at the end (or no line end): "simple" changes the end, so as dkimpy.
            joined = dkim.canonicalization.Simple.canonicalize_body(b"".join(body))
            return hashlib.sha256(joined).digest()
        if self._body is None:  # the first copy: keep the state after each part
            hasher, states = hashlib.sha256(), []
            for part in body:
                hasher.update(part)
                states.append(hasher.copy())
            self._body = (list(body), states)
            return hasher.digest()
        known, states = self._body
        shared, limit = 0, min(len(known), len(body))
        while shared < limit and body[shared] is known[shared]:
            shared += 1
        hasher = states[shared - 1].copy() if shared else hashlib.sha256()
        for part in body[shared:]:
            hasher.update(part)
        return hasher.digest()
