"""``newsletter serve`` refuses a port it cannot have with one line, as every command does."""

from __future__ import annotations

import socket

import pytest

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
