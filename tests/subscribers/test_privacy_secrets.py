"""Tokens and secrets: a link works only for its own purpose, survives key rotation, and
neither the secret key nor any link token shows up in what the server prints."""

import logging
import os
import re
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path

import pytest
from helpers.env import ROOT, free_port
from helpers.outbox import outbox_messages, wait_idle
from helpers.subscribe import csrf_from, link_path, make_list

from newsletter.extensions import db
from newsletter.models import Subscriber, SubscriberStatus
from newsletter.subscribers import tokens

SERVE = "from newsletter.cli import main; main()"


def _subscriber(app, status=SubscriberStatus.CONFIRMED):
    with app.app_context():
        subscriber = Subscriber(email="reader@example.org", status=status)
        db.session.add(subscriber)
        db.session.commit()
        return subscriber.id


def _token(app, purpose, subscriber_id):
    with app.app_context():
        return tokens.make(purpose, subscriber_id, "reader@example.org")


# Every page a token opens, with the purpose it belongs to.
PAGES = [
    ("GET", "/confirm/{}", tokens.CONFIRM),
    ("POST", "/confirm/{}", tokens.CONFIRM),
    ("GET", "/unsubscribe/{}", tokens.UNSUBSCRIBE),
    ("POST", "/unsubscribe/{}", tokens.UNSUBSCRIBE),
    ("GET", "/preferences/{}", tokens.MANAGE),
    ("GET", "/preferences/{}/export", tokens.MANAGE),
    ("POST", "/preferences/{}/erase", tokens.MANAGE),
]


@pytest.mark.parametrize(("method", "page", "owner"), PAGES, ids=[f"{m} {p}" for m, p, _ in PAGES])
def test_a_token_opens_no_page_of_another_purpose(make_app, method, page, owner):
    app = make_app(WTF_CSRF_ENABLED=False)
    subscriber_id = _subscriber(app, SubscriberStatus.PENDING)
    client = app.test_client()

    for purpose in {tokens.CONFIRM, tokens.UNSUBSCRIBE, tokens.MANAGE} - {owner}:
        answer = client.open(page.format(_token(app, purpose, subscriber_id)), method=method)
        assert answer.status_code == 400, (purpose, answer.status_code)

    with app.app_context():
        subscriber = db.session.get(Subscriber, subscriber_id)
        assert subscriber is not None and subscriber.status == SubscriberStatus.PENDING


def test_old_unsubscribe_link_still_works_after_the_secret_key_is_rotated(make_app):
    old_key = "the-old-key-retired-this-spring"
    old_app = make_app(SECRET_KEY=old_key)
    subscriber_id = _subscriber(old_app)
    link = "/unsubscribe/" + _token(old_app, tokens.UNSUBSCRIBE, subscriber_id)

    new_app = make_app(
        SECRET_KEY="the-new-key", SECRET_KEY_FALLBACKS="the-old-key-retired-this-spring"
    )
    without_fallback = make_app(SECRET_KEY="the-new-key")

    assert without_fallback.test_client().post(link).status_code == 400
    answer = new_app.test_client().post(link, data={"List-Unsubscribe": "One-Click"})
    assert answer.status_code == 200
    with new_app.app_context():
        assert db.session.get(Subscriber, subscriber_id).status == SubscriberStatus.UNSUBSCRIBED


def test_tampered_token_is_refused(make_app):
    app = make_app()
    subscriber_id = _subscriber(app)
    token = _token(app, tokens.UNSUBSCRIBE, subscriber_id)
    forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")

    answer = app.test_client().post(
        "/unsubscribe/" + forged, data={"List-Unsubscribe": "One-Click"}
    )

    assert answer.status_code == 400


# ---------------------------------------------------------------- logs


class _Browser:
    """A cookie-keeping HTTP client for a real server (no redirects followed)."""

    def __init__(self, base):
        self.base = base
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))

    def get(self, path):
        with self.opener.open(self.base + path, timeout=10) as r:
            return r.read().decode()

    def post(self, path, fields):
        data = urllib.parse.urlencode(fields).encode()
        with self.opener.open(self.base + path, data=data, timeout=10) as r:
            return r.read().decode()


def _wait_for_mails(outbox, count):
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        mails = sorted(outbox.glob("*.eml"))
        if len(mails) >= count:
            return [m.read_text() for m in mails]
        time.sleep(0.1)
    raise AssertionError(f"expected {count} mails in the outbox")


def test_no_secret_or_token_in_what_the_server_prints_during_a_subscriber_flow(make_app, tmp_path):
    secret = "s3cret-key-that-must-never-be-printed-0123456789"
    instance = tmp_path / "served"
    app = make_app(INSTANCE_DIR=str(instance), SECRET_KEY=secret)
    make_list(app)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSLETTER_")}
    env.update(
        NEWSLETTER_INSTANCE_DIR=str(instance),
        NEWSLETTER_DATABASE_URL=app.config["DATABASE_URL"],
        NEWSLETTER_SECRET_KEY=secret,
        NEWSLETTER_BASE_URL=f"http://127.0.0.1:{port}",
        NEWSLETTER_REDIS_PREFIX=app.config["REDIS_PREFIX"],
        PYTHONUNBUFFERED="1",
    )
    log_path = tmp_path / "serve.log"
    with open(log_path, "wb") as log:
        server = subprocess.Popen(
            [sys.executable, "-c", SERVE, "serve", "--port", str(port)],
            env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT,
        )  # fmt: skip
    try:
        browser = _Browser(f"http://127.0.0.1:{port}")
        deadline = time.monotonic() + 20
        while True:
            try:
                page = browser.get("/")
                break
            except OSError:
                assert time.monotonic() < deadline, log_path.read_text()
                time.sleep(0.1)
        assert "Check your inbox" not in page
        browser.post("/subscribe", {"email": "reader@example.org", "lists": "news"})
        outbox = Path(app.config["OUTBOX_DIR"])
        confirm = link_path(_wait_for_mails(outbox, 1)[0].replace("=\n", ""), "confirm")
        browser.post(confirm, {"csrf_token": csrf_from(browser.get(confirm))})
        welcome = _wait_for_mails(outbox, 2)[1].replace("=\n", "")
        manage = link_path(welcome, "preferences")
        unsubscribe = link_path(welcome, "unsubscribe")
        browser.get(manage)
        browser.get(manage + "/export")
        browser.post(unsubscribe, {"List-Unsubscribe": "One-Click"})
    finally:
        server.terminate()
        server.wait(timeout=10)

    printed = log_path.read_text()
    assert "running at" in printed  # we did read the server's output
    assert secret not in printed
    for path in (confirm, manage, unsubscribe):
        token = path.rstrip("/").split("/")[2]
        assert token not in printed
    assert not re.search(r"/(confirm|unsubscribe|preferences)/[A-Za-z0-9_-]{20,}", printed)


def test_no_secret_or_token_in_any_log_record_even_at_debug_level(make_app, caplog):
    secret = "another-secret-key-never-to-be-logged-9876543210"
    app = make_app(SECRET_KEY=secret)
    make_list(app)
    client = app.test_client()
    caplog.set_level(logging.DEBUG)  # every logger, SQLAlchemy's statements and parameters too
    caplog.set_level(logging.DEBUG, logger="sqlalchemy.engine")

    client.post("/subscribe", data={"email": "reader@example.org", "lists": "news"})
    wait_idle(app)
    confirm = link_path(outbox_messages(app)[0].get_body(("plain",)).get_content(), "confirm")
    client.post(confirm, data={"csrf_token": csrf_from(client.get(confirm).data)})
    wait_idle(app)
    welcome = outbox_messages(app)[1].get_body(("plain",)).get_content()
    manage, unsubscribe = link_path(welcome, "preferences"), link_path(welcome, "unsubscribe")
    client.get(manage + "/export")
    client.post(unsubscribe, data={"List-Unsubscribe": "One-Click"})

    logged = caplog.text
    assert "INSERT INTO subscriber" in logged  # the capture did see the app at work
    assert secret not in logged
    for path in (confirm, manage, unsubscribe):
        assert path.split("/")[2] not in logged


def test_the_apps_own_loggers_still_work_after_the_migrations_ran(make_app, caplog):
    make_app()  # runs the Alembic migrations, which configure logging from alembic.ini

    logging.getLogger("newsletter.jobs.tick").error("still heard")

    assert "still heard" in caplog.text
