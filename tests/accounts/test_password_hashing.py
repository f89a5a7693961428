"""Admin passwords are kept as argon2id at RFC 9106's recommended cost, and a hash made at
another cost is redone at this one the next time its admin logs in. (Other tests hash at the
lowest cost, to stay fast: see tests/conftest.py.)"""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher, extract_parameters
from argon2.profiles import RFC_9106_LOW_MEMORY
from helpers.admin import PASSWORD, login, make_admin

from newsletter.accounts import admins
from newsletter.extensions import db


@pytest.mark.production_hashing
def test_a_login_redoes_a_cheaper_hash_at_the_production_cost(app, client):
    email = make_admin(app)
    with app.app_context():
        admin = admins.find(email)
        assert extract_parameters(admin.password_hash) == RFC_9106_LOW_MEMORY
        admin.password_hash = PasswordHasher(time_cost=1).hash(PASSWORD)
        db.session.commit()
    assert login(client).status_code == 302
    with app.app_context():
        assert extract_parameters(admins.find(email).password_hash) == RFC_9106_LOW_MEMORY
