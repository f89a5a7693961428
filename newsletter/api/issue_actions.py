"""``/api/v1/issues/{id}/…``: what the admin's issue and sending pages do besides writing,
sending and scheduling: a test mail, unschedule, delete, duplicate, and pause, resume,
cancel, retry the failed and resend the unknown deliveries of a sending.

The same services as those pages and the CLI (``issues.service``, ``issues.drafts``,
``delivery.service``); what an issue's state does not allow is a 409, as there.
"""

from __future__ import annotations

from typing import Annotated

from flask import Response
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from ..accounts.audit import current_actor
from ..accounts.roles import requires
from ..delivery import service as delivery
from ..issues import drafts
from ..issues import service as issues
from ..models import Role
from ..subscribers.addresses import normalise_address
from . import bp
from .errors import problem
from .lists import NO_NUL
from .schemas_issues import IssueOut
from .spec import Answers, FieldError, RequestInvalid, spec

TAGS = ["issues"]


class TestIn(BaseModel):
    """Where to send the test copy: any address, subscriber or not."""

    model_config = ConfigDict(extra="forbid")

    address: Annotated[str, StringConstraints(max_length=254, pattern=NO_NUL)] = Field(
        json_schema_extra={"format": "email"}
    )


class TestQueued(BaseModel):
    """The test mail is queued; it goes out within seconds."""

    issue_id: int
    address: str


class Requeued(BaseModel):
    """How many deliveries were queued again; follow them at `/issues/{id}/status`."""

    issue_id: int
    requeued: int


class Deleted(BaseModel):
    """The issue is gone for good."""

    id: int
    deleted: bool


@bp.errorhandler(delivery.SendingError)
def _sending_refused(exc: delivery.SendingError) -> Response:
    return problem(409, str(exc))  # the issue's sending state stands in the way


@bp.post("/issues/<int:issue_id>/test")
@requires(Role.EDITOR)
@spec.validate(json=TestIn, resp=Answers(404, 415, HTTP_202=TestQueued), tags=TAGS)
def test_issue(issue_id: int, json: TestIn) -> tuple[TestQueued, int]:
    """Mail a test copy to `address` (the admin's Test button); refused if it cannot render."""
    try:
        address = normalise_address(json.address)
    except ValueError as exc:
        raise RequestInvalid([FieldError(field="address", message=str(exc))]) from None
    issues.queue_test(issue_id, address)
    return TestQueued(issue_id=issue_id, address=address), 202


@bp.post("/issues/<int:issue_id>/unschedule")
@requires(Role.EDITOR)
@spec.validate(resp=Answers(404, 409, HTTP_200=IssueOut), tags=TAGS)
def unschedule_issue(issue_id: int) -> IssueOut:
    """Back to a draft; a draft stays one. An issue that has started sending is a 409."""
    return IssueOut.of(issues.unschedule(issue_id, actor=current_actor()))


@bp.delete("/issues/<int:issue_id>")
@requires(Role.EDITOR)
@spec.validate(resp=Answers(404, 409, HTTP_200=Deleted), tags=TAGS)
def delete_issue(issue_id: int) -> Deleted:
    """Delete a draft or a scheduled issue for good; one that has started sending is a 409."""
    drafts.delete(issue_id)
    return Deleted(id=issue_id, deleted=True)


@bp.post("/issues/<int:issue_id>/duplicate")
@requires(Role.EDITOR)
@spec.validate(resp=Answers(404, HTTP_201=IssueOut), tags=TAGS)
def duplicate_issue(issue_id: int) -> tuple[IssueOut, int]:
    """A new draft copied from any issue: subject marked “(copy)”, body, lists, `public`."""
    return IssueOut.of(drafts.duplicate(issue_id)), 201


@bp.post("/issues/<int:issue_id>/pause")
@requires(Role.EDITOR)
@spec.validate(resp=Answers(404, 409, HTTP_200=IssueOut), tags=TAGS)
def pause_issue(issue_id: int) -> IssueOut:
    """Stop sending within a second; what was handed to the mail server is unaffected."""
    issues.get(issue_id)
    delivery.pause(issue_id)
    return IssueOut.of(issues.get(issue_id))


@bp.post("/issues/<int:issue_id>/resume")
@requires(Role.EDITOR)
@spec.validate(resp=Answers(404, 409, HTTP_200=IssueOut), tags=TAGS)
def resume_issue(issue_id: int) -> IssueOut:
    """Carry on sending a paused issue."""
    issues.get(issue_id)
    delivery.resume(issue_id)
    return IssueOut.of(issues.get(issue_id))


@bp.post("/issues/<int:issue_id>/cancel")
@requires(Role.EDITOR)
@spec.validate(resp=Answers(404, 409, HTTP_200=IssueOut), tags=TAGS)
def cancel_issue(issue_id: int) -> IssueOut:
    """Stop sending for good: nothing not yet handed to the mail server will go out."""
    issues.get(issue_id)
    delivery.cancel(issue_id)
    return IssueOut.of(issues.get(issue_id))


@bp.post("/issues/<int:issue_id>/retry-failed")
@requires(Role.EDITOR)
@spec.validate(resp=Answers(404, 409, HTTP_200=Requeued), tags=TAGS)
def retry_failed(issue_id: int) -> Requeued:
    """Queue again the failed deliveries that may yet get through: neither a 5xx refusal
    nor a suppressed address is retried."""
    issues.get(issue_id)
    return Requeued(issue_id=issue_id, requeued=delivery.retry_failed(issue_id))


@bp.post("/issues/<int:issue_id>/resend-unknown")
@requires(Role.EDITOR)
@spec.validate(resp=Answers(404, 409, HTTP_200=Requeued), tags=TAGS)
def resend_unknown(issue_id: int) -> Requeued:
    """Queue again the deliveries whose fate is unknown (a subscriber may get a second copy)."""
    issues.get(issue_id)
    return Requeued(issue_id=issue_id, requeued=delivery.resend_unknown(issue_id))
