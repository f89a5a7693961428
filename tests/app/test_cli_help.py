"""``newsletter --help`` lists our commands and nothing an installed extension slipped in."""

from __future__ import annotations

import re
from importlib.metadata import version

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


def _every_command(group: click.Group, ctx: click.Context, path: tuple[str, ...] = ()):
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        yield (*path, name)
        if isinstance(command, click.Group) and name != "db":  # db: Flask-Migrate's own
            yield from _every_command(command, ctx, (*path, name))


def test_every_commands_help_is_plain_text(runner):
    """Docstrings become --help: reST markup (``sent``) shows there as typed."""
    with click.Context(main, obj=ScriptInfo(create_app=lambda: runner.app)) as ctx:
        paths = list(_every_command(main, ctx))
    assert ("sequences", "status") in paths

    for path in paths:
        result = runner.invoke(main, [*path, "--help"])
        assert result.exit_code == 0, (path, result.output)
        assert "``" not in result.output, (path, result.output)


def test_sequences_status_help_names_every_count_it_prints(runner):
    result = runner.invoke(main, ["sequences", "status", "--help"])

    for count in ("sent", "due", "skipped", "failed", "unknown"):
        assert count in result.output


def test_version_is_ours(runner):
    result = runner.invoke(main, ["--version"])

    assert result.exit_code == 0
    assert result.output == f"newsletter, version {version('newsletter')}\n"
