"""API tokens for tests: ``headers = bearer(app, Role.EDITOR)`` is what a script sends."""

from __future__ import annotations

from newsletter.accounts import api_tokens
from newsletter.models import Role


def bearer(app, role: Role = Role.OWNER, name: str | None = None) -> dict[str, str]:
    """A new token with ``role``, as the ``Authorization`` header a caller sends."""
    with app.app_context():
        token = api_tokens.create(name or f"test-{role}", role)
    return {"Authorization": f"Bearer {token}"}
