"""``newsletter create-admin`` (make an admin, or reset one's password or role),
``newsletter reset-2fa`` and ``newsletter api-token create|list|revoke``."""

from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext

from .. import database
from ..cli_table import echo_table
from ..models import Role
from . import admins, api_tokens, service, two_factor

ROLE_CHOICE = click.Choice([r.value for r in Role])


@click.command("create-admin")
@click.argument("email")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.option("--timezone", default="UTC", show_default=True, help="IANA zone for schedules.")
@click.option(
    "--role",
    type=ROLE_CHOICE,
    default=None,
    help="owner (the default for a new admin), editor or viewer; given for an existing admin, "
    "changes their role.",
)
@with_appcontext
def create_admin(email: str, password_stdin: bool, timezone: str, role: str | None) -> None:
    """Create an admin account (or reset its password)."""
    database.upgrade()  # often the very first command run on a new installation
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        admin, created = service.set_admin(email, password, timezone, Role(role) if role else None)
    except (service.AccountProblem, admins.LastOwner) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{'Created' if created else 'Updated'} admin {admin.email} ({admin.role}).")


@click.command("reset-2fa")
@click.argument("email")
@with_appcontext
def reset_two_factor(email: str) -> None:
    """Turn an admin's two-factor sign-in off (a lost phone, and no owner left to do it in
    the admin): they log in with the password alone, then set it up again."""
    admin = admins.get_by_email(email)  # NoSuchAdmin: one line, exit 2
    two_factor.reset(admin)
    click.echo(f"Two-factor sign-in is off for {admin.email}; they log in with the password.")


@click.group("api-token")
def api_token_group() -> None:
    """Manage the REST API's tokens."""


@api_token_group.command("create")
@click.argument("name")
@click.option("--role", type=ROLE_CHOICE, default=Role.VIEWER.value, show_default=True)
@with_appcontext
def api_token_create(name: str, role: str) -> None:
    """Make a token; it is printed once, alone on the last line, and never again."""
    try:
        token = api_tokens.create(name, Role(role))
    except api_tokens.TokenProblem as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Created API token {name!r} ({role}). Keep it now: it is not shown again.")
    click.echo(token)


@api_token_group.command("list")
@with_appcontext
def api_token_list() -> None:
    """Show every token's name, role and when it was last used."""
    rows = [("NAME", "ROLE", "LAST USED")]
    for token in api_tokens.listed():
        used = token.last_used_at.strftime("%Y-%m-%d %H:%M UTC") if token.last_used_at else "never"
        rows.append((token.name, str(token.role), used))
    echo_table(rows)


@api_token_group.command("revoke")
@click.argument("name")
@with_appcontext
def api_token_revoke(name: str) -> None:
    """Delete a token: calls made with it are refused from now on."""
    api_tokens.revoke(name)  # NoSuchToken: one line, exit 2 (the group's not-found rule)
    click.echo(f"Revoked API token {name!r}.")
