"""``newsletter serve`` refuses a port it cannot have with one line, as every command does."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest
from helpers.env import free_port

from newsletter.cli import main


def test_serve_on_a_port_in_use_says_so_in_one_line(runner):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]

        result = runner.invoke(main, ["serve", "--port", str(port)])

    assert result.exit_code == 1
    assert f"Error: cannot listen on 127.0.0.1:{port}: Address already in use" in result.output
    assert "is running at" not in result.output  # nothing claims it serves
    assert not isinstance(result.exception, OSError)  # no traceback


@pytest.mark.timeout(30)  # before the range check, port 99999 served on for ever
def test_serve_refuses_a_port_out_of_range(runner):
    result = runner.invoke(main, ["serve", "--port", "99999"])

    assert result.exit_code == 2
    assert "Invalid value for '--port'" in result.output


def _banner(tmp_path, *args: str) -> list[str]:
    """The lines a real ``newsletter serve`` prints once it listens; then it is stopped."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSLETTER_")}
    env["NEWSLETTER_INSTANCE_DIR"] = str(tmp_path / "instance")
    server = subprocess.Popen(
        [sys.executable, "-c", "from newsletter.cli import main; main()", "serve", *args],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        lines = []
        while not lines or not lines[-1].startswith("  admin:"):
            line = server.stdout.readline()
            assert line, lines  # it exited instead
            lines.append(line.rstrip("\n"))
        return lines
    finally:
        server.terminate()
        server.wait(timeout=60)


def test_serve_on_every_interface_puts_no_wildcard_address_in_mails(tmp_path):
    port = free_port()

    lines = _banner(tmp_path, "--host", "0.0.0.0", "--port", str(port))

    assert lines[0] == f"newsletter is running at http://127.0.0.1:{port}/"
    assert lines[1].startswith(f"  links in mails point to http://127.0.0.1:{port}/ ")
    assert "set NEWSLETTER_BASE_URL to the address readers open" in lines[2]
    assert "0.0.0.0" not in "\n".join(lines)


def test_serve_on_another_port_says_the_commands_need_it_too(tmp_path):
    port = free_port()

    lines = _banner(tmp_path, "--port", str(port))

    assert lines[1].startswith(f"  links in mails point to http://127.0.0.1:{port}/ ")
    assert lines[2].startswith(f"  export NEWSLETTER_BASE_URL=http://127.0.0.1:{port} ")
