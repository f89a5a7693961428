"""``newsletter sequences``: add a step (its id printed alone), the status per step (text and
JSON), pause and resume, catch-up asked for deliberately, and clear refusals (exit 2)."""

from __future__ import annotations

import json

from helpers.outbox import wait_idle
from helpers.send import make_list
from helpers.sequences import confirmed_reader, travel

from newsletter.cli import main
from newsletter.sequences import tick


def _cli(app, *args: str, **kwargs):  # type: ignore[no-untyped-def]
    return app.test_cli_runner().invoke(main, ["sequences", *args], **kwargs)


def test_add_step_status_pause_and_resume(app, tmp_path):
    body = tmp_path / "welcome.md"
    body.write_text("Hello {{ subscriber.name }}", encoding="utf-8")
    with app.app_context():
        list_id = make_list("weekly")
    added = [
        _cli(
            app,
            "add-step",
            "--list",
            "weekly",
            "--subject",
            s,
            "--body-file",
            str(body),
            "--after",
            d,
        )
        for s, d in (("Welcome", "0m"), ("Tips", "90m"))
    ]
    assert [r.exit_code for r in added] == [0, 0], added[0].output
    ids = [int(r.output.strip()) for r in added]  # the id alone

    with app.app_context():
        confirmed_reader(list_id, "reader@example.org", "Ann")
        assert _cli(app, "pause", "--list", "weekly").exit_code == 0
        tick.send_due()
    wait_idle(app)
    status = _cli(app, "status", "--list", "weekly")
    assert status.exit_code == 0
    lines = status.output.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith(f"step {ids[0]} ") and "sent: 0" in lines[0] and "due: 1" in lines[0]
    assert "after 90m" in lines[1] and "skipped: 0" in lines[1]

    assert _cli(app, "resume", "--list", "weekly").exit_code == 0
    with app.app_context():
        tick.send_due()
        travel(91)
    wait_idle(app)
    shown = json.loads(_cli(app, "status", "--list", "weekly", "--json").output)
    assert [(s["id"], s["sent"], s["due"], s["skipped"]) for s in shown] == [
        (ids[0], 1, 0, 0),
        (ids[1], 0, 1, 0),
    ]


def test_unknown_list_or_bad_delay_exits_2_and_adds_nothing(app, tmp_path):
    body = tmp_path / "b.md"
    body.write_text("Hi", encoding="utf-8")
    with app.app_context():
        make_list("weekly")
    add = ["add-step", "--subject", "S", "--body-file", str(body)]
    for bad in (
        [*add, "--list", "nope", "--after", "1h"],
        [*add, "--list", "weekly", "--after", "soon"],
        [*add, "--list", "weekly", "--after", "5s"],
        ["status", "--list", "nope"],
        ["pause", "--list", "nope"],
    ):
        result = _cli(app, *bad)
        assert result.exit_code == 2, (bad, result.output)
    assert "like 0m, 90m, 3h or 2d" in _cli(app, *add, "--list", "weekly", "--after", "x").output
    assert _cli(app, "status", "--list", "weekly").output == ""


def test_catch_up_is_asked_for_before_it_reaches_readers_past_the_delay(app, tmp_path):
    body = tmp_path / "b.md"
    body.write_text("Hi", encoding="utf-8")
    with app.app_context():
        list_id = make_list("weekly")
        confirmed_reader(list_id, "old@example.org")
        travel(60 * 24)
    step_id = _cli(
        app,
        "add-step",
        "--list",
        "weekly",
        "--subject",
        "S",
        "--body-file",
        str(body),
        "--after",
        "1h",
    ).output.strip()

    def due() -> int:
        return json.loads(_cli(app, "status", "--list", "weekly", "--json").output)[0]["due"]

    assert due() == 0  # a day past the delay: not reached by a step added now
    assert _cli(app, "catch-up", step_id, input="n\n").exit_code == 1
    assert due() == 0
    assert _cli(app, "catch-up", step_id, "--yes").exit_code == 0
    assert due() == 1
