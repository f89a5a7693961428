"""Admin pages for an issue being sent: live progress, pause, resume, cancel, retry, resend."""

from __future__ import annotations

from flask import Response, abort, flash, jsonify, redirect, render_template, url_for

from ..delivery import service
from ..models import DeliveryStatus
from . import bp
from .forms import ActionForm

# Button verb -> (service function, message shown after it).
_ACTIONS = {
    "pause": (service.pause, "Sending paused."),
    "resume": (service.resume, "Sending resumed."),
    "cancel": (service.cancel, "Sending cancelled; nothing more will go out."),
    "retry-failed": (
        service.retry_failed,
        "{n} failed deliveries queued again (refusals and suppressed addresses are not retried).",
    ),
    "resend-unknown": (service.resend_unknown, "{n} unknown deliveries queued again."),
}


def _progress(issue_id: int) -> service.Progress:
    try:
        return service.progress(issue_id)
    except service.SendingError:
        abort(404)


@bp.get("/issues/<int:issue_id>/sending", endpoint="issue_progress")
def issue_progress(issue_id: int):  # type: ignore[no-untyped-def]
    progress = _progress(issue_id)
    return render_template(
        "admin/sending.html",
        progress=progress,
        issue=service.issue_summary(issue_id),
        unknown=service.deliveries(issue_id, DeliveryStatus.UNKNOWN),
        failed=service.deliveries(issue_id, DeliveryStatus.FAILED),
        action=ActionForm(),
    )


@bp.get("/issues/<int:issue_id>/sending.json", endpoint="issue_progress_json")
def issue_progress_json(issue_id: int):  # type: ignore[no-untyped-def]
    response = jsonify(_progress(issue_id).as_dict())
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/issues/<int:issue_id>/sending.txt", endpoint="issue_progress_text")
def issue_progress_text(issue_id: int):  # type: ignore[no-untyped-def]
    """The same figures as plain text, for a terminal or a browser without JavaScript."""
    body = "".join(f"{k}: {v}\n" for k, v in _progress(issue_id).as_dict().items())
    return Response(body, mimetype="text/plain", headers={"Cache-Control": "no-store"})


@bp.post("/issues/<int:issue_id>/sending/<verb>", endpoint="issue_sending_action")
def issue_sending_action(issue_id: int, verb: str):  # type: ignore[no-untyped-def]
    if verb not in _ACTIONS:
        abort(404)
    if ActionForm().validate_on_submit():
        func, message = _ACTIONS[verb]
        try:
            n = func(issue_id)
        except service.SendingError as exc:
            flash(str(exc), "error")
        else:
            flash(message.format(n=n))
    return redirect(url_for("admin.issue_progress", issue_id=issue_id))
