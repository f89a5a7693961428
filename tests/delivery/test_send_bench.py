"""The sending benchmarks at their smoke size, so they never rot: each must finish, print
one JSON line, and report a complete, duplicate-free send."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from helpers.env import REDIS_URL, ROOT

BENCH = ROOT / "bench"


def _run(script: str) -> dict:
    done = subprocess.run(
        [sys.executable, str(BENCH / script), "--smoke", "--redis-url", REDIS_URL],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=BENCH.parent,
    )
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    assert len(lines) == 1, done.stdout
    return json.loads(lines[0])


@pytest.mark.slow
def test_send_benchmark_smoke_delivers_everyone():
    result = _run("send.py")
    assert result["received"] == result["recipients"] == result["delivered"]
    assert result["duplicates"] == result["lost"] == 0
    assert result["messages_per_s"] > 0 and result["raw_limit_per_s"] > 0
    assert all(rss > 0 for rss in result["peak_rss_mb_per_worker"])


@pytest.mark.slow
def test_crash_benchmark_smoke_loses_and_doubles_nothing():
    result = _run("crash.py")
    assert result["kills"] == 3
    assert result["duplicates"] == 0 and result["lost"] == 0
    assert result["unknown"] <= result["kills"]
    assert (
        result["delivered"] + result["unknown"] - result["unknown_delivered_anyway"]
        == (result["recipients"])
    )
