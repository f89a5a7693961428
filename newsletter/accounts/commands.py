"""``newsletter create-admin``: make the first admin account, or reset one's password."""

from __future__ import annotations

import sys

import click
from flask.cli import with_appcontext

from .. import database
from . import service


@click.command("create-admin")
@click.argument("email")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.option("--timezone", default="UTC", show_default=True, help="IANA zone for schedules.")
@with_appcontext
def create_admin(email: str, password_stdin: bool, timezone: str) -> None:
    """Create an admin account (or reset its password)."""
    database.upgrade()  # often the very first command run on a new installation
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        admin, created = service.set_admin(email, password, timezone)
    except service.AccountProblem as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{'Created' if created else 'Updated'} admin {admin.email}.")
