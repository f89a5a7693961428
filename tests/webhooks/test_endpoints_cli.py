"""``newsletter webhooks add|list|remove``: what an owner at a shell does to endpoints."""

from __future__ import annotations

import logging
import re

from sqlalchemy import select

from newsletter.cli import main
from newsletter.extensions import db
from newsletter.models import AuditEvent, WebhookEndpoint

PUBLIC = "https://93.184.215.14/hooks/newsletter"  # a public address: no DNS needed


def test_add_prints_the_id_and_a_whsec_secret(app, runner):
    result = runner.invoke(
        main, ["webhooks", "add", PUBLIC, "--events", "subscriber.confirmed,subscriber.erased"]
    )
    assert result.exit_code == 0, result.output
    endpoint_id = int(re.search(r"^id: (\d+)$", result.output, re.M).group(1))
    secret = re.search(r"^secret: (whsec_\S+)$", result.output, re.M).group(1)
    with app.app_context():
        stored = db.session.get(WebhookEndpoint, endpoint_id)
        assert stored.secret == secret and stored.url == PUBLIC
        assert stored.events == ["subscriber.confirmed", "subscriber.erased"]
        assert stored.disabled_at is None


def test_list_shows_id_url_events_and_state(app, runner):
    runner.invoke(main, ["webhooks", "add", PUBLIC, "--events", "issue.sent"])
    listed = runner.invoke(main, ["webhooks", "list"])
    assert listed.exit_code == 0
    assert listed.output.split() == ["1", PUBLIC, "issue.sent", "enabled"]


def test_remove_deletes_the_endpoint(app, runner):
    runner.invoke(main, ["webhooks", "add", PUBLIC, "--events", "issue.sent"])
    removed = runner.invoke(main, ["webhooks", "remove", "1"])
    assert removed.exit_code == 0, removed.output
    assert runner.invoke(main, ["webhooks", "list"]).output == ""
    again = runner.invoke(main, ["webhooks", "remove", "1"])
    assert again.exit_code == 2 and again.output.strip().count("\n") == 0
    assert "no such webhook endpoint: 1" in again.output


def _refused(runner, url: str, events: str):
    result = runner.invoke(main, ["webhooks", "add", url, "--events", events])
    assert result.exit_code == 2, result.output
    assert result.output.strip().count("\n") == 0  # one line
    return result.output


def test_a_url_that_is_not_http_is_refused(app, runner):
    assert "http://" in _refused(runner, "ftp://example.org/hook", "issue.sent")
    assert "http://" in _refused(runner, "not a url", "issue.sent")


def test_a_private_or_loopback_url_is_refused(app, runner):
    assert "private" in _refused(runner, "http://127.0.0.1:8000/hook", "issue.sent")
    assert "private" in _refused(runner, "http://10.1.2.3/hook", "issue.sent")
    with app.app_context():
        assert db.session.scalar(select(WebhookEndpoint.id)) is None


def test_a_private_url_is_accepted_when_allowed(make_app):
    app = make_app(WEBHOOK_ALLOW_PRIVATE=True)
    result = app.test_cli_runner().invoke(
        main, ["webhooks", "add", "http://127.0.0.1:8000/hook", "--events", "issue.sent"]
    )
    assert result.exit_code == 0, result.output


def test_an_unknown_event_is_refused_by_name(app, runner):
    output = _refused(runner, PUBLIC, "subscriber.confirmed,subscriber.exploded")
    assert "'subscriber.exploded'" in output and "subscriber.confirmed" in output


def test_every_command_has_help(app, runner):
    for command in (["add"], ["list"], ["remove"], []):
        result = runner.invoke(main, ["webhooks", *command, "--help"])
        assert result.exit_code == 0 and len(result.output) > 80, command


def test_the_secret_is_never_logged_nor_audited(app, runner, caplog):
    caplog.set_level(logging.DEBUG)
    result = runner.invoke(main, ["webhooks", "add", PUBLIC, "--events", "issue.sent"])
    secret = re.search(r"whsec_\S+", result.output).group(0)
    runner.invoke(main, ["webhooks", "list"])
    runner.invoke(main, ["webhooks", "remove", "1"])
    assert secret not in caplog.text
    assert secret.removeprefix("whsec_") not in caplog.text
    with app.app_context():
        details = db.session.scalars(select(AuditEvent.detail)).all()
        actions = db.session.scalars(select(AuditEvent.action)).all()
    assert "webhook.add" in actions and "webhook.remove" in actions
    assert not [d for d in details if "whsec_" in d or secret[6:] in d]
