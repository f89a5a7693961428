"""Behind a reverse proxy: whose address the rate limits, login throttling and consent records
see (NEWSLETTER_TRUSTED_PROXIES), and login failures counted per account."""

from __future__ import annotations

import json

from helpers.admin import PASSWORD, login, make_admin
from helpers.subscribe import make_list

from newsletter.extensions import db
from newsletter.models import ConsentEvent
from newsletter.security import TrustedForwardedFor, parse

PROXY = "10.0.0.5"


def _from(app, peer: str, forwarded_for: str | None = None):
    """A test client whose requests arrive from ``peer``, with this X-Forwarded-For."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = peer
    if forwarded_for is not None:
        client.environ_base["HTTP_X_FORWARDED_FOR"] = forwarded_for
    return client


def test_a_spoofed_forwarded_for_is_ignored_by_default(make_app):
    app = make_app(LOGIN_RATE_LIMIT="3 per minute")
    make_admin(app)
    codes = [
        login(_from(app, "198.51.100.7", f"203.0.113.{n}"), password="wrong guess!").status_code
        for n in range(4)
    ]
    assert codes == [400, 400, 400, 429]  # one address, whatever the header claims


def test_behind_a_trusted_proxy_one_visitors_failures_do_not_lock_out_another(make_app):
    app = make_app(LOGIN_RATE_LIMIT="3 per minute", TRUSTED_PROXIES="1")
    make_admin(app)
    outsider = _from(app, PROXY, "203.0.113.9")
    codes = [login(outsider, password="wrong guess!").status_code for _ in range(4)]
    assert codes == [400, 400, 400, 429]
    assert login(_from(app, PROXY, "192.0.2.10")).status_code == 302


def test_trusted_proxy_addresses_are_the_only_ones_believed(app):
    seen = []
    middleware = TrustedForwardedFor(
        lambda environ, start: seen.append(environ["REMOTE_ADDR"]), parse("10.0.0.0/8, ::1")
    )
    for peer, header in [
        ("10.0.0.5", "203.0.113.9"),  # our proxy: the visitor
        ("10.0.0.5", "198.51.100.1, 203.0.113.9, 10.0.0.7"),  # two proxies of ours
        ("192.0.2.1", "203.0.113.9"),  # not our proxy: the header is anyone's
        ("::1", "not-an-address"),
        ("10.0.0.5", ""),
    ]:
        middleware({"REMOTE_ADDR": peer, "HTTP_X_FORWARDED_FOR": header}, None)
    assert seen == ["203.0.113.9", "203.0.113.9", "192.0.2.1", "::1", "10.0.0.5"]


def test_consent_records_the_visitors_address_behind_a_trusted_proxy(make_app):
    app = make_app(TRUSTED_PROXIES="10.0.0.0/8", CONSENT_IP="keep")
    make_list(app)
    for peer in (PROXY, "192.0.2.1"):
        answer = _from(app, peer, "203.0.113.9").post(
            "/subscribe",
            data=json.dumps({"email": f"reader-{peer}@example.org", "lists": ["news"]}),
            content_type="application/json",
        )
        assert answer.status_code == 200, answer.get_data(as_text=True)
    with app.app_context():
        ips = sorted(db.session.scalars(db.select(ConsentEvent.ip)))
    assert ips == ["192.0.2.1", "203.0.113.9"]


def test_failures_count_per_account_yet_never_lock_the_admin_out(make_app):
    app = make_app(LOGIN_RATE_LIMIT="100 per minute", LOGIN_ACCOUNT_RATE_LIMIT="3 per hour")
    make_admin(app)
    outsider = _from(app, "203.0.113.9")
    codes = [login(outsider, password="wrong guess!").status_code for _ in range(10)]
    assert codes == [400] * 3 + [429] * 7
    # Past the account's limit an address that failed on it is not even checked...
    assert login(outsider).status_code == 429
    # ...another address gets one guess at it...
    elsewhere = _from(app, "198.51.100.20")
    assert [login(elsewhere, password="wrong guess!").status_code for _ in range(2)] == [400, 429]
    # ...and the real admin, at an address of their own, logs in.
    assert login(_from(app, "192.0.2.10"), password=PASSWORD).status_code == 302


def test_an_unknown_address_is_throttled_like_a_real_one(make_app):
    app = make_app(LOGIN_RATE_LIMIT="100 per minute", LOGIN_ACCOUNT_RATE_LIMIT="2 per hour")
    make_admin(app)
    for email in ("admin@example.org", "nobody@example.org"):
        client = _from(app, "203.0.113.9")
        codes = [login(client, email, "wrong guess!").status_code for _ in range(3)]
        assert codes == [400, 400, 429], email
