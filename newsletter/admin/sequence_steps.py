"""Admin pages to write a sequence step: compose it (subject, Markdown body, delay), preview it
as a reader would get it, and mail a test copy.

A step is an issue of kind ``step``, so the compose form's fields, the preview
(``issues.preview``) and the test send (``issues.service.queue_test``) are the issues' own,
called on the step's issue. Unlike a draft, a step is live once added: its page saves only on
its Save button (no autosave), and Preview renders the form as typed into the preview frame
without saving anything.
"""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length, ValidationError

from ..issues import preview
from ..issues.service import EditConflict, edit_stamp
from ..lists import service as list_service
from ..mail.render import TemplateProblem
from ..models import Issue, MailingList, SequenceStep
from ..sequences import service as sequences
from . import bp
from .compose import send_test
from .forms import IssueForm, TestSendForm
from .preview_frame import framed
from .sequences import as_delay

DELAY_HINT = (
    "How long after the reader confirmed on the list: 90m, 3h or 2d (minutes, hours, days); "
    "0m sends it at once."
)


class StepForm(FlaskForm):
    """A step's subject, body and delay: the compose form's own fields, and the delay."""

    subject = IssueForm.subject
    body_md = IssueForm.body_md
    after = StringField("Send after", validators=[DataRequired(), Length(max=20)])
    preview_as = IssueForm.preview_as
    edited_from = IssueForm.edited_from

    def validate_after(self, field: StringField) -> None:
        """The delay as the CLI takes it (``--after``), or why not."""
        try:
            self.after_seconds = sequences.parse_delay(field.data.strip())
        except ValueError as exc:
            raise ValidationError(f"{exc} Write it as 90m, 3h or 2d.") from exc


def _draft(form: StepForm) -> Issue:
    """The form as typed, as an issue that is never saved: what Preview renders."""
    subject, body_md = (form.subject.data or "").strip(), form.body_md.data or ""
    return Issue(subject=subject, preheader="", body_md=body_md)


@bp.route("/lists/<int:list_id>/sequence/new", methods=["GET", "POST"])
def sequence_step_new(list_id: int):  # type: ignore[no-untyped-def]
    """Add a step at the end of the list's sequence."""
    mailing_list = list_service.get(list_id)
    form = StepForm()
    if form.validate_on_submit():
        try:
            step = sequences.add_step(
                mailing_list.slug, form.subject.data, form.body_md.data or "", form.after_seconds
            )
        except TemplateProblem as exc:
            return _refused(form, exc, mailing_list, None)
        flash(
            "Step added. It reaches readers who confirm from now on and those not yet past its "
            "delay; Catch up sends it to those already past it."
        )
        return redirect(url_for("admin.sequence_step", step_id=step.id))
    return _page(form, mailing_list, None), (400 if form.errors else 200)


@bp.route("/sequences/steps/<int:step_id>", methods=["GET", "POST"])
def sequence_step(step_id: int):  # type: ignore[no-untyped-def]
    """A step: edit it (never resent to anyone who got it), preview it, send a test."""
    step = sequences.get(step_id)
    form = StepForm(data=None if request.method == "POST" else _saved(step))
    if form.validate_on_submit():
        try:
            sequences.update_step(
                step_id,
                subject=form.subject.data,
                body_md=form.body_md.data or "",
                after_seconds=form.after_seconds,
                edited_from=form.edited_from.data or "",
            )
        except EditConflict as exc:
            flash(str(exc), "error")  # saving again replaces what the other person saved
            form.edited_from.data = exc.stamp
            return _page(form, step.mailing_list, step), 409
        except TemplateProblem as exc:
            return _refused(form, exc, step.mailing_list, step)
        flash("Step saved. Readers who already got it are not sent it again.")
        return redirect(url_for("admin.sequence_step", step_id=step_id))
    return _page(form, step.mailing_list, step), (400 if form.errors else 200)


def _refused(
    form: StepForm, exc: TemplateProblem, mailing_list: MailingList, step: SequenceStep | None
) -> tuple[str, int]:
    """A personalisation that cannot render, explained beside its field; nothing was saved."""
    getattr(form, exc.field, form.body_md).errors.append(str(exc))
    return _page(form, mailing_list, step), 400


def _saved(step: SequenceStep) -> dict[str, str]:
    return {
        "subject": step.issue.subject,
        "body_md": step.issue.body_md,
        "after": as_delay(step.delay_seconds),
        "preview_as": request.args.get("as", ""),
        "edited_from": edit_stamp(step.issue),
    }


def _page(form: StepForm, mailing_list: MailingList, step: SequenceStep | None) -> str:
    as_email = request.args.get("as", "")
    text = problem = None
    if step is not None:
        try:
            text = preview.render(step.issue, as_email).text
        except TemplateProblem as exc:
            problem = str(exc)
    return render_template(
        "admin/sequence_step.html",
        form=form,
        mailing_list=mailing_list,
        step=step,
        text=text,
        problem=problem,
        remote_hosts=preview.remote_hosts(step.issue) if step else [],
        test_form=TestSendForm(),
        delay_hint=DELAY_HINT,
        as_email=as_email,
    )


@bp.post("/sequences/preview.html")
def sequence_preview():  # type: ignore[no-untyped-def]
    """The step form as typed, rendered as a reader would get it, for the preview frame (the
    form's Preview button targets it); nothing is saved."""
    form = StepForm()
    try:
        html = preview.render(_draft(form), form.preview_as.data).html
    except TemplateProblem as exc:
        return render_template("admin/preview_problem.html", problem=str(exc)), 422
    return framed(html)


@bp.post("/sequences/steps/<int:step_id>/test")
def sequence_step_test(step_id: int):  # type: ignore[no-untyped-def]
    """Queue a test copy of the saved step to any address, as an issue's test send does."""
    send_test(sequences.get(step_id).issue_id)
    return redirect(url_for("admin.sequence_step", step_id=step_id))
