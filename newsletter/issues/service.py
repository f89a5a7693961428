"""Issues before they are sent: drafts, previews, test sends, scheduling; the issue lists
the admin and the archive show.

Sending itself (fan-out, batches, progress) belongs to ``newsletter.delivery``; this module
only hands an issue over to it. Previews and test sends are in ``issues.preview``, deleting
and copying drafts in ``issues.drafts``.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from .. import database
from ..accounts import audit
from ..database import edit_stamp as edit_stamp  # compose's hidden field
from ..delivery import fanout, state
from ..errors import EditConflict as EditConflict  # callers catch issues.EditConflict
from ..errors import NotAllowed, NotFound
from ..extensions import db
from ..jobs import queues, writer
from ..mail.render import TemplateProblem
from ..models import Issue, IssueKind, IssueStatus, MailingList, Segment, utcnow
from .preview import compiled, send_test

EDITABLE = (IssueStatus.DRAFT, IssueStatus.SCHEDULED)

# A draft begun in compose holds this plus its page's key as its slug until it is scheduled or
# sent (see :func:`save`); only then does it need its archive address.
DRAFT_SLUG_PREFIX = "draft-"

# What a save writes, in ``_fill``'s order after the issue.
_Content = tuple[str, str, str, list[MailingList], bool, int | None]


class IssueProblem(ValueError):
    """The issue cannot be changed or sent as asked; ``str(exc)`` says why, ``field`` names
    the form field it is about when it is about one."""

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.field = field


class IssueLocked(IssueProblem, NotAllowed):
    """The issue has started sending (or was sent): it can no longer change, be scheduled,
    sent again or deleted."""


class NoSuchIssue(NotFound):
    """There is no issue with that id."""

    def __init__(self, issue_id: int) -> None:
        super().__init__(f"no such issue: {issue_id}")


def get(issue_id: int) -> Issue:
    """The issue with this id, or :class:`NoSuchIssue`."""
    issue = db.session.get(Issue, issue_id)
    if issue is None:
        raise NoSuchIssue(issue_id)
    return issue


def slugify(text: str) -> str:
    """A URL-safe slug: ASCII letters, digits and dashes."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:80] or "issue"


def save(
    issue_id: int | None,
    *,
    subject: str,
    preheader: str = "",
    body_md: str = "",
    list_ids: list[int] | None = None,
    is_public: bool = False,
    publish_private: bool = False,
    admin_id: int | None = None,
    draft_key: str = "",
    segment_id: int | None = None,
    edited_from: str = "",
) -> Issue:
    """Create a draft (``issue_id`` None) or change one that has not started sending.

    ``edited_from`` is the edit stamp the admin's form was opened on: if the issue was saved
    since, :class:`EditConflict` and nothing changes ("" skips the check).

    ``segment_id`` narrows the audience to the subscribers matching that segment (with lists,
    those on the lists who match; see ``delivery.fanout.audience``); None: the lists alone.

    ``draft_key`` names the compose page a new draft comes from: every save from that page
    updates the one draft it created, even a second save sent before the first one answered.
    A public issue for private lists is refused unless ``publish_private`` says it is meant.
    """
    wanted = set(list_ids or [])
    chosen = (
        list(db.session.scalars(select(MailingList).where(MailingList.id.in_(wanted))))
        if wanted
        else []
    )
    private = private_names(chosen)
    if is_public and private and not publish_private:
        raise IssueProblem(
            f"{', '.join(private)} {'is a private list' if len(private) == 1 else 'are private'}"
            ": once sent, a public issue is shown to everyone in the archive, the feed and on "
            "the home page.",
            field="publish_private",
        )
    # Also what the database's refusal means: a segment deleted since this check.
    gone = IssueProblem(f"There is no segment {segment_id}.", field="segment_id")
    if segment_id is not None and db.session.get(Segment, segment_id) is None:
        raise gone
    content = (subject, preheader, body_md, chosen, is_public, segment_id)
    if issue_id is None and draft_key:
        return _save_keyed(draft_key, content, admin_id)
    if issue_id is None:
        with database.unique_or(gone):
            issue = Issue(created_by_id=admin_id)
            db.session.add(issue)
            _fill(issue, *content)
            db.session.commit()
        return issue
    with writer.turn(), database.unique_or(gone):
        try:
            issue = _editable(issue_id, edited_from)
        except (IssueProblem, EditConflict):
            db.session.rollback()  # ends the turn's write transaction too
            raise
        _fill(issue, *content)
        db.session.commit()
    return issue


def _save_keyed(key: str, content: _Content, admin_id: int | None) -> Issue:
    # The key is the draft's slug until it is scheduled or sent, and slugs are unique: of two
    # saves racing to create it, the database lets one insert and the other then finds it.
    slug = DRAFT_SLUG_PREFIX + key
    for _attempt in range(2):
        with writer.turn():
            try:
                found = db.session.scalar(select(Issue.id).where(Issue.slug == slug))
                issue = _editable(found) if found else Issue(created_by_id=admin_id, slug=slug)
                db.session.add(issue)
                _fill(issue, *content)
                db.session.commit()
                return issue
            except IntegrityError:
                db.session.rollback()
    raise IssueProblem("This draft was just saved from another request; save again.")


def _editable(issue_id: int, edited_from: str = "") -> Issue:
    issue = for_edit(issue_id, edited_from)
    if issue.status not in EDITABLE:
        raise IssueLocked(f"This issue is {issue.status.value}; it can no longer change.")
    return issue


def for_edit(issue_id: int, edited_from: str = "", what: str = "issue") -> Issue:
    """The issue locked, if still as its edit form was opened (``database.for_edit``)."""
    issue = database.for_edit(Issue, issue_id, edited_from, what)
    if issue is None:
        raise NoSuchIssue(issue_id)
    return issue


def _fill(
    issue: Issue,
    subject: str,
    preheader: str,
    body_md: str,
    chosen: list[MailingList],
    is_public: bool,
    segment_id: int | None,
) -> None:
    issue.subject = subject.strip()[:300] or "Untitled"
    issue.preheader = preheader.strip()[:300]
    issue.body_md = body_md
    issue.is_public = is_public
    issue.lists = chosen
    issue.segment_id = segment_id
    issue.updated_at = utcnow()  # a new edit stamp, even when only its lists changed
    db.session.flush()
    if not (issue.slug or "").startswith(DRAFT_SLUG_PREFIX):
        issue.slug = archive_slug(issue)


def archive_slug(issue: Issue) -> str:
    """The issue's address in the archive: its id, then its subject."""
    return f"{issue.id}-{slugify(issue.subject)}"


def private_names(lists: list[MailingList]) -> list[str]:
    """The names of the private lists among ``lists``."""
    return [lst.name for lst in lists if not lst.is_public]


def queue_test(issue_id: int, address: str) -> None:
    """Check the issue renders, then queue a test mail to ``address`` (transactional queue)."""
    issue = get(issue_id)
    compiled(issue)  # a broken expression is reported now, not lost in a worker log
    audit.record("issue.test", f"issue {issue_id} to {address}")
    db.session.commit()
    queues.enqueue(send_test, issue_id, address, queue=queues.TRANSACTIONAL)


def schedule(issue_id: int, when: datetime) -> Issue:
    """Send the issue at ``when`` (aware, any zone); the sending engine's tick starts it."""
    issue = get(issue_id)
    if issue.status not in EDITABLE:
        raise IssueLocked(f"This issue is {issue.status.value}; it cannot be scheduled.")
    if when <= utcnow():
        raise IssueProblem("Pick a time in the future.", field="when")
    _ready(issue)
    # Conditional, as every change of an issue's sending state: written over an issue that
    # started meanwhile, it would stop its batches half-way until the time came.
    if not state.schedule(issue_id, when):
        db.session.rollback()
        raise _started(issue_id, "it cannot be scheduled")
    audit.record("issue.schedule", f"issue {issue_id} at {when.isoformat()}")
    db.session.commit()
    return get(issue_id)


def unschedule(issue_id: int, why: str = "", actor: str | None = None) -> Issue:
    """Back to a draft (``why`` goes into the audit log); a draft stays one; one that has
    started sending (the tick may start it at the very moment) is :class:`IssueLocked`."""
    if state.unschedule(issue_id):
        detail = f"issue {issue_id}: {why}" if why else f"issue {issue_id}"
        audit.record("issue.unschedule", detail, actor=actor)
        db.session.commit()
        return get(issue_id)
    db.session.rollback()  # read the issue as it is now
    issue = get(issue_id)
    if issue.status not in EDITABLE:
        raise _started(issue_id, "it is not scheduled")
    return issue


def _started(issue_id: int, consequence: str) -> IssueLocked:
    return IssueLocked(f"This issue is {get(issue_id).status.value}; {consequence}.")


def send_now(issue_id: int, actor: str | None = None) -> None:
    """Hand the issue to the sending engine (which records it in the audit log)."""
    issue = get(issue_id)
    if issue.status not in EDITABLE:
        raise IssueLocked(f"This issue is {issue.status.value}; it cannot be sent again.")
    _ready(issue)
    # Imported here: the sending engine imports this module's neighbours in turn.
    from ..delivery.service import SendingError, start_sending

    try:
        start_sending(issue_id, actor=actor)
    except SendingError as exc:
        raise IssueProblem(str(exc)) from exc


def _ready(issue: Issue) -> None:
    """Refuse an issue that cannot go out; give one that can its archive address."""
    if not fanout.has_target(issue):
        raise IssueProblem(fanout.NO_TARGET)
    try:
        compiled(issue)
    except TemplateProblem as exc:
        raise IssueProblem(str(exc)) from exc
    issue.slug = archive_slug(issue)
    db.session.commit()


def recent(limit: int | None = None) -> list[Issue]:
    """Issues (not sequence steps, which their list's sequence shows), newest first."""
    query = select(Issue).where(Issue.kind == IssueKind.ISSUE).order_by(Issue.id.desc())
    return list(db.session.scalars(query.limit(limit) if limit else query))


def archived(limit: int | None = None) -> list[Issue]:
    """Sent issues marked public, newest first."""
    query = (
        select(Issue)
        .where(Issue.is_public.is_(True), Issue.status == IssueStatus.SENT)
        .where(Issue.kind == IssueKind.ISSUE)
        .order_by(Issue.finished_at.desc(), Issue.id.desc())
    )
    return list(db.session.scalars(query.limit(limit) if limit else query))


def archived_issue(slug: str) -> Issue | None:
    """One sent public issue by slug."""
    return db.session.scalar(
        select(Issue).where(
            Issue.slug == slug, Issue.is_public.is_(True), Issue.status == IssueStatus.SENT
        )
    )
