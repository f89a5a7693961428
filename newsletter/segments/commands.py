"""``newsletter segments``: create, list, count and delete segments from the shell."""

from __future__ import annotations

import json
from typing import Any

import click
from flask.cli import with_appcontext

from ..cli_table import echo_table
from ..errors import NotAllowed
from ..lists import service as lists
from . import service

RULES_HELP = (
    "The rules as JSON: a group such as "
    '\'{"all": [{"field": "attributes.city", "op": "eq", "value": "Oslo"}]}\'. '
    "Fields: list, status, email, name, attributes.KEY, signed_up_at, confirmed_at; "
    "ops: eq, ne, contains, in, exists, and for dates before, after (YYYY-MM-DD), "
    'within_days; groups "all" and "any" nest freely.'
)


class Refused(click.ClickException):
    """``Error: …`` on one line and exit status 2, as for a wrong argument; nothing saved."""

    exit_code = 2


@click.group("segments")
def segments_group() -> None:
    """Manage segments: named, saved filters over subscribers that an issue can target."""


@segments_group.command("create")
@click.argument("name")
@click.option("--list", "slug", metavar="SLUG", help="Only members of this list (ANDed).")
@click.option("--rules", "rules_json", required=True, metavar="JSON", help=RULES_HELP)
@with_appcontext
def segments_create(name: str, slug: str | None, rules_json: str) -> None:
    """Save a segment named NAME; prints its id alone."""
    rules = _parse(rules_json)
    if slug is not None:
        lists.by_slug(slug)  # an unknown list: "no such list", exit 2
        rules = {"all": [{"field": "list", "op": "eq", "value": slug}, rules]}
    try:
        segment = service.create(name, rules)
    except (service.RuleError, service.NameProblem) as exc:
        raise Refused(str(exc)) from None
    click.echo(segment.id)


@segments_group.command("list")
@with_appcontext
def segments_list() -> None:
    """Show every segment: id, name and how many subscribers it matches now."""
    rows = [("ID", "NAME", "COUNT")]
    for segment in service.all_segments():
        rows.append((str(segment.id), segment.name, str(service.count_saved(segment.id))))
    echo_table(rows)


@segments_group.command("count")
@click.argument("name")
@with_appcontext
def segments_count(name: str) -> None:
    """Print how many subscribers the segment NAME matches now, alone."""
    click.echo(service.count_saved(service.by_name(name).id))


@segments_group.command("delete")
@click.argument("name")
@with_appcontext
def segments_delete(name: str) -> None:
    """Delete the segment NAME (refused while an issue not yet sent targets it)."""
    try:
        service.delete(service.by_name(name).id)
    except NotAllowed as exc:
        raise Refused(str(exc)) from None
    click.echo(f"Deleted segment {name}.")


def _parse(rules_json: str) -> Any:
    try:
        return json.loads(rules_json)
    except (ValueError, RecursionError) as exc:
        raise Refused(f"--rules is not valid JSON: {exc}") from None
