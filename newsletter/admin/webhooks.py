"""Owners' webhook pages: the endpoints (add one; its secret is shown on the page that answers),
and each endpoint's details, delivery log, enable/disable, test event, retry and removal.

Every role reads them (DESIGN's roles table); only owners change anything (``permissions``)
and only owners are shown an endpoint's secret.
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from ..accounts import roles
from ..database import row_id
from ..models import Role
from ..webhooks import jobs, service
from . import bp
from .forms import ActionForm, MultiCheckboxField


class EndpointForm(FlaskForm):
    """A new webhook endpoint."""

    url = StringField("URL", validators=[DataRequired(), Length(max=service.MAX_URL)])
    events = MultiCheckboxField("Events", choices=[SelectChoice(e, e) for e in service.EVENTS])
    description = StringField(
        "Description (optional)", validators=[Length(max=service.MAX_DESCRIPTION)]
    )


@bp.route("/webhooks", methods=["GET", "POST"], endpoint="webhooks")
def webhooks_page():  # type: ignore[no-untyped-def]
    """Every endpoint, and the form for a new one; a new secret is shown here, once."""
    form = EndpointForm()
    created = None
    if form.validate_on_submit():
        try:
            created = service.add(form.url.data, form.events.data, form.description.data or "")
        except service.EndpointProblem as exc:
            getattr(form, exc.field, form.url).errors.append(str(exc))
        else:
            form = EndpointForm(formdata=None)
    return render_template(
        "admin/webhooks.html", endpoints=service.listed(), form=form, created=created
    ), (400 if form.errors else 200)


@bp.get("/webhooks/<int:webhook_id>", endpoint="webhook")
def webhook_page(webhook_id: int):  # type: ignore[no-untyped-def]
    """One endpoint: its details, its secret (owners only) and its delivery log."""
    return render_template(
        "admin/webhook.html",
        endpoint=service.get(webhook_id),
        log=service.delivery_log(webhook_id),
        show_secret=roles.may(roles.current_role(), Role.OWNER),
        action=ActionForm(),
    )


@bp.post("/webhooks/<int:webhook_id>/<any(enable, disable, test, retry):verb>")
def webhook_action(webhook_id: int, verb: str):  # type: ignore[no-untyped-def]
    """Enable or disable the endpoint, send it a test event, or retry one delivery now."""
    if not ActionForm().validate_on_submit():
        abort(400)
    endpoint = service.get(webhook_id)
    if verb in {"enable", "disable"}:
        service.enable(endpoint.id, verb == "enable")
        flash(f"Webhook endpoint {endpoint.id} is {verb}d.")
    elif verb == "test":
        jobs.send_test(endpoint.id)
        flash("A test event is on its way; its delivery appears in the log below.")
    else:
        found = service.delivery(endpoint.id, row_id(request.form.get("delivery")) or 0)
        if found is None:
            flash("That delivery is not in this endpoint's log.", "error")
        else:
            jobs.retry_now(found.id)
            flash(f"Delivery {found.id} will be tried again now.")
    return redirect(url_for("admin.webhook", webhook_id=endpoint.id))


@bp.post("/webhooks/<int:webhook_id>/remove")
def webhook_remove(webhook_id: int):  # type: ignore[no-untyped-def]
    """Remove the endpoint and its delivery log."""
    if not ActionForm().validate_on_submit():
        abort(400)
    service.remove(webhook_id)
    flash(f"Removed webhook endpoint {webhook_id}.")
    return redirect(url_for("admin.webhooks"))
