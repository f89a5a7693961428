"""``newsletter export-subscriber EMAIL`` and ``newsletter erase EMAIL``: a subscriber's rights
(GDPR Art. 15, 17, 20) for requests that arrive by post or phone rather than by link."""

from __future__ import annotations

import json

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from ..accounts import audit
from ..extensions import db
from ..models import Subscriber
from .addresses import InvalidAddress, normalise_address
from .service import erase, export_data


def _subscriber_at(address: str) -> Subscriber:
    try:
        stored = normalise_address(address)
    except InvalidAddress as exc:
        raise click.ClickException(str(exc)) from None
    # Stored in the same form (lowercased whole), so however the letter spelled it, a plain
    # comparison on the unique index finds the subscriber.
    subscriber = db.session.scalar(select(Subscriber).where(Subscriber.email == stored))
    if subscriber is None:
        raise click.ClickException(f"no reader with the address {stored}")
    return subscriber


@click.command("export-subscriber")
@click.argument("address")
@with_appcontext
def export_subscriber(address: str) -> None:
    """Print everything stored about the reader at ADDRESS, as JSON."""
    subscriber = _subscriber_at(address)
    data = export_data(subscriber.id)
    audit.record("subscriber.export", f"subscriber {subscriber.id}, by command")
    db.session.commit()
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


@click.command("erase")
@click.argument("address")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@with_appcontext
def erase_subscriber(address: str, yes: bool) -> None:
    """Delete the reader at ADDRESS and everything about them; only a salted hash stays."""
    subscriber = _subscriber_at(address)
    if not yes:
        click.confirm(f"Erase {subscriber.email} and everything stored about them?", abort=True)
    subscriber_id = subscriber.id
    # The entry names the row, not the address: an erasure must not leave the address behind.
    audit.record("subscriber.erase", f"subscriber {subscriber_id}, by command")
    erase(subscriber_id)
    click.echo(f"erased subscriber {subscriber_id}; only a salted hash of the address is kept")
