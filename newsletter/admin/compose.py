"""Admin pages for issues: compose with live preview, autosave, test send, schedule, send."""

from __future__ import annotations

import secrets
from zoneinfo import ZoneInfo

from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user

from ..delivery import fanout
from ..delivery import queries as deliveries
from ..issues import preview
from ..issues import service as issues
from ..lists import service as list_service
from ..mail.render import TemplateProblem
from ..models import Issue
from ..segments import service as segments
from . import bp
from .forms import ActionForm, IssueForm, ScheduleForm, TestSendForm
from .preview_frame import framed
from .views import progress_url


@bp.get("/issues", endpoint="issues")
def issues_page():  # type: ignore[no-untyped-def]
    """Every issue, drafts included, newest first."""
    everything = issues.recent()
    return render_template(
        "admin/issues.html",
        issues=everything,
        figures=deliveries.figures([i.id for i in everything]),
    )


def _issue_form(issue: Issue | None = None) -> IssueForm:
    form = IssueForm(obj=issue)
    if issue is not None and not form.is_submitted():
        form.edited_from.data = issues.edit_stamp(issue)
        form.lists.data = [lst.id for lst in issue.lists]
        # Saved public for private lists: that choice was confirmed when it was saved.
        form.publish_private.data = issue.is_public and bool(issues.private_names(issue.lists))
    if issue is None and not form.is_submitted():
        form.draft_key.data = secrets.token_urlsafe(16)
    chosen = {lst.id for lst in issue.lists} if issue else set()
    form.lists.choices = [
        (lst.id, lst.name if lst.is_public else f"{lst.name} (private)")
        for lst in list_service.choosable(chosen)
    ]
    if form.segment_id.data is None:  # the issue has none, or a form without the field
        form.segment_id.data = 0
    form.segment_id.choices = [(0, "None: everyone confirmed on the chosen lists")] + [
        (s.id, s.name) for s in segments.all_segments()
    ]
    return form


def _save(form: IssueForm, issue_id: int | None) -> Issue:
    return issues.save(
        issue_id,
        subject=form.subject.data or "",
        preheader=form.preheader.data or "",
        body_md=form.body_md.data or "",
        list_ids=form.lists.data or [],
        is_public=form.is_public.data,
        publish_private=form.publish_private.data,
        admin_id=current_user.id,
        draft_key=form.draft_key.data or "",
        segment_id=form.segment_id.data or None,
        edited_from=form.edited_from.data or "",
    )


@bp.route("/issues/new", methods=["GET", "POST"], endpoint="compose")
@bp.route("/issues/<int:issue_id>/edit", methods=["GET", "POST"], endpoint="issue_edit")
def compose(issue_id: int | None = None):  # type: ignore[no-untyped-def]
    """Write a new issue or edit a draft; Save or Preview (works without JS)."""
    issue = issues.get(issue_id) if issue_id else None
    form = _issue_form(issue)
    problem = None
    if form.validate_on_submit():
        try:
            issue = _save(form, issue_id)
        except issues.EditConflict as exc:
            return _conflict_page(form, issue, exc), 409
        except issues.IssueProblem as exc:
            if not exc.field:
                flash(str(exc), "error")
                return redirect(url_for("admin.issue", issue_id=issue_id))
            form[exc.field].errors.append(str(exc))
            return _compose_page(form, issue), 400
        problem = _problem(issue)
        if problem is None:
            flash("Draft saved.")
            target = (
                "admin.issue_preview" if request.form.get("go") == "preview" else "admin.issue_edit"
            )
            return redirect(url_for(target, issue_id=issue.id, **_as_arg(form)))
    elif issue is not None and request.method == "GET":
        problem = _problem(issue)
    if problem is not None:
        form[problem.field].errors.append(str(problem))
    return _compose_page(form, issue), (400 if form.errors else 200)


def _conflict_page(form: IssueForm, issue: Issue | None, exc: issues.EditConflict) -> str:
    """The admin's form as they posted it, with the warning; saving it again replaces what
    the other person saved (the form now carries the version that is saved)."""
    flash(str(exc), "error")
    form.edited_from.data = exc.stamp
    return _compose_page(form, issue, conflict=True)


def _compose_page(form: IssueForm, issue: Issue | None, conflict: bool = False) -> str:
    # After a conflict only the Save button replaces the other's version: no autosave.
    return render_template(
        "admin/compose.html",
        form=form,
        issue=issue,
        remote_hosts=preview.remote_hosts(issue) if issue else [],
        conflict=conflict,
    )


@bp.post("/issues/autosave", endpoint="issue_autosave_new")
@bp.post("/issues/<int:issue_id>/autosave", endpoint="issue_autosave")
def autosave(issue_id: int | None = None):  # type: ignore[no-untyped-def]
    """Save the form as a draft and answer with what the live preview needs (JSON)."""
    issue = issues.get(issue_id) if issue_id else None
    form = _issue_form(issue)
    if not form.validate_on_submit():
        return jsonify(saved=False, errors=form.errors), 400
    try:
        issue = _save(form, issue_id)
    except issues.EditConflict as exc:
        return jsonify(saved=False, conflict=str(exc)), 409
    except issues.IssueProblem as exc:
        return jsonify(saved=False, errors={exc.field or "subject": [str(exc)]}), (
            400 if exc.field else 409
        )
    problem = _problem(issue)
    preview_as = form.preview_as.data or ""
    text = None
    if problem is None:
        text = preview.render(issue, preview_as).text
    return jsonify(
        remote_hosts=preview.remote_hosts(issue),
        remote_preview_url=url_for("admin.issue_preview", issue_id=issue.id, remote=1),
        saved=True,
        id=issue.id,
        edited_from=issues.edit_stamp(issue),
        edit_url=url_for("admin.issue_edit", issue_id=issue.id),
        autosave_url=url_for("admin.issue_autosave", issue_id=issue.id),
        preview_url=url_for("admin.issue_preview_html", issue_id=issue.id, **{"as": preview_as}),
        text=text,
        problem=str(problem) if problem is not None else None,
    )


@bp.get("/issues/<int:issue_id>/preview")
def issue_preview(issue_id: int):  # type: ignore[no-untyped-def]
    """The mail as a chosen subscriber would see it: HTML in a frame, and text; remote
    content only when asked for (``?remote=1``)."""
    issue = issues.get(issue_id)
    preview_as = request.args.get("as", "")
    problem = _problem(issue)
    text = None
    if problem is None:
        text = preview.render(issue, preview_as).text
    as_arg = {"as": preview_as} if preview_as else {}
    shown = {"remote": 1} if _show_remote() else {}
    return render_template(
        "admin/preview.html",
        issue=issue,
        preview_as=preview_as,
        text=text,
        problem=problem,
        remote_hosts=preview.remote_hosts(issue),
        show_remote=bool(shown),
        frame_url=url_for("admin.issue_preview_html", issue_id=issue_id, **as_arg, **shown),
        hide_url=url_for("admin.issue_preview", issue_id=issue_id, **as_arg),
        show_url=url_for("admin.issue_preview", issue_id=issue_id, remote=1, **as_arg),
    )


@bp.get("/issues/<int:issue_id>/preview.html")
def issue_preview_html(issue_id: int):  # type: ignore[no-untyped-def]
    """The mail's HTML exactly as a subscriber gets it, for the sandboxed preview frame."""
    issue = issues.get(issue_id)
    try:
        html = preview.render(issue, request.args.get("as")).html
    except TemplateProblem as exc:
        return render_template("admin/preview_problem.html", problem=str(exc)), 422
    return framed(html, remote=_show_remote())


def _show_remote() -> bool:
    """The admin asked to see remote content in the preview (it is hidden by default)."""
    return request.args.get("remote") == "1"


@bp.get("/issues/<int:issue_id>")
def issue(issue_id: int):  # type: ignore[no-untyped-def]
    """An issue's status and deliveries, with test send, schedule and send."""
    found = issues.get(issue_id)
    unsent = found.status in issues.EDITABLE
    return render_template(
        "admin/issue.html",
        issue=found,
        audience=fanout.audience_size(issue_id) if unsent else None,
        no_target=None if fanout.has_target(found) else fanout.NO_TARGET,
        figures=deliveries.figures([issue_id])[issue_id],
        test_form=TestSendForm(),
        schedule_form=ScheduleForm(),
        action=ActionForm(),
        problem=_problem(found),
        remote_hosts=preview.remote_hosts(found),
        private_lists=issues.private_names(found.lists) if found.is_public else [],
    )


@bp.post("/issues/<int:issue_id>/test")
def issue_test(issue_id: int):  # type: ignore[no-untyped-def]
    """Queue a test copy to any address."""
    send_test(issue_id)
    return redirect(url_for("admin.issue", issue_id=issue_id))


def send_test(issue_id: int) -> None:
    """Queue a test copy of the issue (or sequence step's issue) to the address posted with
    :class:`TestSendForm`, and flash what became of it."""
    form = TestSendForm()
    if not form.validate_on_submit():
        flash("Enter a valid address for the test mail.", "error")
        return
    try:
        issues.queue_test(issue_id, form.address.data)
    except TemplateProblem as exc:
        flash(str(exc), "error")
    else:
        flash(f"Test mail queued for {form.address.data}.")


@bp.post("/issues/<int:issue_id>/schedule")
def issue_schedule(issue_id: int):  # type: ignore[no-untyped-def]
    """Schedule for a date and time in the admin's time zone."""
    form = ScheduleForm()
    if not form.validate_on_submit():
        flash("Enter a date and time to send at.", "error")
        return redirect(url_for("admin.issue", issue_id=issue_id))
    when = form.when.data.replace(tzinfo=ZoneInfo(current_user.timezone or "UTC"))
    try:
        issues.schedule(issue_id, when)
    except issues.IssueProblem as exc:
        flash(str(exc), "error")
    else:
        flash(f"Scheduled for {form.when.data:%Y-%m-%d %H:%M} ({current_user.timezone}).")
    return redirect(url_for("admin.issue", issue_id=issue_id))


@bp.post("/issues/<int:issue_id>/<any(unschedule, send):verb>")
def issue_action(issue_id: int, verb: str):  # type: ignore[no-untyped-def]
    """Unschedule, or start sending now."""
    if not ActionForm().validate_on_submit():
        abort(400)
    if verb == "unschedule":
        try:
            issues.unschedule(issue_id)
        except issues.IssueLocked as exc:  # its time came as the button was pressed
            flash(str(exc), "error")
        else:
            flash("Unscheduled; the issue is a draft again.")
        return redirect(url_for("admin.issue", issue_id=issue_id))
    try:
        issues.send_now(issue_id, actor=current_user.email)
    except issues.IssueProblem as exc:
        flash(str(exc), "error")
        return redirect(url_for("admin.issue", issue_id=issue_id))
    flash("Sending started.")
    return redirect(progress_url(issue_id) or url_for("admin.issue", issue_id=issue_id))


def _problem(issue: Issue) -> TemplateProblem | None:
    """What stops the issue from rendering, if anything (pages print it as its message)."""
    try:
        preview.compiled(issue)
    except TemplateProblem as exc:
        return exc
    return None


def _as_arg(form: IssueForm) -> dict[str, str]:
    return {"as": form.preview_as.data} if form.preview_as.data else {}
