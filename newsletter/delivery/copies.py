"""Each subscriber's copy of an issue: what all copies share, built once per issue and process,
and the bytes for one subscriber (their name, attributes and signed links filled in)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from flask import current_app
from sqlalchemy import bindparam, select

from ..bounces.verp import message_tag
from ..extensions import db
from ..mail.bulk import BulkTemplate, Copy, list_id_for
from ..mail.compiled import CompiledIssue, compile_issue
from ..mail.dkim import signer_for
from ..mail.render import SubscriberFields
from ..media import layout as mail_layout
from ..models import Issue, MailingList, Suppression, issue_list
from ..subscribers.links import links_for
from ..subscribers.service import email_hash


@dataclass
class Prepared:
    """An issue turned into what every copy shares; cached per process, keyed by revision."""

    issue_id: int
    compiled: CompiledIssue
    template: BulkTemplate


def personalise(prepared: Prepared, row) -> Copy:  # type: ignore[no-untyped-def]
    """One subscriber's complete message (``row``: a claimed delivery with its subscriber)."""
    subscriber = SubscriberFields(row.email, row.name or "", row.attributes or {})
    links = links_for(row.subscriber_id, row.email)
    return prepared.template.personalise(
        recipient=row.email,
        name=row.name or "",
        message_id=message_id(prepared, row.id),
        body=prepared.compiled.render(subscriber, links, row.language),
        unsubscribe_url=links.unsubscribe_url,
        unsubscribe_mailto=links.unsubscribe_mailto,
        language=row.language or "",
    )


def message_id(prepared: Prepared, delivery_id: int) -> str:
    """The delivery's Message-ID, with the keyed tag that lets a bounce quoting it be trusted."""
    return prepared.template.message_id(prepared.issue_id, delivery_id, message_tag(delivery_id))


# Built once: a fresh IN of a batch's ~200 hashes cost SQLAlchemy as much as the query.
_LISTED = select(Suppression.email_hash).where(
    Suppression.email_hash.in_(bindparam("hashes", expanding=True))
)


def suppressed(rows: list) -> set[int]:
    """Deliveries in this batch whose address is on the do-not-mail list (one query)."""
    by_hash = {email_hash(r.email): r.id for r in rows}
    found = db.session.execute(_LISTED, {"hashes": list(by_hash)}).scalars()
    return {by_hash[h] for h in found}


def prepare(issue_id: int) -> Prepared:
    """What every copy of the issue shares (cached while the issue is unchanged)."""
    # One plain read per batch job: loading the Issue and its lists as ORM objects cost more
    # than the rest of the job's setup.
    row = db.session.execute(
        select(
            Issue.subject,
            Issue.preheader,
            Issue.body_md,
            Issue.updated_at,
            MailingList.slug,
            MailingList.name,
        )
        .outerjoin(issue_list, issue_list.c.issue_id == Issue.id)
        .outerjoin(MailingList, MailingList.id == issue_list.c.list_id)
        .where(Issue.id == issue_id)
        .order_by(MailingList.id)
        .limit(1)
    ).one()
    subject, preheader, body, updated_at, slug, name = row
    config = current_app.config
    revision = (issue_id, updated_at.isoformat() if updated_at else "")
    layout = mail_layout.current()  # once per batch, as the issue's row
    fields = (
        issue_id,
        subject,
        preheader,
        body,
        layout,
        config["POSTAL_ADDRESS"],
        config["FROM"],
        slug or "newsletter",
        name if slug else layout.site_name,
        config.get("DKIM_KEY_FILE"),
        config.get("DKIM_SELECTOR"),
    )
    return _prepared(revision, fields)


@lru_cache(maxsize=4)
def _prepared(revision: tuple, fields: tuple) -> Prepared:
    issue_id, subject, preheader, body, layout, postal, sender, slug, name, key, selector = fields
    template = BulkTemplate(
        sender=sender,
        subject=subject,
        list_id=list_id_for(slug, sender),
        list_name=name,
        signer=signer_for(key, selector, sender),
    )
    compiled = compile_issue(
        subject, preheader, body, site_name=layout.site_name, postal_address=postal, layout=layout
    )
    return Prepared(issue_id, compiled, template)
