"""The ``newsletter`` command: ``serve`` plus Flask-Migrate's ``db``; each area adds its own
commands (lists, import, export, issue, send, status, worker and tick from ``jobs``, …)."""

from __future__ import annotations

from typing import Any

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, NoAppException, with_appcontext

from . import config, create_app, database
from .config.rules import ConfigError
from .errors import NotFound
from .jobs import tick


class NewsletterGroup(FlaskGroup):
    """Flask's command group showing only our commands. Flask adds every installed
    extension's plugin commands; Flask-Migrate's ``db`` is ours to document (``newsletter db
    upgrade``), Flask-Limiter's ``limiter`` (its rate-limit storage internals) is left out."""

    LEFT_OUT = frozenset({"limiter"})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return [name for name in super().list_commands(ctx) if name not in self.LEFT_OUT]

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        return None if name in self.LEFT_OUT else super().get_command(ctx, name)

    def invoke(self, ctx: click.Context) -> Any:
        # A service's not-found (no such issue, no such list) is the caller's mistake: one
        # line and exit status 2, as for a wrong argument, never a traceback.
        try:
            return super().invoke(ctx)
        except NotFound as exc:
            raise NoSuchThing(str(exc)) from None


class NoSuchThing(click.ClickException):
    """``Error: no such issue: 7`` and exit status 2 (a usage error's, without the usage)."""

    exit_code = 2


class BadSetting(NoAppException):
    """A setting is refused: one line, ``Error: NEWSLETTER_X must be …``, and exit status 2.
    A NoAppException, so Flask's own loading (``newsletter --help``) shows the line too
    rather than a traceback; shown without the usage text that a UsageError adds."""

    def show(self, file: Any = None) -> None:
        click.ClickException.show(self, file)


def _create_app() -> Flask:
    try:
        return create_app()
    except ConfigError as exc:
        raise BadSetting(str(exc)) from None


@click.group(
    cls=NewsletterGroup,
    create_app=_create_app,
    add_default_commands=False,
    add_version_option=False,  # Flask's prints Python's, Flask's and Werkzeug's, not ours
)
@click.version_option(package_name="newsletter", prog_name="newsletter")
def main() -> None:
    """Self-hosted newsletter and mailing-list manager."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option(
    "--port",
    default=5000,
    show_default=True,
    type=click.IntRange(1, 65535),
    help="Port to listen on.",
)
@click.option("--threads", default=8, show_default=True, type=int, help="Request threads.")
@with_appcontext
def serve(host: str, port: int, threads: int) -> None:
    """Run the web app (and, without Redis, the embedded worker) on the embedded server.
    Applies the migrations first."""
    import logging

    from waitress import create_server

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    database.upgrade()
    logging.basicConfig()  # as waitress.serve does: its warnings reach the terminal
    try:
        # Bound before anything is said or started: a port in use is one line, not a
        # traceback after "running at".
        server = create_server(app, host=host, port=port, threads=threads, ident="newsletter")
    except OSError as exc:
        raise click.ClickException(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}"
        ) from None
    tick.start_ticker(app)
    url = _local_url(host, port)
    unset = app.config["BASE_URL"] == config.DEFAULTS["BASE_URL"]
    if unset:
        # Links in mails must reach this server; without NEWSLETTER_BASE_URL, use where we are.
        app.config["BASE_URL"] = url
    click.echo(f"newsletter is running at {url}/")
    click.echo(f"  links in mails point to {app.config['BASE_URL']}/ (NEWSLETTER_BASE_URL)")
    if unset and host in ANY_ADDRESS:
        click.echo(
            "  set NEWSLETTER_BASE_URL to the address readers open: links to 127.0.0.1 "
            "work on this machine only"
        )
    elif unset and url != config.DEFAULTS["BASE_URL"]:
        # Without Redis, `newsletter send` is the worker of its own send and writes the links
        # with its own settings, which know nothing of this --port.
        click.echo(
            f"  export NEWSLETTER_BASE_URL={url} for the other commands too "
            "(`newsletter send` writes the links of what it sends)"
        )
    click.echo(f"  database: {_safe_url(app.config['SQLALCHEMY_DATABASE_URI'])}")
    click.echo(
        "  queue:    "
        + ("Redis (run `python worker.py`)" if app.config["REDIS_URL"] else "embedded")
    )
    click.echo(
        "  mail:     "
        + ("SMTP" if app.config["SMTP_URL"] else f"outbox {app.config['OUTBOX_DIR']}")
    )
    _admin_hint()
    server.run()


ANY_ADDRESS = frozenset({"0.0.0.0", "::", ""})  # noqa: S104 (recognised, not bound)


def _local_url(host: str, port: int) -> str:
    """Where a browser on this machine reaches the server: a wildcard address is no place to
    open (nor to put in a mail's links), and an IPv6 address goes in brackets."""
    if host in ANY_ADDRESS:
        host = "127.0.0.1"
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def _safe_url(url: str) -> str:
    """A database URL with any password hidden (secrets are never printed)."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def _admin_hint() -> None:
    from .extensions import db
    from .models import AdminUser

    if db.session.query(AdminUser.id).first() is None:
        click.echo(
            "  admin:    none yet; create one with `newsletter create-admin you@example.org`"
        )
    else:
        click.echo(f"  admin:    log in at {current_app.config['BASE_URL']}/admin/login")


from .bounces.commands import bounces  # noqa: E402
from .subscribers.commands import erase_subscriber, export_subscriber  # noqa: E402

main.add_command(bounces)
main.add_command(export_subscriber)
main.add_command(erase_subscriber)

from .accounts.commands import api_token_group, create_admin, reset_two_factor  # noqa: E402
from .issues.commands import issue_group  # noqa: E402
from .lists.commands import lists_group  # noqa: E402

main.add_command(create_admin)
main.add_command(reset_two_factor)
main.add_command(api_token_group)
main.add_command(issue_group)
main.add_command(lists_group)

from .delivery.commands import COMMANDS as DELIVERY_COMMANDS  # noqa: E402

for _command in DELIVERY_COMMANDS:
    main.add_command(_command)

from .jobs.commands import COMMANDS as JOB_COMMANDS  # noqa: E402

for _command in JOB_COMMANDS:
    main.add_command(_command)

from .imports.commands import COMMANDS as IMPORT_COMMANDS  # noqa: E402

for _command in IMPORT_COMMANDS:
    main.add_command(_command)

from .webhooks.commands import webhooks_group  # noqa: E402

main.add_command(webhooks_group)

from .segments.commands import segments_group  # noqa: E402

main.add_command(segments_group)

from .sequences.commands import sequences_group  # noqa: E402

main.add_command(sequences_group)
