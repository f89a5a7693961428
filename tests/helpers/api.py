"""API tokens for tests: ``headers = bearer(app, Role.EDITOR)`` is what a script sends; the
``editor`` and ``weekly`` fixtures give the issue tests a token and a list of three."""

from __future__ import annotations

import pytest

from helpers.send import add_subscribers, make_list
from newsletter.accounts import api_tokens
from newsletter.models import Role


def bearer(app, role: Role = Role.OWNER, name: str | None = None) -> dict[str, str]:
    """A new token with ``role``, as the ``Authorization`` header a caller sends."""
    with app.app_context():
        token = api_tokens.create(name or f"test-{role}", role)
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def editor(app) -> dict[str, str]:
    """An editor's token, as headers."""
    return bearer(app, Role.EDITOR, "editor")


@pytest.fixture
def weekly(app) -> int:
    """The id of a list "weekly" with three confirmed subscribers."""
    with app.app_context():
        list_id = make_list("weekly", "Weekly News")
        add_subscribers(list_id, 3)
        return list_id
