"""``newsletter --help`` lists our commands and nothing an installed extension slipped in."""

from __future__ import annotations

import re

import click
from flask.cli import ScriptInfo

from newsletter.cli import main


def _listed(output: str) -> list[str]:
    commands = output.split("Commands:", 1)[1]
    return re.findall(r"^  (\S+)", commands, re.MULTILINE)


def test_help_lists_only_our_commands(runner):
    result = runner.invoke(main, ["--help"])

    assert result.exit_code == 0, result.output
    listed = _listed(result.output)
    assert {"serve", "worker", "tick", "db", "import", "send", "bounces", "erase"} <= set(listed)
    assert "limiter" not in listed
    with click.Context(main, obj=ScriptInfo(create_app=lambda: runner.app)) as ctx:
        for name in listed:
            command = main.get_command(ctx, name)
            module = command.callback.__module__ if command.callback else command.__module__
            # Flask-Migrate's `db` is the one we document (`newsletter db upgrade`).
            assert module.startswith("newsletter") or name == "db", (name, module)


def test_flask_limiter_command_is_not_there(runner):
    result = runner.invoke(main, ["limiter", "--help"])

    assert result.exit_code == 2
    assert "No such command 'limiter'" in result.output
