"""Which URLs a webhook may call, and a call that goes only where the check said.

A URL is refused unless it is http(s) and every address its host resolves to is a public one:
loopback, private, link-local, multicast, reserved, unspecified and other non-global
addresses (IPv4 and IPv6, an IPv6 address that carries an IPv4 one judged by it too) are refused
unless ``NEWSLETTER_WEBHOOK_ALLOW_PRIVATE=1``. It is checked when an endpoint is added and
again at every call; the call then connects to the very address that was checked (the Host
header and TLS certificate still name the host), so a DNS answer that changes between the
check and the connection (DNS rebinding) cannot send it elsewhere. Redirects are never
followed: :mod:`http.client` does not follow them, and a 3xx is a failed attempt.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit

from ..errors import NotAllowed

SCHEMES = {"http": 80, "https": 443}


class URLRefused(NotAllowed):
    """The URL may not be called; ``str(exc)`` says why, in words for the owner."""


@dataclass(frozen=True)
class Target:
    """A checked URL: where to connect (``address``) and what to ask for there."""

    scheme: str
    host: str
    port: int
    path: str
    address: str


NAT64 = ipaddress.ip_network("64:ff9b::/96")  # RFC 6052: the last 32 bits are an IPv4 address


def unsafe(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """True for an address a webhook must not reach: anything but a public unicast one. An
    IPv6 address that carries an IPv4 one (mapped, 6to4, NAT64) is judged by that one too:
    where such a route exists, it leads there."""
    if isinstance(ip, ipaddress.IPv6Address):
        carried = ip.ipv4_mapped or ip.sixtofour
        if carried is None and ip in NAT64:
            carried = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if carried is not None and unsafe(carried):
            return True
        if ip.ipv4_mapped is not None:
            return False  # judged as the IPv4 address it is
    return (
        ip.is_loopback
        or ip.is_private
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or not ip.is_global  # shared address space (100.64/10) and the like
    )


def check_url(url: str, allow_private: bool) -> Target:
    """The URL's target if it may be called; :class:`URLRefused` otherwise."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise URLRefused("The URL is not valid.") from None
    if parts.scheme not in SCHEMES or not parts.hostname:
        raise URLRefused("The URL must start with http:// or https:// and name a host.")
    if parts.username or parts.password:
        raise URLRefused("The URL must not carry a user name or password.")
    port = port or SCHEMES[parts.scheme]
    try:
        found = socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise URLRefused(f"The host {parts.hostname} cannot be found.") from None
    addresses = list(dict.fromkeys(info[4][0] for info in found))
    if not allow_private:
        for address in addresses:
            if unsafe(ipaddress.ip_address(address.split("%")[0])):
                raise URLRefused(
                    f"The host {parts.hostname} is on a loopback or private network ({address}); "
                    "set NEWSLETTER_WEBHOOK_ALLOW_PRIVATE=1 to allow such addresses."
                )
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return Target(parts.scheme, parts.hostname, port, path, addresses[0])


class _PinnedHTTP(http.client.HTTPConnection):
    """An HTTP connection to ``address`` for the host it was checked for."""

    def __init__(self, target: Target, timeout: float) -> None:
        super().__init__(target.host, target.port, timeout=timeout)
        self.address = target.address

    def connect(self) -> None:
        self.sock = socket.create_connection((self.address, self.port), self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    """An HTTPS connection to ``address``, the certificate checked against the host's name."""

    def __init__(self, target: Target, timeout: float) -> None:
        super().__init__(
            target.host, target.port, timeout=timeout, context=ssl.create_default_context()
        )
        self.address = target.address

    def connect(self) -> None:
        sock = socket.create_connection((self.address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def post(target: Target, body: bytes, headers: dict[str, str], timeout: float) -> int:
    """POST ``body`` to a checked target; the response's status code (a redirect is returned,
    not followed). Raises OSError (timeouts included) or http.client.HTTPException."""
    kind = _PinnedHTTPS if target.scheme == "https" else _PinnedHTTP
    connection = kind(target, timeout)
    try:
        connection.request("POST", target.path, body=body, headers=headers)
        response = connection.getresponse()
        response.read(64 * 1024)  # the answer is not kept; read a little so the close is clean
        return response.status
    finally:
        connection.close()
