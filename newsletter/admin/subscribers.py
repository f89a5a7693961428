"""Admin pages for subscribers: browse, open one, act on one or on a filtered selection."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from ..accounts import audit
from ..database import row_id
from ..extensions import db
from ..jobs import queues
from ..languages import available, language_name
from ..lists import service as list_service
from ..models import SubscriberStatus
from ..subscribers import browse, editing, jobs, queries
from ..subscribers import service as lifecycle
from . import bp
from .forms import ActionForm

BULK_ACTIONS = {
    "unsubscribe": "Unsubscribe from every list",
    "resend": "Resend the confirmation mail (pending only)",
    "delete": "Delete (only a hash stays, so they are not re-imported)",
}


@bp.get("/subscribers")
def subscribers():  # type: ignore[no-untyped-def]
    """Search, filter and sort subscribers, one keyset page at a time."""
    selection = browse.Selection.from_args(request.args)
    result = browse.page(selection, request.args.get("after"))
    return render_template(
        "admin/subscribers.html",
        selection=selection,
        result=result,
        lists=list_service.all_lists(),
        statuses=[s.value for s in SubscriberStatus],
        sorts=browse.SORTS,
        bulk_actions=BULK_ACTIONS,
        action=ActionForm(),
    )


@bp.get("/subscribers/<int:subscriber_id>")
def subscriber(subscriber_id: int):  # type: ignore[no-untyped-def]
    """One subscriber: lists, consent record, deliveries, actions."""
    return render_template(
        "admin/subscriber.html",
        subscriber=lifecycle.get(subscriber_id),
        deliveries=queries.deliveries(subscriber_id),
        consent=queries.consent_record(subscriber_id),
        action=ActionForm(),
        languages=[(code, language_name(code)) for code in available()],
    )


@bp.post("/subscribers/<int:subscriber_id>/language")
def subscriber_language(subscriber_id: int):  # type: ignore[no-untyped-def]
    """Set the language of the subscriber's system mails ("" for the site's default)."""
    if not ActionForm().validate_on_submit():
        abort(400)
    chosen = request.form.get("language", "")
    if chosen and chosen not in available():
        abort(400)
    editing.change(subscriber_id, language=chosen, actor=f"admin {current_user.email}")
    flash("Language saved.")
    return redirect(url_for("admin.subscriber", subscriber_id=subscriber_id))


@bp.post("/subscribers/<int:subscriber_id>/<any(unsubscribe, resend, delete):verb>")
def subscriber_action(subscriber_id: int, verb: str):  # type: ignore[no-untyped-def]
    """Unsubscribe, resend the confirmation to, or delete one subscriber."""
    if not ActionForm().validate_on_submit():
        abort(400)
    subscriber = lifecycle.get(subscriber_id)
    _apply(verb, [subscriber.id])
    audit.record(f"subscriber.{verb}", f"subscriber {subscriber.id}")
    db.session.commit()
    flash(_done_message(verb, 1))
    if verb == "delete":
        return redirect(url_for("admin.subscribers"))
    return redirect(url_for("admin.subscriber", subscriber_id=subscriber_id))


@bp.post("/subscribers/bulk")
def subscribers_bulk():  # type: ignore[no-untyped-def]
    """Act on the ticked rows, or with scope=all on everything matching the filter."""
    form = ActionForm()
    verb = request.form.get("action", "")
    if not form.validate_on_submit() or verb not in BULK_ACTIONS:
        abort(400)
    selection = browse.Selection.from_args(request.form)
    if request.form.get("scope") == "all":
        chunks = browse.ids(selection)
    else:
        chunks = iter([[i for i in map(row_id, request.form.getlist("id")) if i is not None]])
    done = 0
    for chunk in chunks:
        done += _apply(verb, chunk)
    shown = selection.as_args()
    if verb == "delete" and "q" in shown:
        shown["q"] = "[erased]"  # the search may be the address just erased
    audit.record(f"subscriber.bulk_{verb}", f"{done} subscribers; filter {shown}")
    db.session.commit()
    flash(_done_message(verb, done))
    return redirect(url_for("admin.subscribers", **selection.as_args()))


def _apply(verb: str, ids: list[int]) -> int:
    """Run one action on these subscribers through the lifecycle services; returns how many."""
    actor = f"admin {current_user.email}"
    for subscriber_id in ids:
        if verb == "unsubscribe":
            lifecycle.unsubscribe(subscriber_id, source=actor)
        elif verb == "resend":
            queues.enqueue(jobs.send_confirmation, subscriber_id, queue=queues.TRANSACTIONAL)
        elif verb == "delete":
            lifecycle.erase(subscriber_id)
    return len(ids)


def _done_message(verb: str, n: int) -> str:
    what = {"unsubscribe": "Unsubscribed", "resend": "Confirmation queued for", "delete": "Deleted"}
    return f"{what[verb]} {n} subscriber{'s' if n != 1 else ''}."
