"""The admin's commands: create-admin, lists, import, export, issue create."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask.cli import with_appcontext

from .. import accounts, audit, browse, database, drafts, exporter, importer, issues, queue
from .. import lists as list_service
from ..extensions import db
from ..mail.render import TemplateProblem
from ..models import Issue, SubscriberStatus


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
        admin, created = accounts.set_admin(email, password, timezone)
    except accounts.AccountProblem as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{'Created' if created else 'Updated'} admin {admin.email}.")


@click.group("lists", invoke_without_command=True)
@click.pass_context
@with_appcontext
def lists_group(ctx: click.Context) -> None:
    """Show the mailing lists (or manage them with a subcommand)."""
    if ctx.invoked_subcommand is not None:
        return
    counts = list_service.member_counts()
    # AUDIENCE: the readers a send to the list would reach now (see lists.member_counts).
    rows = [("SLUG", "NAME", "VISIBILITY", "AUDIENCE", "PENDING", "UNSUBSCRIBED")]
    for lst in list_service.all_lists():
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
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


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
        created = list_service.create(slug, name, description, public, default)
    except list_service.ListProblem as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Created list {created.slug}.")


@click.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--list", "slug", required=True, help="Slug of the list to import into.")
@click.option("--confirmed", is_flag=True, help="Readers already consented (needs --note).")
@click.option("--note", default="", help="Where and when the readers gave consent.")
@with_appcontext
def import_command(file: Path, slug: str, confirmed: bool, note: str) -> None:
    """Import readers from a CSV file (email, name, other columns become attributes)."""
    if confirmed and not note.strip():
        raise click.UsageError("--confirmed needs --note saying where the readers consented.")
    try:
        mailing_list = list_service.by_slug(slug)
        with file.open("rb") as fh:
            report = importer.import_csv(
                fh,
                mailing_list.id,
                confirmed=confirmed,
                note=note,
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
        waiter = getattr(queue.backend(), "wait_idle", None)
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


@click.group("issue")
def issue_group() -> None:
    """Write issues from scripts."""


@issue_group.command("create")
@click.option("--subject", required=True)
@click.option("--preheader", default="")
@click.option("--body-file", required=True, type=click.File("r", encoding="utf-8"))
@click.option("--list", "slugs", multiple=True, required=True, help="Target list (repeatable).")
@click.option("--public", is_flag=True, help="Show in the archive and feed once sent.")
@click.option(
    "--publish-private", is_flag=True, help="With --public: publish it although a list is private."
)
@with_appcontext
def issue_create(  # type: ignore[no-untyped-def]
    subject: str,
    preheader: str,
    body_file,
    slugs: tuple[str, ...],
    public: bool,
    publish_private: bool,
):
    """Create a draft issue and print its id."""
    body = body_file.read()
    try:
        list_ids = [list_service.by_slug(s).id for s in slugs]
        issues.compiled(Issue(subject=subject, preheader=preheader, body_md=body))
    except (list_service.ListProblem, TemplateProblem) as exc:
        raise click.ClickException(str(exc)) from None
    try:
        issue = issues.save(
            None,
            subject=subject,
            preheader=preheader,
            body_md=body,
            list_ids=list_ids,
            is_public=public,
            publish_private=publish_private,
        )
    except issues.IssueProblem as exc:
        raise click.UsageError(f"{exc} Add --publish-private if that is meant.") from None
    click.echo(issue.id)


@issue_group.command("delete")
@click.argument("issue_id", type=int)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@with_appcontext
def issue_delete(issue_id: int, yes: bool) -> None:
    """Delete a draft or a scheduled issue (never one that started sending)."""
    if not yes:
        click.confirm(f"Delete issue {issue_id} for good?", abort=True)
    try:
        drafts.delete(issue_id)
    except issues.IssueProblem as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Deleted issue {issue_id}.")


COMMANDS = [create_admin, lists_group, import_command, export_command, issue_group]
