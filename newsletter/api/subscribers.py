"""``/api/v1/subscribers``: browse, add, read, change and erase subscribers; read their consent
record and deliveries, and resend their confirmation mail, as the admin's subscriber page does.

Browsing is the admin's own query (``subscribers.browse``), a keyset page oldest first;
adding, changing and erasing go through the services the admin and the CLI use
(``subscribers.editing``, ``subscribers.privacy``). ``POST`` answers 201 when it created the
subscriber and 200 when the address was known (editors see every subscriber anyway); an
address on the do-not-mail list, or one that unsubscribed, is refused with 409, never added
back silently.
"""

from __future__ import annotations

from flask import Response
from pydantic import BaseModel

from ..accounts import audit
from ..accounts.audit import current_actor
from ..accounts.roles import requires
from ..lists import service as lists
from ..models import Role
from ..subscribers import browse, editing, queries
from ..subscribers.addresses import InvalidInput
from ..subscribers.privacy import erase
from . import bp
from .errors import problem
from .schemas_subscribers import (
    ConsentRecord,
    DeliveriesOut,
    SubscriberIn,
    SubscriberOut,
    SubscriberPage,
    SubscriberPatch,
    SubscriberQuery,
)
from .spec import Answers, FieldError, RequestInvalid, spec

TAGS = ["subscribers"]


class Erased(BaseModel):
    """The subscriber is gone; only a salted hash of the address stays, suppressed."""

    id: int
    erased: bool


@bp.errorhandler(InvalidInput)
def _refused(exc: InvalidInput) -> Response:
    return problem(422, str(exc), errors=[{"field": exc.field, "message": str(exc)}])


def _invalid(field: str, message: str) -> RequestInvalid:
    return RequestInvalid([FieldError(field=field, message=message)])


@bp.get("/subscribers")
@requires(Role.VIEWER)
@spec.validate(query=SubscriberQuery, resp=Answers(HTTP_200=SubscriberPage), tags=TAGS)
def list_subscribers(query: SubscriberQuery) -> SubscriberPage:
    """A page of subscribers, oldest first; pass `next` as `after` for the following page."""
    if query.after and not browse.is_cursor(query.after):
        raise _invalid("after", "Not a cursor this API handed out; start without `after`.")
    list_id = None
    if query.list:
        try:
            list_id = lists.by_slug(query.list).id
        except lists.NoSuchList:
            raise _invalid("list", f"Unknown list: {query.list}.") from None
    selection = browse.Selection(
        q=(query.q or "").strip(),
        status=query.status or "",
        list_id=list_id,
        sort="oldest",
        per_list=True,
    )
    found = browse.page(selection, query.after, size=query.limit)
    return SubscriberPage(items=[SubscriberOut.of(s) for s in found.rows], next=found.next_cursor)


@bp.post("/subscribers")
@requires(Role.EDITOR)
@spec.validate(
    json=SubscriberIn,
    resp=Answers(409, 415, HTTP_200=SubscriberOut, HTTP_201=SubscriberOut),
    tags=TAGS,
)
def add_subscriber(json: SubscriberIn) -> tuple[SubscriberOut, int]:
    """Add a subscriber: `confirmed` on your word (with `consent_note`), or `pending`, mailed
    the confirmation link, in their `language` (default: the site's)."""
    added = editing.add(
        json.email,
        name=json.name,
        slugs=json.lists,
        attributes=json.attributes,
        confirmed=json.status == "confirmed",
        consent_note=json.consent_note or "",
        language=json.language,
        actor=current_actor(),
    )
    return SubscriberOut.of(added.subscriber), 201 if added.created else 200


@bp.get("/subscribers/<int:subscriber_id>")
@requires(Role.VIEWER)
@spec.validate(resp=Answers(404, HTTP_200=SubscriberOut), tags=TAGS)
def show_subscriber(subscriber_id: int) -> SubscriberOut:
    """One subscriber, with their lists and their state on each."""
    return SubscriberOut.of(queries.get(subscriber_id))


@bp.get("/subscribers/<int:subscriber_id>/consent")
@requires(Role.VIEWER)
@spec.validate(resp=Answers(404, HTTP_200=ConsentRecord), tags=TAGS)
def subscriber_consent(subscriber_id: int) -> ConsentRecord:
    """Their consent record, oldest first: the proof the admin's subscriber page shows."""
    queries.get(subscriber_id)
    return ConsentRecord.of(queries.consent_record(subscriber_id))


@bp.get("/subscribers/<int:subscriber_id>/deliveries")
@requires(Role.VIEWER)
@spec.validate(resp=Answers(404, HTTP_200=DeliveriesOut), tags=TAGS)
def subscriber_deliveries(subscriber_id: int) -> DeliveriesOut:
    """The issues last sent to them (at most 100), newest first, with each one's outcome."""
    queries.get(subscriber_id)
    return DeliveriesOut.of(queries.deliveries(subscriber_id))


@bp.patch("/subscribers/<int:subscriber_id>")
@requires(Role.EDITOR)
@spec.validate(json=SubscriberPatch, resp=Answers(404, 415, HTTP_200=SubscriberOut), tags=TAGS)
def change_subscriber(subscriber_id: int, json: SubscriberPatch) -> SubscriberOut:
    """Change the name, attributes or language, drop lists, or unsubscribe from every list."""
    changed = editing.change(
        subscriber_id,
        name=json.name,
        attributes=json.attributes,
        slugs=json.lists,
        unsubscribe=json.status == "unsubscribed",
        language=json.language,
        actor=current_actor(),
    )
    return SubscriberOut.of(changed)


@bp.post("/subscribers/<int:subscriber_id>/resend-confirmation")
@requires(Role.EDITOR)
@spec.validate(resp=Answers(404, 409, HTTP_202=SubscriberOut), tags=TAGS)
def resend_confirmation(subscriber_id: int) -> tuple[SubscriberOut, int]:
    """Mail the confirmation link again (the admin's Resend); 409 when nothing is pending."""
    resent = editing.resend_confirmation(subscriber_id, actor=current_actor())
    return SubscriberOut.of(resent), 202


@bp.delete("/subscribers/<int:subscriber_id>")
@requires(Role.OWNER)
@spec.validate(resp=Answers(404, HTTP_200=Erased), tags=TAGS)
def erase_subscriber(subscriber_id: int) -> Erased:
    """Erase the subscriber and everything about them, as their own erase request does."""
    queries.get(subscriber_id)
    audit.record("subscriber.erase", f"subscriber {subscriber_id}")
    erase(subscriber_id)  # commits the audit entry with the erasure
    return Erased(id=subscriber_id, erased=True)
