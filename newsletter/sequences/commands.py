"""``newsletter sequences add-step|status|pause|resume|catch-up|welcome``: a list's sequence
from the command line (the same service functions as the admin and the API)."""

from __future__ import annotations

import json
from pathlib import Path

import click
from flask.cli import with_appcontext

from . import service


def _delay(ctx: click.Context, param: click.Parameter, value: str | None) -> int | None:
    """``--after`` as seconds; a bad delay is a usage error (exit status 2)."""
    if value is None:
        return None
    try:
        return service.parse_delay(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def _refused(exc: ValueError) -> click.ClickException:
    """A step the service refused (no subject, a broken expression): one line, exit 1."""
    return click.ClickException(str(exc))


@click.group("sequences")
def sequences_group() -> None:
    """A list's sequence: mails sent a delay after each reader confirmed (welcome series)."""


@sequences_group.command("add-step")
@click.option("--list", "slug", required=True, help="The list whose sequence gets the step.")
@click.option("--subject", required=True, help="The step's subject.")
@click.option(
    "--body-file",
    required=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Markdown body (the same personalisation as issues).",
)
@click.option(
    "--after", required=True, callback=_delay, help="Delay after confirming: 0m, 90m, 3h, 2d."
)
@click.option("--catch-up", is_flag=True, help="Send it to readers already past the delay too.")
@with_appcontext
def add_step_command(slug: str, subject: str, body_file: Path, after: int, catch_up: bool) -> None:
    """Add a step at the end of the list's sequence; prints its id."""
    body = body_file.read_text(encoding="utf-8")
    try:
        step = service.add_step(slug, subject, body, after, catch_up=catch_up)
    except ValueError as exc:
        raise _refused(exc) from None
    click.echo(step.id)


@sequences_group.command("status")
@click.option("--list", "slug", required=True, help="The list whose sequence to show.")
@click.option("--json", "as_json", is_flag=True, help="One JSON list of objects, one per step.")
@with_appcontext
def status_command(slug: str, as_json: bool) -> None:
    """One line per step: its id, position, delay, the counts sent, due, skipped, failed
    and unknown, and its subject."""
    progress = service.steps(slug)
    if as_json:
        click.echo(json.dumps([p.as_dict() for p in progress]))
        return
    for p in progress:
        click.echo(
            f"step {p.id} (#{p.position}, after {service.format_delay(p.after_seconds)}): "
            f"sent: {p.sent}  due: {p.due}  skipped: {p.skipped}  failed: {p.failed}  "
            f"unknown: {p.unknown}  {p.subject}"
        )


@sequences_group.command("pause")
@click.option("--list", "slug", required=True, help="The list whose sequence to pause.")
@with_appcontext
def pause_command(slug: str) -> None:
    """Stop sending the list's steps until resumed."""
    service.pause(slug)
    click.echo(f"The sequence of {slug} is paused.")


@sequences_group.command("resume")
@click.option("--list", "slug", required=True, help="The list whose sequence to resume.")
@with_appcontext
def resume_command(slug: str) -> None:
    """Carry on with the list's sequence; what came due meanwhile goes out now."""
    service.resume(slug)
    click.echo(f"The sequence of {slug} runs again.")


@sequences_group.command("catch-up")
@click.argument("step_id", type=int)
@click.confirmation_option(prompt="Send this step to every reader already past its delay?")
@with_appcontext
def catch_up_command(step_id: int) -> None:
    """Send a step to the list's readers already past its delay too (asks first)."""
    service.catch_up(step_id)
    click.echo(f"Step {step_id} will reach every confirmed reader of its list.")


@sequences_group.command("welcome")
@click.option("--list", "slug", required=True, help="The list.")
@click.argument("state", type=click.Choice(["on", "off"]))
@with_appcontext
def welcome_command(slug: str, state: str) -> None:
    """Turn the built-in welcome mail (step 0) on or off for the list."""
    service.set_welcome(slug, state == "on")
    click.echo(f"The built-in welcome mail of {slug} is {state}.")
