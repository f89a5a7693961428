"""``newsletter import FILE.csv --list SLUG`` and ``newsletter export``: the CSV commands."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask.cli import with_appcontext

from ..accounts import audit
from ..extensions import db
from ..jobs import queues
from ..lists import service as list_service
from ..models import SubscriberStatus
from ..subscribers import browse
from . import exporter, importer


@click.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--list", "slug", required=True, help="Slug of the list to import into.")
@click.option("--confirmed", is_flag=True, help="Readers already consented (needs --note).")
@click.option("--note", default="", help="Where and when the readers gave consent.")
@click.option(
    "--skip-sequence",
    is_flag=True,
    help="With --confirmed: the readers do not get the list's sequence (treated as past "
    "every step it has now).",
)
@with_appcontext
def import_command(file: Path, slug: str, confirmed: bool, note: str, skip_sequence: bool) -> None:
    """Import readers from a CSV file (email, name, other columns become attributes)."""
    if confirmed and not note.strip():
        raise click.UsageError("--confirmed needs --note saying where the readers consented.")
    if skip_sequence and not confirmed:
        raise click.UsageError(
            "--skip-sequence goes with --confirmed: readers asked to confirm start the "
            "sequence when they do."
        )
    try:
        mailing_list = list_service.by_slug(slug)
        with file.open("rb") as fh:
            report = importer.import_csv(
                fh,
                mailing_list.id,
                confirmed=confirmed,
                note=note,
                start_sequence=not skip_sequence,
                progress=lambda r: click.echo(
                    f"\r{r.accepted + r.updated + r.rejected} rows…", nl=False, err=True
                ),
            )
    except (list_service.ListProblem, importer.ImportProblem) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo("", err=True)
    for r in report.rejections:
        click.echo(f"row {r['row']}: {r['email']}: {r['reason']}", err=True)
    click.echo(f"accepted: {report.accepted}")
    click.echo(f"updated: {report.updated}")
    click.echo(f"rejected: {report.rejected}")
    audit.record(
        "import",
        f"{file.name} into list {slug}: accepted {report.accepted}, updated {report.updated}, "
        f"rejected {report.rejected}" + (" (confirmed)" if confirmed else ""),
    )
    db.session.commit()
    browse.index_new_subscribers()
    if not confirmed and report.accepted:
        waiter = getattr(queues.backend(), "wait_idle", None)
        if waiter:  # embedded queue: the confirmation mails go out before we exit
            waiter(timeout=3600)


@click.command("export")
@click.option("--list", "slug", default=None, help="Only this list's members, with status there.")
@click.option(
    "--status", type=click.Choice([s.value for s in SubscriberStatus]), help="Only this status."
)
@with_appcontext
def export_command(slug: str | None, status: str | None) -> None:
    """Write subscribers as CSV to standard output (streamed)."""
    try:
        list_id = list_service.by_slug(slug).id if slug else None
    except list_service.ListProblem as exc:
        raise click.ClickException(str(exc)) from None
    audit.record("export", f"list={slug or 'all'} status={status or 'all'}, by command")
    db.session.commit()
    for chunk in exporter.export_csv(list_id, status):
        sys.stdout.write(chunk)


COMMANDS = [import_command, export_command]
