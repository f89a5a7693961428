"""``/api/v1/sequences``: lists' sequences, one item per step, as the admin's sequence pages
offer them (``sequences.service``, as the admin and ``newsletter sequences`` call it).

A step is addressed by its id, as segments and webhooks are: ``GET /sequences?list=SLUG``,
``POST /sequences``, ``GET|PATCH|DELETE /sequences/{step_id}``, and
``POST /sequences/{step_id}/catch-up`` for the deliberate catch-up. A list's sequence as a whole
(paused or running, the built-in welcome mail on or off) is ``GET|PATCH
/sequences/lists/{slug}``. A delay is ``90m``, ``3h`` or ``2d`` as on the command line; a body
whose ``{{ … }}`` cannot render is a 422 naming ``body_markdown`` (the handler in
``api.issues``, as for issues). Editing a step never sends it again to anyone who got it.
"""

from __future__ import annotations

from ..accounts.roles import requires
from ..lists import service as lists
from ..mail.render import TemplateProblem
from ..models import MailingList, Role, SequenceStep
from ..sequences import service as sequences
from . import bp
from .schemas_sequences import (
    SequenceOut,
    SequencePatch,
    StepDeleted,
    StepIn,
    StepOut,
    StepPatch,
    StepQuery,
    StepsOut,
)
from .spec import Answers, FieldError, RequestInvalid, spec

TAGS = ["sequences"]


def _refused(field: str, exc: ValueError) -> RequestInvalid:
    return RequestInvalid([FieldError(field=field, message=str(exc))])


def _seconds(after: str) -> int:
    try:
        return sequences.parse_delay(after)
    except ValueError as exc:
        raise _refused("after", exc) from None


def _list(slug: str) -> MailingList:
    """The list a request body names: an unknown one is a refused field, not a missing page."""
    try:
        return lists.by_slug(slug)
    except lists.NoSuchList as exc:
        raise _refused("list", exc) from None


def _steps(mailing_list: MailingList) -> list[StepOut]:
    """The list's steps in order, with their progress."""
    answered = []
    for progress in sequences.steps(mailing_list.slug):
        step = sequences.get(progress.id)
        answered.append(
            StepOut(
                id=step.id,
                list=mailing_list.slug,
                position=step.position,
                subject=step.issue.subject,
                body_markdown=step.issue.body_md,
                after_seconds=step.delay_seconds,
                catch_up=progress.catch_up,
                sent=progress.sent,
                due=progress.due,
                skipped=progress.skipped,
                failed=progress.failed,
                unknown=progress.unknown,
                created_at=step.created_at,
                updated_at=step.issue.updated_at,
            )
        )
    return answered


def _one(step: SequenceStep) -> StepOut:
    return next(s for s in _steps(step.mailing_list) if s.id == step.id)


def _sequence(mailing_list: MailingList) -> SequenceOut:
    return SequenceOut(
        list=mailing_list.slug,
        paused=mailing_list.sequence_paused_at is not None,
        paused_at=mailing_list.sequence_paused_at,
        welcome=mailing_list.sends_welcome,
        steps=_steps(mailing_list),
    )


@bp.get("/sequences")
@requires(Role.VIEWER)
@spec.validate(query=StepQuery, resp=Answers(404, HTTP_200=StepsOut), tags=TAGS)
def list_steps(query: StepQuery) -> StepsOut:
    """The list's steps in order, with their progress; every list's without ``list``."""
    chosen = [lists.by_slug(query.list)] if query.list else lists.all_lists()
    return StepsOut(items=[step for lst in chosen for step in _steps(lst)])


@bp.post("/sequences")
@requires(Role.EDITOR)
@spec.validate(json=StepIn, resp=Answers(415, HTTP_201=StepOut), tags=TAGS)
def create_step(json: StepIn) -> tuple[StepOut, int]:
    """Add a step at the end of the list's sequence."""
    mailing_list, after = _list(json.list), _seconds(json.after)
    try:
        step = sequences.add_step(
            mailing_list.slug, json.subject, json.body_markdown, after, catch_up=json.catch_up
        )
    except TemplateProblem:
        raise
    except ValueError as exc:  # a subject of spaces only
        raise _refused("subject", exc) from None
    return _one(step), 201


@bp.get("/sequences/<int:step_id>")
@requires(Role.VIEWER)
@spec.validate(resp=Answers(404, HTTP_200=StepOut), tags=TAGS)
def show_step(step_id: int) -> StepOut:
    """One step with its progress."""
    return _one(sequences.get(step_id))


@bp.patch("/sequences/<int:step_id>")
@requires(Role.EDITOR)
@spec.validate(json=StepPatch, resp=Answers(404, 415, HTTP_200=StepOut), tags=TAGS)
def change_step(step_id: int, json: StepPatch) -> StepOut:
    """Change the step's subject, body, delay or place; nobody who got it is sent it again."""
    sequences.get(step_id)
    after = None if json.after is None else _seconds(json.after)
    try:
        step = sequences.update_step(
            step_id, subject=json.subject, body_md=json.body_markdown, after_seconds=after
        )
    except TemplateProblem:
        raise
    except ValueError as exc:
        raise _refused("subject", exc) from None
    if json.position is not None:
        step = sequences.move_step(step_id, json.position)
    return _one(step)


@bp.delete("/sequences/<int:step_id>")
@requires(Role.EDITOR)
@spec.validate(resp=Answers(404, HTTP_200=StepDeleted), tags=TAGS)
def delete_step(step_id: int) -> StepDeleted:
    """Delete the step; copies waiting to go out are cancelled."""
    sequences.delete_step(step_id)
    return StepDeleted(id=step_id, deleted=True)


@bp.post("/sequences/<int:step_id>/catch-up")
@requires(Role.EDITOR)
@spec.validate(resp=Answers(404, HTTP_200=StepOut), tags=TAGS)
def catch_up_step(step_id: int) -> StepOut:
    """Send the step to every reader confirmed on its list who is past its delay and has not
    had it (at the next tick); its ``due`` says how many."""
    return _one(sequences.catch_up(step_id))


@bp.get("/sequences/lists/<slug>")
@requires(Role.VIEWER)
@spec.validate(resp=Answers(404, HTTP_200=SequenceOut), tags=TAGS)
def show_sequence(slug: str) -> SequenceOut:
    """The list's sequence: paused or running, the welcome mail, the steps."""
    return _sequence(lists.by_slug(slug))


@bp.patch("/sequences/lists/<slug>")
@requires(Role.EDITOR)
@spec.validate(json=SequencePatch, resp=Answers(404, 415, HTTP_200=SequenceOut), tags=TAGS)
def change_sequence(slug: str, json: SequencePatch) -> SequenceOut:
    """Pause or resume the list's sequence; turn the built-in welcome mail on or off."""
    mailing_list = lists.by_slug(slug)
    if json.paused is not None:
        (sequences.pause if json.paused else sequences.resume)(slug)
    if json.welcome is not None:
        sequences.set_welcome(slug, json.welcome)
    return _sequence(mailing_list)
