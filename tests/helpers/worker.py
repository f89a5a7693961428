"""What a real ``python worker.py`` process needs to act for a test's app: its environment,
and a small job it can run for tests that only need to see that a job ran."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from helpers.env import ROOT

# App settings a worker process must share with the test's app, as environment variables.
SHARED_SETTINGS = (
    "DATABASE_URL",
    "REDIS_URL",
    "REDIS_PREFIX",
    "SMTP_URL",
    "SECRET_KEY",
    "BASE_URL",
    "FROM",
    "POSTAL_ADDRESS",
    "INSTANCE_DIR",
    "OUTBOX_DIR",
    "SEND_RATE",
    "TICK_SECONDS",
    "BATCH_SIZE",
    "DKIM_KEY_FILE",
    "DKIM_SELECTOR",
)


def worker_env(app, **extra: Any) -> dict[str, str]:
    """The environment a ``python worker.py`` process needs to act for ``app``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSLETTER_")}
    for key in SHARED_SETTINGS:
        value = app.config.get(key)
        if value not in (None, ""):
            env[f"NEWSLETTER_{key}"] = str(value)
    env.update({f"NEWSLETTER_{k}": str(v) for k, v in extra.items()})
    env["PYTHONUNBUFFERED"] = "1"
    # Lets a worker import the helpers' jobs (``helpers.worker.touch``).
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "tests"), env.get("PYTHONPATH", "")])
    return env


def touch(path: str) -> None:
    """A job: write "ran" to ``path``."""
    Path(path).write_text("ran")
