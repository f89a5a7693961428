"""Admin pages for lists' sequences (welcome series, drips): every list's steps, one list's
sequence with each step's progress, pausing and resuming it, the built-in welcome mail's
switch, and the two steps that take a confirmation page: catch-up and delete.

Writing a step (compose, preview, test send) is ``admin.sequence_steps``.
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for

from ..lists import service as list_service
from ..models import SequenceStep, utcnow
from ..sequences import due
from ..sequences import service as sequences
from . import bp
from .forms import ActionForm

# Seconds per unit, largest first: a delay is shown in the largest unit that divides it.
UNITS = (("d", "day", 86400), ("h", "hour", 3600), ("m", "minute", 60))


def as_delay(seconds: int) -> str:
    """A delay as the admin types it: ``2d``, ``3h``, ``90m``, ``0m``."""
    for short, _word, size in UNITS:
        if seconds and seconds % size == 0:
            return f"{seconds // size}{short}"
    return f"{seconds // 60}m"


@bp.app_template_filter("after_delay")
def after_delay(seconds: int) -> str:
    """A delay in words: "after 2 days", "after 90 minutes", "at once"."""
    if seconds < 60:
        return "at once"
    for _short, word, size in UNITS:
        if seconds % size == 0:
            count = seconds // size
            return f"after {count} {word}{'' if count == 1 else 's'}"
    return f"after {seconds // 60} minutes"


@bp.get("/sequences", endpoint="sequences")
def sequences_page():  # type: ignore[no-untyped-def]
    """Every list with its sequence's steps, state and welcome switch."""
    lists = list_service.all_lists(include_archived=False)
    return render_template(
        "admin/sequences.html",
        lists=lists,
        steps={lst.id: sequences.steps(lst.slug) for lst in lists},
    )


@bp.get("/lists/<int:list_id>/sequence")
def sequence(list_id: int):  # type: ignore[no-untyped-def]
    """One list's sequence: the welcome mail, each step's delay, subject and progress."""
    mailing_list = list_service.get(list_id)
    return render_template(
        "admin/sequence.html",
        mailing_list=mailing_list,
        steps=sequences.steps(mailing_list.slug),
        action=ActionForm(),
    )


# What each button of the sequence page does, and what it says once done.
ACTIONS = {
    "pause": (sequences.pause, "Sequence paused: no step is sent until you resume it."),
    "resume": (sequences.resume, "Sequence resumed: steps that came due meanwhile go out now."),
    "welcome-on": (
        lambda slug: sequences.set_welcome(slug, True),
        "The welcome mail is sent again on confirmation.",
    ),
    "welcome-off": (
        lambda slug: sequences.set_welcome(slug, False),
        "The welcome mail is off: readers get step 1 first.",
    ),
}


@bp.post("/lists/<int:list_id>/sequence/<any(pause, resume, 'welcome-on', 'welcome-off'):verb>")
def sequence_action(list_id: int, verb: str):  # type: ignore[no-untyped-def]
    """Pause or resume the list's sequence; turn its welcome mail on or off."""
    if not ActionForm().validate_on_submit():
        abort(400)
    mailing_list = list_service.get(list_id)
    change, done = ACTIONS[verb]
    change(mailing_list.slug)
    flash(done)
    return redirect(url_for("admin.sequence", list_id=list_id))


@bp.post("/sequences/steps/<int:step_id>/<any(up, down):verb>")
def sequence_step_move(step_id: int, verb: str):  # type: ignore[no-untyped-def]
    """Move the step one place earlier or later: a reader gets a step only once the ones
    before it have gone out to them, whatever its delay."""
    if not ActionForm().validate_on_submit():
        abort(400)
    step = sequences.get(step_id)
    moved = sequences.move_step(step_id, max(1, step.position + (-1 if verb == "up" else 1)))
    flash(f"“{moved.issue.subject}” is step {moved.position} now.")
    return redirect(url_for("admin.sequence", list_id=moved.list_id))


def catch_up_count(step: SequenceStep) -> int:
    """How many readers catch-up would send the step to now: those confirmed on the list past
    its delay who have not had it, counted as the tick counts due readers, as if the step
    reached every reader (``due.readers``, on an unsaved copy of the step)."""
    everyone = SequenceStep(
        list_id=step.list_id,
        issue_id=step.issue_id,
        position=step.position,
        delay_seconds=step.delay_seconds,
        reaches_confirmed_since=None,
    )
    return due.count(everyone, utcnow())


@bp.route("/sequences/steps/<int:step_id>/catch-up", methods=["GET", "POST"])
def sequence_step_catch_up(step_id: int):  # type: ignore[no-untyped-def]
    """GET: say how many readers would get the step now; POST: send it to them."""
    step = sequences.get(step_id)
    form = ActionForm()
    if request.method == "GET":
        return render_template(
            "admin/sequence_catch_up.html",
            step=step,
            count=catch_up_count(step),
            form=form,
            reaches_all=step.reaches_confirmed_since is None,
        )
    if not form.validate_on_submit():
        abort(400)
    count = catch_up_count(step)
    sequences.catch_up(step_id)
    flash(
        f"Catching up: “{step.issue.subject}” goes to {count} "
        f"{'reader' if count == 1 else 'readers'} at the next tick."
    )
    return redirect(url_for("admin.sequence", list_id=step.list_id))


@bp.route("/sequences/steps/<int:step_id>/delete", methods=["GET", "POST"])
def sequence_step_delete(step_id: int):  # type: ignore[no-untyped-def]
    """GET: ask to confirm; POST: delete the step (its copies already sent stay sent)."""
    step = sequences.get(step_id)
    form = ActionForm()
    if request.method == "GET":
        return render_template("admin/sequence_step_delete.html", step=step, form=form)
    if not form.validate_on_submit():
        abort(400)
    list_id, subject = step.list_id, step.issue.subject
    sequences.delete_step(step_id)
    flash(f"Deleted step “{subject}”.")
    return redirect(url_for("admin.sequence", list_id=list_id))
