"""``newsletter lists`` (the lists with their counts) and ``newsletter lists create``."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from ..cli_table import echo_table
from . import service


@click.group("lists", invoke_without_command=True)
@click.pass_context
@with_appcontext
def lists_group(ctx: click.Context) -> None:
    """Show the mailing lists (or manage them with a subcommand)."""
    if ctx.invoked_subcommand is not None:
        return
    counts = service.member_counts()
    # AUDIENCE: the subscribers a send to the list would reach now (see service.member_counts).
    rows = [("SLUG", "NAME", "VISIBILITY", "AUDIENCE", "PENDING", "UNSUBSCRIBED")]
    for lst in service.all_lists():
        c = counts.get(lst.id, {})
        visibility = "public" if lst.is_public else "private"
        if lst.is_default:
            visibility += ",default"
        if lst.archived_at:
            visibility += ",archived"
        rows.append(
            (
                lst.slug,
                lst.name,
                visibility,
                str(c.get("audience", 0)),
                str(c.get("pending", 0)),
                str(c.get("unsubscribed", 0)),
            )
        )
    echo_table(rows)


@lists_group.command("create")
@click.argument("slug")
@click.option("--name", required=True, help="The list's name as readers see it.")
@click.option("--description", default="", help="One line on what the list is about.")
@click.option("--public", is_flag=True, help="Offer the list on the public signup form.")
@click.option("--default", is_flag=True, help="Joined by a signup naming no list (needs --public).")
@with_appcontext
def lists_create(slug: str, name: str, description: str, public: bool, default: bool) -> None:
    """Create a list."""
    try:
        created = service.create(slug, name, description, public, default)
    except service.ListProblem as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Created list {created.slug}.")
