"""Bounce and complaint reports from sending providers, at ``POST /webhooks/bounce/<provider>``.

Each provider's module checks a request the way that provider documents (a signature, or
basic auth) and reads its events as :class:`Report` items; :func:`receive` picks the module.
A request that fails the check raises :class:`Unverified` (the view answers 401 and changes
nothing); a provider without its settings raises :class:`NotConfigured` (404). Events we do
not act on (delivered, opened, …) yield no report.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from ...models import BounceKind


class Unverified(Exception):
    """The request does not prove it comes from the provider."""


class NotConfigured(Exception):
    """The provider's settings are empty, or no such provider: its endpoint does not exist."""


@dataclass(frozen=True)
class Report:
    """One recipient a provider says bounced or complained, with the provider's words."""

    email: str
    kind: BounceKind
    reason: str


@dataclass(frozen=True)
class Request:
    """What a provider's check reads of the HTTP request."""

    body: bytes
    headers: Mapping[str, str]
    username: str | None = None
    password: str | None = None


def receive(provider: str, request: Request) -> list[Report]:
    """Verify ``request`` as ``provider``'s and return the bounces and complaints it reports."""
    module = _modules().get(provider)
    if module is None or not module.configured():
        raise NotConfigured(provider)
    return module.reports(request)


def load_json(body: bytes) -> Any:
    """The body as JSON; a body that is not JSON proves nothing, so it is :class:`Unverified`."""
    try:
        return json.loads(body)
    except ValueError:
        raise Unverified("the body is not JSON") from None


def _modules() -> dict[str, ModuleType]:
    from . import mailgun, postmark, sendgrid, ses

    return {"mailgun": mailgun, "sendgrid": sendgrid, "postmark": postmark, "ses": ses}
