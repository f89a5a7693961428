"""``newsletter worker [--burst]`` and ``newsletter tick``: the job runtime on the command line."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from . import tick as periodic


@click.command()
@click.option("--burst", is_flag=True, help="Exit when the queues are empty.")
def worker(burst: bool) -> None:
    """Run an RQ worker (same as `python worker.py`)."""
    from .worker import run  # builds its own app, so not under Flask's app context

    raise SystemExit(run(burst=burst))


@click.command()
@with_appcontext
def tick() -> None:
    """Run the periodic chores once (purges, due schedules, stuck batches)."""
    periodic.run_now()
    click.echo("done")


COMMANDS = [worker, tick]
