"""The sequence service's own rules: delays as people write them, steps kept in order when
moved or deleted, and refusals that save nothing."""

from __future__ import annotations

import threading

import pytest
from helpers.race import meanwhile
from helpers.send import make_list
from sqlalchemy import func, select

from newsletter.errors import NotFound
from newsletter.extensions import db
from newsletter.mail.render import TemplateProblem
from newsletter.models import Issue, SequenceStep
from newsletter.sequences import service


@pytest.mark.parametrize(
    ("text", "seconds"), [("0m", 0), ("90m", 5400), ("3h", 10800), ("2d", 172800), (" 5 m ", 300)]
)
def test_delays_are_minutes_hours_or_days(text, seconds):
    assert service.parse_delay(text) == seconds
    assert service.parse_delay(service.format_delay(seconds)) == seconds


@pytest.mark.parametrize("text", ["", "5", "5s", "-1m", "1.5h", "2w", "m", "9999999d"])
def test_anything_else_is_a_clear_error(text):
    with pytest.raises(ValueError, match="delay"):
        service.parse_delay(text)


def test_steps_keep_their_order_when_moved_or_deleted(app):
    with app.app_context():
        make_list("weekly")
        one, _, three = (service.add_step("weekly", s, s, 0).id for s in ("A", "B", "C"))
        service.move_step(three, 1)
        assert [(p.subject, p.position) for p in service.steps("weekly")] == [
            ("C", 1),
            ("A", 2),
            ("B", 3),
        ]
        service.delete_step(one)
        assert [(p.subject, p.position) for p in service.steps("weekly")] == [("C", 1), ("B", 2)]
        assert db.session.scalar(select(func.count()).select_from(Issue)) == 2  # its issue went
        with pytest.raises(NotFound):
            service.delete_step(one)


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_two_steps_added_at_the_same_instant_take_the_next_two_places(app):
    with app.app_context():
        make_list("weekly")

    def add(subject: str) -> None:
        with app.app_context():
            service.add_step("weekly", subject, subject, 0)

    other = threading.Thread(target=add, args=("B",))

    def other_request() -> None:  # B begins after A read the steps, and may finish first
        other.start()
        other.join(timeout=2)

    with app.app_context(), meanwhile(SequenceStep.__table__, other_request):
        service.add_step("weekly", "A", "A", 0)
    other.join()
    with app.app_context():
        assert sorted(p.position for p in service.steps("weekly")) == [1, 2]


def test_refused_steps_save_nothing(app):
    with app.app_context():
        make_list("weekly")
        with pytest.raises(NotFound):
            service.add_step("nope", "S", "Body", 0)
        with pytest.raises(ValueError, match="subject"):
            service.add_step("weekly", "  ", "Body", 0)
        with pytest.raises(TemplateProblem):
            service.add_step("weekly", "S", "Hello {{ subscriber.name ", 0)
        step_id = service.add_step("weekly", "Kept", "Kept body", 60).id
        with pytest.raises(TemplateProblem):
            service.update_step(step_id, subject="Changed", body_md="{{ broken")
        with pytest.raises(ValueError):
            service.update_step(step_id, subject="Changed", after_seconds=-1)
        db.session.commit()  # a later commit in the same request must not save half of it
        [step] = service.steps("weekly")
        assert (step.subject, step.after_seconds) == ("Kept", 60)
        assert service.get(step_id).issue.body_md == "Kept body"
