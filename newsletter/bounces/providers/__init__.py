"""Bounce and complaint reports from sending providers, at ``POST /webhooks/bounce/<provider>``.

Each provider's module checks a request the way that provider documents (a signature, or
basic auth) and reads its events as :class:`Report` items; :func:`receive` picks the module.
A request that fails the check raises :class:`Unverified` (the view answers 401 and changes
nothing); a provider without its settings raises :class:`NotConfigured` (404). Events we do
not act on (delivered, opened, …) yield no report.

Providers deliver each event at least once: a retry of a webhook we answered too slowly, or a
second delivery of one we answered, carries the event's id again. :func:`first_deliveries`
keeps the ids of the events applied, so a repeat is answered 2xx and counts nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from types import ModuleType
from typing import Any

from sqlalchemy import delete

from ...extensions import db
from ...models import BounceKind, ProviderNonce, utcnow
from ...subscribers.suppression import upsert

EVENTS_KEPT = timedelta(days=7)
"""How long the id of an applied event is kept: longer than any provider retries one we did not
answer 2xx in time (Mailgun for 8 hours, Postmark for about 10, SendGrid for up to 72, SNS
within its delivery policy's hard limit of an hour), so a late retry still finds it."""


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
    event: str = ""  # the provider's id of the event, "" when it gives none


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


def first_deliveries(provider: str, found: list[Report]) -> list[Report]:
    """The reports whose events were not applied before (and those without an id, as always);
    their ids are kept as applied in the caller's transaction, so an event counts as applied
    exactly when its effect is committed. One event may name several recipients (SES)."""
    tokens = {r.event for r in found if r.event}
    if not tokens:
        return found
    new = keep_once(_event_key(provider), tokens)
    return [r for r in found if not r.event or r.event[:_TOKEN_LENGTH] in new]


def keep_once(key: str, tokens: Iterable[str]) -> set[str]:
    """Keep ``tokens`` under ``key`` (a provider's tokens or its event ids); the ones not kept
    before. Of two requests keeping a token at the same moment the database lets one insert it
    (the other's insert waits for that commit, then does nothing), so only one is told it is new.
    """
    rows = [{"provider": key, "token": token[:_TOKEN_LENGTH]} for token in tokens]
    insert = upsert(ProviderNonce.__table__, db.session.get_bind().dialect.name).values(rows)
    kept = insert.on_conflict_do_nothing().returning(ProviderNonce.token)
    return set(db.session.scalars(kept))


def prune() -> None:
    """Forget what cannot come back (the tick's chore): Mailgun's tokens past their window, event
    ids past :data:`EVENTS_KEPT`."""
    from . import mailgun

    mailgun.prune_nonces()
    db.session.execute(
        delete(ProviderNonce).where(
            ProviderNonce.provider.in_([_event_key(name) for name in _modules()]),
            ProviderNonce.seen_at < utcnow() - EVENTS_KEPT,
        )
    )


def load_json(body: bytes) -> Any:
    """The body as JSON; a body that is not JSON proves nothing, so it is :class:`Unverified`."""
    try:
        return json.loads(body)
    except ValueError:
        raise Unverified("the body is not JSON") from None


_TOKEN_LENGTH = 200  # provider_nonce.token; real ids are far shorter


def _event_key(provider: str) -> str:
    """The ``provider_nonce.provider`` of a provider's event ids, apart from its tokens."""
    return f"{provider}-event"


def _modules() -> dict[str, ModuleType]:
    from . import mailgun, postmark, sendgrid, ses

    return {"mailgun": mailgun, "sendgrid": sendgrid, "postmark": postmark, "ses": ses}
