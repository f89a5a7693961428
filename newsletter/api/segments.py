"""``/api/v1/segments``: named, saved filters over subscribers, with their live counts, and
``POST /segments/count`` to count rules without saving them (the admin's live count calls
the same service function). Viewers read; editors and owners change."""

from __future__ import annotations

from flask import Response

from ..accounts.roles import requires
from ..models import Role, Segment
from ..segments import service
from . import bp
from .errors import problem
from .schemas_segments import (
    CountOut,
    Deleted,
    ListedSegment,
    RulesIn,
    SegmentIn,
    SegmentOut,
    SegmentPatch,
    SegmentsOut,
    SegmentsQuery,
)
from .spec import Answers, spec

TAGS = ["segments"]


@bp.errorhandler(service.RuleError)
@bp.errorhandler(service.NameProblem)
def _refused(exc: service.RuleError | service.NameProblem) -> Response:
    if isinstance(exc, service.NameTaken):
        return problem(409, str(exc))
    return problem(422, str(exc), errors=[{"field": exc.field, "message": str(exc)}])


def _out(segment: Segment) -> SegmentOut:
    return SegmentOut.of(segment, service.count_saved(segment.id))


@bp.get("/segments")
@requires(Role.VIEWER)
@spec.validate(query=SegmentsQuery, resp=Answers(HTTP_200=SegmentsOut), tags=TAGS)
def list_segments(query: SegmentsQuery) -> SegmentsOut:
    """Every segment; with ``?count=true`` each with its live count (a count per segment:
    over a million subscribers, up to a few tenths of a second each)."""
    return SegmentsOut(
        items=[
            ListedSegment.of(s, service.count_saved(s.id) if query.count else None)
            for s in service.all_segments()
        ]
    )


@bp.post("/segments")
@requires(Role.EDITOR)
@spec.validate(json=SegmentIn, resp=Answers(409, 415, HTTP_201=SegmentOut), tags=TAGS)
def create_segment(json: SegmentIn) -> tuple[SegmentOut, int]:
    """Save a segment; bad rules are a 422 naming the rule at fault, nothing saved."""
    return _out(service.create(json.name, json.rules)), 201


@bp.post("/segments/count")
@requires(Role.EDITOR)
@spec.validate(json=RulesIn, resp=Answers(415, HTTP_200=CountOut), tags=TAGS)
def count_rules(json: RulesIn) -> CountOut:
    """How many subscribers the rules match now, without saving them."""
    return CountOut(count=service.count(json.rules))


@bp.get("/segments/<int:segment_id>")
@requires(Role.VIEWER)
@spec.validate(resp=Answers(404, HTTP_200=SegmentOut), tags=TAGS)
def show_segment(segment_id: int) -> SegmentOut:
    """One segment, with its live count."""
    return _out(service.get(segment_id))


@bp.patch("/segments/<int:segment_id>")
@requires(Role.EDITOR)
@spec.validate(json=SegmentPatch, resp=Answers(404, 409, 415, HTTP_200=SegmentOut), tags=TAGS)
def change_segment(segment_id: int, json: SegmentPatch) -> SegmentOut:
    """Rename it and/or replace its rules."""
    return _out(service.update(segment_id, name=json.name, rules=json.rules))


@bp.delete("/segments/<int:segment_id>")
@requires(Role.EDITOR)
@spec.validate(resp=Answers(404, 409, HTTP_200=Deleted), tags=TAGS)
def delete_segment(segment_id: int) -> Deleted:
    """Delete it; 409 while an issue not yet sent targets it."""
    service.delete(segment_id)
    return Deleted(id=segment_id, deleted=True)
