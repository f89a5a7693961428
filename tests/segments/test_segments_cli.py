"""``newsletter segments create|list|count|delete``: what a shell user sees, exit codes included
(0 done, 2 refused with one line on stderr and nothing saved)."""

from __future__ import annotations

import json

import pytest
from helpers.segments import segments_saved
from helpers.send import make_issue

from newsletter.cli import main
from newsletter.extensions import db
from newsletter.models import Issue, IssueStatus
from newsletter.segments import service

OSLO = json.dumps({"all": [{"field": "attributes.city", "op": "eq", "value": "Oslo"}]})


def test_create_prints_the_id_alone_and_count_the_live_count_alone(app, runner, people):
    created = runner.invoke(main, ["segments", "create", "Oslo", "--rules", OSLO])
    assert created.exit_code == 0, created.output
    with app.app_context():
        assert created.output == f"{service.by_name('Oslo').id}\n"
    counted = runner.invoke(main, ["segments", "count", "Oslo"])
    assert (counted.exit_code, counted.output) == (0, "3\n")  # ann, bob, dan


def test_create_with_list_keeps_only_that_lists_members(app, runner, people):
    created = runner.invoke(
        main, ["segments", "create", "Oslo weekly", "--list", "weekly", "--rules", OSLO]
    )
    assert created.exit_code == 0, created.output
    counted = runner.invoke(main, ["segments", "count", "Oslo weekly"])
    assert counted.output == "2\n"  # dan left weekly


def test_list_shows_id_name_and_count(app, runner, people):
    runner.invoke(main, ["segments", "create", "Oslo", "--rules", OSLO])
    runner.invoke(main, ["segments", "create", "Everyone", "--rules", '{"all": []}'])
    listed = runner.invoke(main, ["segments", "list"])
    assert listed.exit_code == 0
    assert [line.split() for line in listed.output.splitlines()] == [
        ["ID", "NAME", "COUNT"],
        ["2", "Everyone", "6"],
        ["1", "Oslo", "3"],
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--rules", "{all: []}"], "Error: --rules is not valid JSON"),
        (["--rules", "[" * 100_000], "Error: --rules is not valid JSON"),
        (["--rules", '{"all": [{"field": "citty"}]}'], "Error: rule 1: unknown field 'citty'"),
        (["--list", "weekley", "--rules", OSLO], "Error: no such list: 'weekley'"),
        (
            ["--rules", '{"any": [{"field": "list", "op": "eq", "value": "nope"}]}'],
            "no list 'nope'",
        ),
    ],
)
def test_bad_rules_or_an_unknown_list_exit_2_with_one_line_and_save_nothing(
    app, runner, people, args, message
):
    result = runner.invoke(main, ["segments", "create", "Bad", *args])
    assert result.exit_code == 2
    assert message in result.stderr and len(result.stderr.splitlines()) == 1
    assert result.stdout == ""
    assert segments_saved(app) == 0


def test_a_second_segment_of_the_same_name_is_refused(app, runner, people):
    runner.invoke(main, ["segments", "create", "Oslo", "--rules", OSLO])
    again = runner.invoke(main, ["segments", "create", "Oslo", "--rules", '{"all": []}'])
    assert again.exit_code == 2 and "already exists" in again.stderr
    assert segments_saved(app) == 1


def test_count_or_delete_of_an_unknown_segment_exits_2(app, runner):
    for command in ("count", "delete"):
        result = runner.invoke(main, ["segments", command, "Nope"])
        assert result.exit_code == 2 and "no such segment: 'Nope'" in result.stderr


def test_delete_is_refused_while_an_unsent_issue_targets_the_segment(app, runner, people):
    runner.invoke(main, ["segments", "create", "Oslo", "--rules", OSLO])
    with app.app_context():
        issue_id = make_issue([])
        db.session.get(Issue, issue_id).segment_id = service.by_name("Oslo").id
        db.session.commit()
    refused = runner.invoke(main, ["segments", "delete", "Oslo"])
    assert refused.exit_code == 2 and "not yet sent" in refused.stderr
    assert segments_saved(app) == 1

    with app.app_context():  # once sent, its deliveries are its audience: the segment may go
        db.session.get(Issue, issue_id).status = IssueStatus.SENT
        db.session.commit()
    deleted = runner.invoke(main, ["segments", "delete", "Oslo"])
    assert deleted.exit_code == 0, deleted.output
    assert segments_saved(app) == 0
    with app.app_context():
        assert db.session.get(Issue, issue_id).segment_id is None


def test_help_explains_the_rules(runner):
    shown = runner.invoke(main, ["segments", "create", "--help"])
    assert "attributes.KEY" in shown.output and "within_days" in shown.output
