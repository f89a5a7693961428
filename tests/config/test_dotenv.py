"""A ``.env`` file in the working directory configures every process, as the README says:
the ``newsletter`` command, the app gunicorn serves and ``python worker.py`` alike."""

from __future__ import annotations

import os
import subprocess
import sys

from helpers.env import ROOT


def test_the_app_gunicorn_builds_reads_dotenv(make_app, tmp_path, monkeypatch):
    (tmp_path / ".env").write_text("NEWSLETTER_SITE_NAME='Harbour news'\nOTHER=ignored\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("NEWSLETTER_SITE_NAME", raising=False)

    app = make_app()

    assert app.config["SITE_NAME"] == "Harbour news"
    assert "OTHER" not in app.config


def test_the_environment_wins_over_dotenv(make_app, tmp_path, monkeypatch):
    (tmp_path / ".env").write_text("NEWSLETTER_SITE_NAME='Harbour news'\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NEWSLETTER_SITE_NAME", "Town news")

    assert make_app().config["SITE_NAME"] == "Town news"


def test_worker_started_beside_a_dotenv_reads_it(tmp_path):
    (tmp_path / ".env").write_text(
        f"NEWSLETTER_INSTANCE_DIR={tmp_path / 'instance'}\n"
        "NEWSLETTER_REDIS_URL=redis://127.0.0.1:1/0\n"
        "NEWSLETTER_CONFIRM_MAX_AGE_DAYS=0\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSLETTER_")}

    done = subprocess.run(
        [sys.executable, os.path.join(ROOT, "worker.py")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    # Its settings were read: the bad one stops it (before, it said Redis was not set).
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "Error: NEWSLETTER_CONFIRM_MAX_AGE_DAYS must be a whole number from 1 to 365 (got '0')"
    )
