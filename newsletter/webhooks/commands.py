"""``newsletter webhooks``: add, list and remove the endpoints our events are sent to."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from . import service


class Refused(click.ClickException):
    """``Error: …`` on one line and exit status 2, as for a wrong argument."""

    exit_code = 2


@click.group("webhooks")
def webhooks_group() -> None:
    """Manage the webhook endpoints other systems receive our events at."""


@webhooks_group.command("add")
@click.argument("url")
@click.option(
    "--events",
    required=True,
    help=f"Comma-separated events to send: {', '.join(service.EVENTS)}.",
)
@click.option("--description", default="", help="What the endpoint is for (shown in the admin).")
@with_appcontext
def webhooks_add(url: str, events: str, description: str) -> None:
    """Add an endpoint; prints its id and the secret its requests are signed with."""
    try:
        endpoint = service.add(url, events, description)
    except service.EndpointProblem as exc:
        raise Refused(str(exc)) from None
    click.echo(f"id: {endpoint.id}")
    click.echo(f"secret: {endpoint.secret}")


@webhooks_group.command("list")
@with_appcontext
def webhooks_list() -> None:
    """Show every endpoint: id, URL, events, enabled or disabled."""
    for endpoint in service.listed():
        state = "disabled" if endpoint.disabled_at else "enabled"
        click.echo(f"{endpoint.id}\t{endpoint.url}\t{','.join(endpoint.events)}\t{state}")


@webhooks_group.command("remove")
@click.argument("endpoint_id", metavar="ID", type=int)
@with_appcontext
def webhooks_remove(endpoint_id: int) -> None:
    """Remove an endpoint and its delivery log; nothing more is sent to it."""
    service.remove(endpoint_id)
    click.echo(f"Removed webhook endpoint {endpoint_id}.")
