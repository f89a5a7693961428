"""Admin pages to delete an issue that has not started sending (after a confirmation page)
and to copy any issue into a new draft."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from ..issues import drafts
from ..issues import service as issues
from . import bp
from .forms import ActionForm


@bp.route("/issues/<int:issue_id>/delete", methods=["GET", "POST"])
def issue_delete(issue_id: int):  # type: ignore[no-untyped-def]
    """GET: ask to confirm; POST: delete the draft or scheduled issue for good."""
    issue = issues.get(issue_id)
    form = ActionForm()
    if issue.status not in issues.EDITABLE:
        flash(f"This issue is {issue.status.value}; it cannot be deleted.", "error")
        return redirect(url_for("admin.issue", issue_id=issue_id))
    if request.method == "GET":
        return render_template("admin/issue_delete.html", issue=issue, form=form)
    if not form.validate_on_submit():
        abort(400)
    subject = issue.subject
    try:
        drafts.delete(issue_id)
    except issues.IssueProblem as exc:
        flash(str(exc), "error")
        return redirect(url_for("admin.issue", issue_id=issue_id))
    flash(f"Deleted “{subject}”.")
    return redirect(url_for("admin.issues"))


@bp.post("/issues/<int:issue_id>/duplicate")
def issue_duplicate(issue_id: int):  # type: ignore[no-untyped-def]
    """Copy the issue into a new draft and open it in compose."""
    if not ActionForm().validate_on_submit():
        abort(400)
    copy = drafts.duplicate(issue_id, admin_id=current_user.id)
    flash("This is a new draft, copied from the issue.")
    return redirect(url_for("admin.issue_edit", issue_id=copy.id))
