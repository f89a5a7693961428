"""Every setting is checked at start: nonsense stops `newsletter …` and `python worker.py`
with one line naming the variable and what it may be, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from click.testing import CliRunner
from helpers.env import ROOT

from newsletter.cli import main

BAD = [
    ("CONFIRM_MAX_AGE_DAYS", "0", "a whole number from 1 to 365"),
    ("SESSION_IDLE_MINUTES", "-5", "a whole number from 1"),
    ("BATCH_SIZE", "lots", "a whole number"),
    ("SMTP_URL", "http://user:hunter2@mail.example.org", "smtp:// or smtps://"),
    ("REDIS_URL", "localhost:6379", "redis://"),
    ("BASE_URL", "news.example.org", "http:// or https://"),
    ("FROM", "newsletter", "a mail address"),
    ("CONSENT_IP", "sometimes", "one of keep, hash, drop"),
    ("SIGNUP_RATE_LIMIT", "ten a minute", "a rate like"),
    ("CORS_ORIGINS", "https://blog.example/page", "origins like"),
    ("TRUSTED_PROXIES", "everyone", "a number of proxy hops"),
    ("TICK_SECONDS", "0", "above 0"),
    ("PAUSE_FAILURE_SHARE", "2", "from 0 to 1"),
]


def _env(tmp_path, **settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSLETTER_")}
    env["NEWSLETTER_INSTANCE_DIR"] = str(tmp_path / "instance")
    env.update({f"NEWSLETTER_{k}": v for k, v in settings.items()})
    return env


@pytest.mark.parametrize(("name", "value", "allowed"), BAD)
def test_a_bad_setting_stops_the_command_with_one_clear_line(tmp_path, name, value, allowed):
    env = {f"NEWSLETTER_{name}": value, "NEWSLETTER_INSTANCE_DIR": str(tmp_path / "instance")}
    result = CliRunner().invoke(main, ["tick"], env=env)
    assert result.exit_code == 2, result.output
    assert result.output.strip().splitlines() == [result.output.strip()]
    assert result.output.startswith(f"Error: NEWSLETTER_{name} must be ")
    assert allowed in result.output
    assert "hunter2" not in result.output  # a URL's password is never repeated
    assert not (tmp_path / "instance").exists()  # refused before anything was made


def test_dkim_key_and_selector_go_together(tmp_path):
    key = tmp_path / "dkim.pem"
    key.write_text("not checked here")
    env = {"NEWSLETTER_DKIM_KEY_FILE": str(key), "NEWSLETTER_INSTANCE_DIR": str(tmp_path)}
    result = CliRunner().invoke(main, ["tick"], env=env)
    assert result.exit_code == 2
    assert "NEWSLETTER_DKIM_KEY_FILE and NEWSLETTER_DKIM_SELECTOR go together" in result.output


def test_good_settings_are_kept_as_numbers(make_app):
    app = make_app(CONFIRM_MAX_AGE_DAYS="1", SEND_RATE="2.5", DELIVERY_RETENTION_DAYS="0")
    assert app.config["CONFIRM_MAX_AGE_DAYS"] == 1
    assert app.config["SEND_RATE"] == 2.5
    assert app.config["DELIVERY_RETENTION_DAYS"] == 0  # 0 means "keep forever" here


@pytest.mark.parametrize(
    "command",
    [["newsletter", "serve", "--port", "1"], [sys.executable, os.path.join(ROOT, "worker.py")]],
    ids=["serve", "worker"],
)
def test_serve_and_worker_exit_with_the_line_alone(tmp_path, command):
    env = _env(tmp_path, CONFIRM_MAX_AGE_DAYS="0", REDIS_URL="redis://127.0.0.1:1/0")
    command[0] = os.path.join(os.path.dirname(sys.executable), command[0])
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.strip() == (
        "Error: NEWSLETTER_CONFIRM_MAX_AGE_DAYS must be a whole number from 1 to 365 (got '0')"
    )


@pytest.mark.parametrize(
    ("base_url", "warned"),
    [
        ("http://news.example.org", True),
        ("https://news.example.org", False),
        ("http://127.0.0.1:5000", False),
        ("http://localhost:8000", False),
    ],
)
def test_a_base_url_readers_reach_over_http_is_warned_of(make_app, caplog, base_url, warned):
    # One-click unsubscribe (RFC 8058) needs an https link: Gmail and Yahoo ignore it otherwise.
    make_app(BASE_URL=base_url)

    said = [r.getMessage() for r in caplog.records if "NEWSLETTER_BASE_URL" in r.getMessage()]
    assert bool(said) is warned
    assert all("RFC 8058" in line for line in said)
