"""``newsletter api-token create|list|revoke`` and ``newsletter create-admin --role``: what an
operator types and sees, against the real database."""

from __future__ import annotations

import hashlib

import pytest
from helpers.race import taken_meanwhile
from sqlalchemy import select

from newsletter.accounts import api_tokens
from newsletter.cli import main
from newsletter.extensions import db
from newsletter.models import AdminUser, ApiToken, Role

PASSWORD = "a long enough password"


@pytest.mark.parametrize("backend", ["sqlite", "postgres"], indirect=True)
def test_create_prints_the_token_alone_on_its_last_line_and_keeps_only_its_hash(app, runner):
    result = runner.invoke(main, ["api-token", "create", "shop", "--role", "editor"])

    assert result.exit_code == 0, result.output
    token = result.output.splitlines()[-1]
    assert token.startswith("nl_") and " " not in token and len(token) > 40
    with app.app_context():
        stored = db.session.scalar(select(ApiToken).where(ApiToken.name == "shop"))
        assert stored.role == Role.EDITOR
        assert stored.token_hash == hashlib.sha256(token.encode()).hexdigest()
        assert api_tokens.authenticate(token).name == "shop"
        assert api_tokens.authenticate(token[:-1] + "x") is None
    listed = runner.invoke(main, ["api-token", "list"])
    assert token not in listed.output  # shown once, never again


def test_the_default_role_is_viewer_and_a_taken_name_is_refused(app, runner):
    assert runner.invoke(main, ["api-token", "create", "crm"]).exit_code == 0

    again = runner.invoke(main, ["api-token", "create", "crm", "--role", "owner"])

    assert again.exit_code == 1
    assert "already a token called 'crm'" in again.output
    with app.app_context():
        assert [(t.name, t.role) for t in api_tokens.listed()] == [("crm", Role.VIEWER)]


def test_a_name_taken_at_the_same_instant_is_refused_too(app, runner):
    with app.app_context(), taken_meanwhile(ApiToken.__table__, name="ci", token_hash="x"):
        result = runner.invoke(main, ["api-token", "create", "ci"])

    assert result.exit_code == 1 and "already a token called 'ci'" in result.output


def test_list_shows_name_role_and_last_use(app, runner):
    token = runner.invoke(main, ["api-token", "create", "ci", "--role", "owner"]).output
    runner.invoke(main, ["api-token", "create", "blog"])
    with app.app_context():
        api_tokens.authenticate(token.splitlines()[-1])

    result = runner.invoke(main, ["api-token", "list"])

    lines = result.output.splitlines()
    assert lines[0].split() == ["NAME", "ROLE", "LAST", "USED"]
    assert lines[1].split() == ["blog", "viewer", "never"]
    assert lines[2].split()[:2] == ["ci", "owner"] and lines[2].endswith("UTC")


def test_a_revoked_token_no_longer_authenticates(app, runner):
    token = runner.invoke(main, ["api-token", "create", "old"]).output.splitlines()[-1]

    result = runner.invoke(main, ["api-token", "revoke", "old"])

    assert result.exit_code == 0 and "Revoked" in result.output
    with app.app_context():
        assert api_tokens.authenticate(token) is None
    missing = runner.invoke(main, ["api-token", "revoke", "old"])
    assert missing.exit_code == 2 and "no token called 'old'" in missing.output


def test_create_admin_makes_an_owner_unless_told_otherwise(app, runner):
    first = runner.invoke(
        main, ["create-admin", "a@example.org", "--password-stdin"], input=PASSWORD
    )
    second = runner.invoke(
        main,
        ["create-admin", "b@example.org", "--password-stdin", "--role", "viewer"],
        input=PASSWORD,
    )

    assert first.exit_code == 0 and "(owner)" in first.output
    assert second.exit_code == 0 and "(viewer)" in second.output
    with app.app_context():
        roles = dict(db.session.execute(select(AdminUser.email, AdminUser.role)).all())
    assert roles == {"a@example.org": Role.OWNER, "b@example.org": Role.VIEWER}


def test_create_admin_of_an_address_added_at_the_same_instant_is_refused_plainly(app, runner):
    with (
        app.app_context(),
        taken_meanwhile(
            AdminUser.__table__, email="a@example.org", password_hash="x", session_token="x"
        ),
    ):
        result = runner.invoke(
            main, ["create-admin", "a@example.org", "--password-stdin"], input=PASSWORD
        )

    assert result.exit_code == 1 and "already an admin" in result.output
    assert "Traceback" not in result.output


def test_create_admin_will_not_demote_the_last_owner(app, runner):
    runner.invoke(main, ["create-admin", "a@example.org", "--password-stdin"], input=PASSWORD)

    result = runner.invoke(
        main,
        ["create-admin", "a@example.org", "--password-stdin", "--role", "editor"],
        input=PASSWORD,
    )

    assert result.exit_code == 1
    assert "at least one owner" in result.output
    with app.app_context():
        assert db.session.scalar(select(AdminUser.role)) == Role.OWNER
