"""``python worker.py --help`` says what it is and an unknown argument is refused: both used
to start a worker regardless."""

from __future__ import annotations

import os
import subprocess
import sys

from helpers.env import ROOT


def _worker(tmp_path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSLETTER_")}
    env["NEWSLETTER_INSTANCE_DIR"] = str(tmp_path / "instance")
    env["NEWSLETTER_REDIS_URL"] = "redis://127.0.0.1:1/0"  # would wait for ever to reconnect
    return subprocess.run(
        [sys.executable, os.path.join(ROOT, "worker.py"), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_help_says_what_the_worker_is_and_exits(tmp_path):
    done = _worker(tmp_path, "--help")

    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: python worker.py [-h] [--burst]")
    assert "NEWSLETTER_REDIS_URL" in done.stdout
    assert not (tmp_path / "instance").exists()  # no app was built


def test_an_unknown_argument_is_a_usage_error(tmp_path):
    done = _worker(tmp_path, "--bogus")

    assert done.returncode == 2
    assert "python worker.py: error: unrecognized arguments: --bogus" in done.stderr
