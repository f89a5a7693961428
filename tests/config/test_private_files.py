"""The instance folder, the SQLite database and the outbox are readable by their owner only."""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

from helpers.outbox import wait_idle
from helpers.subscribe import make_list

from newsletter.subscribers import service, signup


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_install_is_private(make_app, tmp_path):
    instance = tmp_path / "new-instance"
    app = make_app(INSTANCE_DIR=str(instance), DATABASE_URL=None)
    make_list(app)
    with app.app_context():  # a write, so SQLite makes its -wal and -shm files
        lists = service.resolve_lists(["news"])
        signup.subscribe("reader@example.org", "", lists, source="test", ip=None)
    wait_idle(app)
    database = instance / "newsletter.db"
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{database}"
    assert list((instance / "outbox").glob("*.eml")), "the confirmation mail is in the outbox"
    assert _mode(instance) == 0o700
    assert _mode(instance / "outbox") == 0o700
    for name in ("newsletter.db", "newsletter.db-wal", "newsletter.db-shm"):
        assert _mode(instance / name) == 0o600, name


def test_an_existing_install_is_tightened_at_start(make_app, tmp_path, caplog):
    instance = tmp_path / "old-instance"
    (instance / "outbox").mkdir(parents=True, mode=0o755)
    database = instance / "newsletter.db"
    for path, mode in [(instance, 0o755), (instance / "outbox", 0o755)]:
        os.chmod(path, mode)
    make_app(INSTANCE_DIR=str(instance), DATABASE_URL=None)  # the schema, then stop
    database.chmod(0o644)
    Path(f"{database}-wal").touch(mode=0o644)
    instance.chmod(0o755)
    with caplog.at_level(logging.WARNING):
        make_app(INSTANCE_DIR=str(instance), DATABASE_URL=None)
    assert _mode(instance) == 0o700
    assert _mode(instance / "outbox") == 0o700
    assert _mode(database) == _mode(Path(f"{database}-wal")) == 0o600
    assert f"{database} was readable by others (644); now 600" in caplog.text
