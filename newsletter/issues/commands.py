"""``newsletter issue create|delete``: write and delete issues from scripts."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from ..lists import service as lists
from ..mail.render import TemplateProblem
from ..models import Issue
from ..segments import service as segments
from . import drafts, preview, service


@click.group("issue")
def issue_group() -> None:
    """Write issues from scripts."""


@issue_group.command("create")
@click.option("--subject", required=True, help="The subject line, the same for every reader.")
@click.option("--preheader", default="", help="The preview line mail programs show after it.")
@click.option(
    "--body-file",
    required=True,
    type=click.File("r", encoding="utf-8"),
    help="Markdown body, with {{ subscriber.name }}-style personalisation ('-': stdin).",
)
@click.option("--list", "slugs", multiple=True, help="Target list (repeatable).")
@click.option(
    "--segment",
    "segment_name",
    help="Only subscribers in this segment (with --list: those on the lists who match).",
)
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
    segment_name: str | None,
    public: bool,
    publish_private: bool,
):
    """Create a draft issue and print its id. It goes to its lists, its segment, or both
    (the subscribers on the lists who match the segment)."""
    if not slugs and segment_name is None:
        raise click.UsageError("Give --list, --segment or both: whom the issue goes to.")
    # An unknown --list or --segment is a NotFound: the command group reports it (exit 2).
    body = body_file.read()
    segment_id = segments.by_name(segment_name).id if segment_name is not None else None
    try:
        list_ids = [lists.by_slug(s).id for s in slugs]
        preview.compiled(Issue(subject=subject, preheader=preheader, body_md=body))
    except TemplateProblem as exc:
        raise click.ClickException(str(exc)) from None
    try:
        issue = service.save(
            None,
            subject=subject,
            preheader=preheader,
            body_md=body,
            list_ids=list_ids,
            is_public=public,
            publish_private=publish_private,
            segment_id=segment_id,
        )
    except service.IssueProblem as exc:
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
    except service.IssueProblem as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Deleted issue {issue_id}.")
