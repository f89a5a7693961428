"""A segment deleted by one admin while another chooses it as a draft's audience: the delete is
refused, and the draft keeps its segment. Before, the draft silently lost it and would have gone
to everyone on its lists."""

from __future__ import annotations

import pytest
from helpers.race import meanwhile
from helpers.send import make_list
from sqlalchemy import update

from newsletter.errors import NotAllowed
from newsletter.extensions import db
from newsletter.issues import service as issues
from newsletter.models import Issue, Segment
from newsletter.segments import service as segments

OSLO = {"all": [{"field": "attributes.city", "op": "eq", "value": "Oslo"}]}


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_a_segment_chosen_for_a_draft_while_it_is_deleted_stays(app):
    with app.app_context():
        list_id = make_list()
        segment_id = segments.create("Oslo", OSLO).id
        draft_id = issues.save(None, subject="Oslo news", list_ids=[list_id]).id

        def choose_it() -> None:  # the other admin saves the draft with the segment
            with db.engine.connect() as other:
                other.execute(
                    update(Issue).where(Issue.id == draft_id).values(segment_id=segment_id)
                )
                other.commit()

        with meanwhile(Issue.__table__, choose_it), pytest.raises(NotAllowed, match="Oslo news"):
            segments.delete(segment_id)

        db.session.rollback()
        assert db.session.get(Issue, draft_id).segment_id == segment_id
        assert db.session.get(Segment, segment_id) is not None


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_a_draft_saved_with_a_segment_deleted_meanwhile_is_told_so(app):
    with app.app_context():
        list_id = make_list()
        segment_id = segments.create("Oslo", OSLO).id
        draft_id = issues.save(None, subject="Oslo news", list_ids=[list_id]).id
        db.session.remove()

        def delete_it() -> None:  # the other admin deletes the segment
            with app.app_context():
                segments.delete(segment_id)

        refused = pytest.raises(issues.IssueProblem, match="no segment")
        with meanwhile(Segment.__table__, delete_it), refused:
            issues.save(draft_id, subject="Oslo news", list_ids=[list_id], segment_id=segment_id)

        db.session.rollback()
        assert db.session.get(Issue, draft_id).segment_id is None
