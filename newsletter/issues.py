"""Issues before they are sent: drafts, previews, test sends, scheduling.

Sending itself (fan-out, batches, progress) belongs to ``newsletter.delivery``; this module
only hands an issue over to it.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime

from flask import current_app
from sqlalchemy import func, select

from . import audit, queue, retention
from .extensions import db
from .links import Links
from .mail.bulk import signer_for
from .mail.render import CompiledIssue, Reader, Rendered, TemplateProblem, compile_issue
from .mail.transactional import template
from .mail.transports import open_transport
from .models import Delivery, Issue, IssueStatus, MailingList, Subscriber, utcnow
from .subscribers.addresses import lookup_form

EDITABLE = (IssueStatus.DRAFT, IssueStatus.SCHEDULED)


class IssueProblem(ValueError):
    """The issue cannot be changed or sent as asked; ``str(exc)`` says why."""


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
    admin_id: int | None = None,
) -> Issue:
    """Create a draft (``issue_id`` None) or change one that has not started sending."""
    if issue_id is None:
        issue = Issue(created_by_id=admin_id)
        db.session.add(issue)
    else:
        issue = db.get_or_404(Issue, issue_id)
        if issue.status not in EDITABLE:
            raise IssueProblem(f"This issue is {issue.status.value}; it can no longer change.")
    issue.subject = subject.strip()[:300] or "Untitled"
    issue.preheader = preheader.strip()[:300]
    issue.body_md = body_md
    issue.is_public = is_public
    wanted = set(list_ids or [])
    issue.lists = (
        list(db.session.scalars(select(MailingList).where(MailingList.id.in_(wanted))))
        if wanted
        else []
    )
    db.session.flush()
    issue.slug = f"{issue.id}-{slugify(issue.subject)}"
    db.session.commit()
    return issue


def compiled(issue: Issue) -> CompiledIssue:
    """The issue rendered once; raises :class:`TemplateProblem` for a broken expression."""
    return compile_issue(
        issue.subject,
        issue.preheader,
        issue.body_md,
        site_name=current_app.config["SITE_NAME"],
        postal_address=current_app.config["POSTAL_ADDRESS"],
    )


def reader_for(email: str | None) -> Reader:
    """The subscriber with this address as a :class:`Reader`, or a sample reader."""
    if email:
        found = db.session.scalar(select(Subscriber).where(Subscriber.email == lookup_form(email)))
        if found is not None:
            return Reader(found.email, found.name, dict(found.attributes or {}))
        return Reader(email.strip())
    return Reader("reader@example.org")


def sample_links() -> Links:
    """Footer links for previews and tests: they lead to the site, never to a real reader."""
    base = current_app.config["BASE_URL"]
    return Links(unsubscribe_url=f"{base}/", preferences_url=f"{base}/")


def preview(issue: Issue, as_email: str | None) -> Rendered:
    """The mail as the subscriber with that address (or a sample reader) would get it."""
    return compiled(issue).render(reader_for(as_email), sample_links())


def queue_test(issue_id: int, address: str) -> None:
    """Check the issue renders, then queue a test mail to ``address`` (transactional queue)."""
    issue = db.get_or_404(Issue, issue_id)
    compiled(issue)  # a broken expression is reported now, not lost in a worker log
    audit.record("issue.test", f"issue {issue_id} to {address}")
    db.session.commit()
    queue.enqueue(send_test, issue_id, address, queue=queue.TRANSACTIONAL)


def send_test(issue_id: int, address: str) -> None:
    """Job: mail one test copy, personalised as the subscriber with that address if any."""
    issue = db.session.get(Issue, issue_id)
    if issue is None:
        return
    reader, links = reader_for(address), sample_links()
    body = compiled(issue).render(reader, links)
    config = current_app.config
    sender = config["FROM"]
    signer = signer_for(config.get("DKIM_KEY_FILE"), config.get("DKIM_SELECTOR"), sender)
    # Signed and with the unsubscribe headers as readers' copies are, so that what the test
    # address's provider makes of it says how the issue will be received.
    message = template(sender, f"[Test] {issue.subject}", signer).fill(
        recipient=reader.email, name=reader.name, body=body, unsubscribe_url=links.unsubscribe_url
    )
    transport = open_transport()
    try:
        transport.send(sender, reader.email, message)
    finally:
        transport.close()


def schedule(issue_id: int, when: datetime) -> Issue:
    """Send the issue at ``when`` (aware, any zone); the sending engine's tick starts it."""
    issue = db.get_or_404(Issue, issue_id)
    if issue.status not in EDITABLE:
        raise IssueProblem(f"This issue is {issue.status.value}; it cannot be scheduled.")
    if when <= utcnow():
        raise IssueProblem("Pick a time in the future.")
    _ready(issue)
    issue.status = IssueStatus.SCHEDULED
    issue.scheduled_at = when
    audit.record("issue.schedule", f"issue {issue_id} at {when.isoformat()}")
    db.session.commit()
    return issue


def unschedule(issue_id: int, why: str = "", actor: str | None = None) -> Issue:
    """Back to a draft (``why`` goes into the audit log)."""
    issue = db.get_or_404(Issue, issue_id)
    if issue.status == IssueStatus.SCHEDULED:
        issue.status = IssueStatus.DRAFT
        issue.scheduled_at = None
        detail = f"issue {issue_id}: {why}" if why else f"issue {issue_id}"
        audit.record("issue.unschedule", detail, actor=actor)
        db.session.commit()
    return issue


def send_now(issue_id: int, actor: str | None = None) -> None:
    """Hand the issue to the sending engine (which records it in the audit log)."""
    issue = db.get_or_404(Issue, issue_id)
    if issue.status not in EDITABLE:
        raise IssueProblem(f"This issue is {issue.status.value}; it cannot be sent again.")
    _ready(issue)
    # Imported here: the sending engine imports this module's neighbours in turn.
    from .delivery.service import SendingError, start_sending

    try:
        start_sending(issue_id, actor=actor)
    except SendingError as exc:
        raise IssueProblem(str(exc)) from exc


def _ready(issue: Issue) -> None:
    if not issue.lists:
        raise IssueProblem("Choose at least one list to send to.")
    try:
        compiled(issue)
    except TemplateProblem as exc:
        raise IssueProblem(str(exc)) from exc


def delivery_figures(issue_ids: list[int]) -> dict[int, dict[str, int]]:
    """Per issue, its deliveries counted by state (one grouped count query)."""
    figures: dict[int, dict[str, int]] = {i: {} for i in issue_ids}
    if issue_ids:
        rows = db.session.execute(
            select(Delivery.issue_id, Delivery.status, func.count())
            .where(Delivery.issue_id.in_(issue_ids))
            .group_by(Delivery.issue_id, Delivery.status)
        )
        for issue_id, status, n in rows:
            figures[issue_id][status.value] = n
        # Rows the retention policy purged still count: their totals were kept per issue.
        for issue_id, purged in retention.purged_counts(issue_ids).items():
            for status, n in purged.items():
                figures[issue_id][status] = figures[issue_id].get(status, 0) + n
    return figures


def recent(limit: int | None = None) -> list[Issue]:
    """Issues, newest first."""
    query = select(Issue).order_by(Issue.id.desc())
    return list(db.session.scalars(query.limit(limit) if limit else query))


def archived(limit: int | None = None) -> list[Issue]:
    """Sent issues marked public, newest first."""
    query = (
        select(Issue)
        .where(Issue.is_public.is_(True), Issue.status == IssueStatus.SENT)
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
