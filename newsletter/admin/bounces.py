"""Admin page for bounces and complaints: what the mail servers said, and lifting a suppression."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for

from ..accounts import audit
from ..bounces import service as bounces
from ..database import row_id
from ..extensions import db
from ..models import BounceKind
from ..subscribers import service as subscribers
from . import bp
from .forms import ActionForm

PAGE = 100


def before_cursor() -> int | None:
    """The keyset cursor of a newest-first page: rows with an id below this one."""
    return row_id(request.args.get("before"))


@bp.get("/bounces")
def bounce_list():  # type: ignore[no-untyped-def]
    """Bounces and complaints, newest first, with each subscriber's current state."""
    kind = request.args.get("kind", "")
    rows = bounces.reports(kind, before_cursor(), PAGE)
    return render_template(
        "admin/bounces.html",
        rows=rows,
        kind=kind,
        kinds=[k.value for k in BounceKind],
        next_before=rows[-1][0].id if len(rows) == PAGE else None,
        action=ActionForm(),
    )


@bp.post("/bounces/lift/<int:subscriber_id>")
def bounce_lift(subscriber_id: int):  # type: ignore[no-untyped-def]
    """Take a subscriber off the suppression list: the admin knows the address works again."""
    if not ActionForm().validate_on_submit():
        abort(400)
    subscriber = subscribers.get(subscriber_id)
    bounces.lift(subscriber.id)
    audit.record("suppression.lift", f"subscriber {subscriber.id}")
    db.session.commit()
    flash(f"{subscriber.email} may be mailed again; its bounce count starts from zero.")
    return redirect(url_for("admin.bounce_list"))
