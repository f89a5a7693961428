"""Deleting issues that have not started sending, and copying any issue into a new draft."""

from __future__ import annotations

from sqlalchemy import delete as sa_delete

from ..accounts import audit
from ..extensions import db
from ..models import Issue
from .service import EDITABLE, IssueLocked, get, save

COPY_MARK = " (copy)"


def delete(issue_id: int) -> None:
    """Delete a draft, or a scheduled issue that has not started; refuse any other."""
    issue = get(issue_id)
    subject, status = issue.subject, issue.status.value
    # One conditional statement: a scheduled issue the tick starts meanwhile is not deleted.
    gone = db.session.execute(
        sa_delete(Issue).where(Issue.id == issue_id, Issue.status.in_(EDITABLE)),
        execution_options={"synchronize_session": False},
    ).rowcount
    if not gone:
        db.session.rollback()
        now = get(issue_id).status.value
        raise IssueLocked(f"This issue is {now}; only a draft or a scheduled issue can be deleted.")
    db.session.expunge(issue)
    audit.record("issue.delete", f"issue {issue_id} ({status}): {subject}")
    db.session.commit()


def duplicate(issue_id: int, admin_id: int | None = None) -> Issue:
    """A new draft with the issue's subject (marked as a copy), body, lists, segment and
    archive choice."""
    source = get(issue_id)
    copy = save(
        None,
        subject=f"{source.subject[: 300 - len(COPY_MARK)]}{COPY_MARK}",
        preheader=source.preheader,
        body_md=source.body_md,
        list_ids=[lst.id for lst in source.lists],
        is_public=source.is_public,
        publish_private=True,  # the source's choice, made when it was saved
        admin_id=admin_id,
        segment_id=source.segment_id,
    )
    audit.record("issue.duplicate", f"issue {issue_id} as issue {copy.id}")
    db.session.commit()
    return copy
