"""``/api/v1/issues``: write drafts, send or schedule them, and follow their sending.

The same services as the admin's compose and sending pages (``issues.service``,
``delivery.service``). A public issue for private lists needs ``publish_private: true``, the
admin's deliberate tick; a body whose ``{{ … }}`` expressions cannot render is refused when
saved, as ``newsletter issue create`` refuses it. ``segment`` is a segment's id (null: the
lists alone); an unknown one is a 422 naming ``segment``.
"""

from __future__ import annotations

from flask import Response

from ..accounts.audit import current_actor
from ..accounts.roles import requires
from ..delivery import service as delivery
from ..issues import preview
from ..issues import service as issues
from ..lists import service as lists
from ..mail.render import TemplateProblem
from ..models import Issue, Role
from . import bp
from .errors import problem
from .schemas_issues import (
    IssueIn,
    IssueOut,
    IssuePatch,
    IssueProgress,
    IssueQuery,
    IssuesOut,
    ScheduleIn,
)
from .spec import Answers, FieldError, RequestInvalid, spec

TAGS = ["issues"]
# The services' (and compose form's) names for fields the API calls otherwise.
FIELDS = {"body_md": "body_markdown", "is_public": "public", "when": "at", "segment_id": "segment"}


@bp.errorhandler(issues.IssueProblem)
def _issue_refused(exc: issues.IssueProblem) -> Response:
    if isinstance(exc, issues.IssueLocked) or not exc.field:
        return problem(409, str(exc))  # the issue's state, not a field, stands in the way
    field = FIELDS.get(exc.field, exc.field)
    return problem(422, str(exc), errors=[{"field": field, "message": str(exc)}])


@bp.errorhandler(TemplateProblem)
def _template_refused(exc: TemplateProblem) -> Response:
    field = FIELDS.get(exc.field, exc.field)
    return problem(422, str(exc), errors=[{"field": field, "message": str(exc)}])


def _list_ids(slugs: list[str]) -> list[int]:
    try:
        return [lists.by_slug(slug).id for slug in dict.fromkeys(slugs)]
    except lists.NoSuchList as exc:
        raise RequestInvalid([FieldError(field="lists", message=str(exc))]) from None


def _save(issue_id: int | None, fields: dict, publish_private: bool) -> Issue:
    """Check the issue renders, then save it as compose does."""
    preview.compiled(Issue(**{k: fields[k] for k in ("subject", "preheader", "body_md")}))
    return issues.save(
        issue_id,
        subject=fields["subject"],
        preheader=fields["preheader"],
        body_md=fields["body_md"],
        list_ids=fields["list_ids"],
        is_public=fields["is_public"],
        publish_private=publish_private,
        segment_id=fields["segment_id"],
    )


@bp.get("/issues")
@requires(Role.VIEWER)
@spec.validate(query=IssueQuery, resp=Answers(HTTP_200=IssuesOut), tags=TAGS)
def list_issues(query: IssueQuery) -> IssuesOut:
    """The newest issues, drafts included."""
    return IssuesOut(items=[IssueOut.of(i) for i in issues.recent(query.limit)])


@bp.post("/issues")
@requires(Role.EDITOR)
@spec.validate(json=IssueIn, resp=Answers(409, 415, HTTP_201=IssueOut), tags=TAGS)
def create_issue(json: IssueIn) -> tuple[IssueOut, int]:
    """Write a new draft."""
    fields = {
        "subject": json.subject,
        "preheader": json.preheader or "",
        "body_md": json.body_markdown,
        "list_ids": _list_ids(json.lists or []),
        "is_public": bool(json.public),
        "segment_id": json.segment,
    }
    return IssueOut.of(_save(None, fields, json.publish_private)), 201


@bp.get("/issues/<int:issue_id>")
@requires(Role.VIEWER)
@spec.validate(resp=Answers(404, HTTP_200=IssueOut), tags=TAGS)
def show_issue(issue_id: int) -> IssueOut:
    """One issue."""
    return IssueOut.of(issues.get(issue_id))


@bp.patch("/issues/<int:issue_id>")
@requires(Role.EDITOR)
@spec.validate(json=IssuePatch, resp=Answers(404, 409, 415, HTTP_200=IssueOut), tags=TAGS)
def change_issue(issue_id: int, json: IssuePatch) -> IssueOut:
    """Change a draft or a scheduled issue; what is left out stays as it is."""
    issue = issues.get(issue_id)
    fields = {
        "subject": issue.subject if json.subject is None else json.subject,
        "preheader": issue.preheader if json.preheader is None else json.preheader,
        "body_md": issue.body_md if json.body_markdown is None else json.body_markdown,
        "list_ids": [ml.id for ml in issue.lists] if json.lists is None else _list_ids(json.lists),
        "is_public": issue.is_public if json.public is None else json.public,
        # Sent as null, it goes; left out, it stays.
        "segment_id": json.segment if "segment" in json.model_fields_set else issue.segment_id,
    }
    # Saved public for private lists: that choice was confirmed when it was saved (as compose).
    confirmed = issue.is_public and bool(issues.private_names(issue.lists))
    return IssueOut.of(_save(issue_id, fields, json.publish_private or confirmed))


@bp.post("/issues/<int:issue_id>/send")
@requires(Role.EDITOR)
@spec.validate(resp=Answers(404, 409, HTTP_202=IssueOut), tags=TAGS)
def send_issue(issue_id: int) -> tuple[IssueOut, int]:
    """Start sending now; follow it at `/issues/{id}/status`."""
    issues.send_now(issue_id, actor=current_actor())
    return IssueOut.of(issues.get(issue_id)), 202


@bp.post("/issues/<int:issue_id>/schedule")
@requires(Role.EDITOR)
@spec.validate(json=ScheduleIn, resp=Answers(404, 409, 415, HTTP_200=IssueOut), tags=TAGS)
def schedule_issue(issue_id: int, json: ScheduleIn) -> IssueOut:
    """Send at `at` (ISO 8601 with an offset; a time without one is refused)."""
    return IssueOut.of(issues.schedule(issue_id, json.at))


@bp.get("/issues/<int:issue_id>/status")
@requires(Role.VIEWER)
@spec.validate(resp=Answers(404, HTTP_200=IssueProgress), tags=TAGS)
def issue_status(issue_id: int) -> IssueProgress:
    """Delivery counts and pace, as `newsletter status ID --json` prints them."""
    issues.get(issue_id)
    return IssueProgress(**delivery.progress(issue_id).as_dict())
