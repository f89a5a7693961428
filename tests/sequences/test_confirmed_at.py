"""Every way a membership becomes confirmed records when (a list's sequence counts its delays
from there): the confirm link, an import with ``--confirmed``, the admin or API adding a
confirmed subscriber, coming back through preferences. And the built-in welcome, step 0,
goes out on confirmation unless the list turned it off."""

from __future__ import annotations

import pytest
from helpers.outbox import outbox_messages, wait_idle
from helpers.send import make_list
from helpers.sequences import confirmed_at, travel
from sqlalchemy import select

from newsletter.cli import main
from newsletter.extensions import db
from newsletter.models import Subscriber
from newsletter.sequences import service as sequences
from newsletter.subscribers import editing
from newsletter.subscribers import service as subscribers


def _id(email: str) -> int:
    return db.session.scalar(select(Subscriber.id).where(Subscriber.email == email))


def _welcomes(app, address: str) -> int:
    wait_idle(app)
    return sum(
        1
        for m in outbox_messages(app)
        if m["To"].endswith(address) and m["Subject"].startswith("Welcome")
    )


def test_the_confirm_link_records_the_moment_once(app):
    with app.app_context():
        weekly = make_list("weekly")
        editing.add("ann@example.org", slugs=["weekly"], confirmed=False, actor="test")
        assert confirmed_at("ann@example.org", weekly) is None
        subscribers.confirm(_id("ann@example.org"), ip=None)
        first = confirmed_at("ann@example.org", weekly)
        assert first is not None
        subscribers.confirm(_id("ann@example.org"), ip=None)  # the link followed again
        assert confirmed_at("ann@example.org", weekly) == first


def test_adding_a_confirmed_subscriber_and_coming_back_by_preferences_record_it(app):
    with app.app_context():
        weekly = make_list("weekly")
        editing.add(
            "bo@example.org", slugs=["weekly"], confirmed=True, consent_note="form", actor="test"
        )
        added = confirmed_at("bo@example.org", weekly)
        assert added is not None
        subscribers.unsubscribe(_id("bo@example.org"), "test")
        travel(60)
        subscribers.update_preferences(_id("bo@example.org"), name="Bo", slugs=["weekly"], ip=None)
        assert confirmed_at("bo@example.org", weekly) > added  # came back: a new start


def test_an_import_of_confirmed_readers_records_it(app, tmp_path):
    csv = tmp_path / "readers.csv"
    csv.write_text("email,name\ncy@example.org,Cy\ndi@example.org,Di\n", encoding="utf-8")
    with app.app_context():
        weekly = make_list("weekly")
        editing.add("di@example.org", slugs=["weekly"], confirmed=False, actor="test")
    result = app.test_cli_runner().invoke(
        main, ["import", str(csv), "--list", "weekly", "--confirmed", "--note", "paper form"]
    )
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert confirmed_at("cy@example.org", weekly) is not None  # new
        assert confirmed_at("di@example.org", weekly) is not None  # was pending


@pytest.mark.parametrize("sends_welcome", [True, False])
def test_the_built_in_welcome_goes_out_unless_the_list_turned_it_off(app, sends_welcome):
    with app.app_context():
        make_list("weekly")
        sequences.set_welcome("weekly", sends_welcome)
        editing.add("dee@example.org", slugs=["weekly"], confirmed=False, actor="test")
        subscribers.confirm(_id("dee@example.org"), ip=None)
    assert _welcomes(app, "dee@example.org") == (1 if sends_welcome else 0)
