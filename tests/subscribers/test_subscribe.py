"""POST /subscribe from the form and as JSON: refusals, the one answer for every address,
rate limits, CORS, names a later signup cannot change (the embed is in test_embed_signup)."""

from __future__ import annotations

import json

import pytest
from helpers.outbox import outbox_messages, wait_idle
from helpers.subscribe import counts, make_list, subscriber

from newsletter.extensions import db
from newsletter.models import (
    ConsentEvent,
    Issue,
    IssueStatus,
    Subscriber,
    SuppressionReason,
    utcnow,
)
from newsletter.subscribers import service, signup


def _json(client, payload, **headers):
    return client.post("/subscribe", data=json.dumps(payload), headers=headers,
                       content_type="application/json")  # fmt: skip


def test_bad_input_is_refused_clearly_and_leaves_no_trace(make_app):
    app = make_app(SIGNUP_RATE_LIMIT="100 per minute")
    client = app.test_client()
    make_list(app)
    cases = [
        ({"email": "not-an-address"}, 400, "@-sign"),
        ({"email": "reader@localhost"}, 400, "@-sign"),
        ({"email": "x" * 250 + "@example.org"}, 400, "too long"),
        ({"email": "jürgen@example.org"}, 400, "before the @-sign"),
        ({"email": "a@example.org\r\nBcc: victim@example.org"}, 400, "line breaks"),
        ({"email": "a@example.org", "name": "Ada\r\nBcc: victim@example.org"}, 400, "line breaks"),
        ({"email": "a@example.org", "name": "n" * 201}, 400, "too long"),
        ({"email": "a@example.org", "lists": ["no-such-list"]}, 400, "Unknown list"),
        ({"email": "a@example.org", "lists": "news"}, 400, "Lists must be"),
        ({"email": "a@example.org", "lists": []}, 400, "at least one list"),
        ({"email": ["a@example.org"]}, 400, "enter your email"),
        ([1, 2], 400, "JSON object"),
    ]
    for payload, status, words in cases:
        answer = _json(client, payload)
        assert answer.status_code == status, payload
        assert words in answer.get_json()["error"], payload

    raw = [
        ("text/plain", b'{"email": "a@example.org"}', 415),
        ("application/json", b'{"email": ', 400),
        ("application/json", json.dumps({"email": "a@example.org", "pad": "x" * 20000}), 413),
    ]
    for content_type, body, status in raw:
        assert client.post("/subscribe", data=body, content_type=content_type).status_code == status

    # The HTML form gets its errors beside the field, tied to it for screen subscribers.
    answer = client.post("/subscribe", data={"email": "nope", "lists": ["news"]})
    assert answer.status_code == 400
    assert b'aria-describedby="email-error"' in answer.data and b'value="nope"' in answer.data

    wait_idle(app)
    assert counts(app) == (0, 0)
    assert outbox_messages(app) == []


def test_every_address_state_gets_the_same_answer(app, client):
    make_list(app)
    with app.app_context():
        news = service.resolve_lists(None)
        for email in ("pending@example.org", "confirmed@example.org", "left@example.org",
                      "bounced@example.org"):  # fmt: skip
            signup.subscribe(email, "", news, source="test", ip=None)
        ids = dict(db.session.execute(db.select(Subscriber.email, Subscriber.id)).all())
        service.confirm(ids["confirmed@example.org"], ip=None)
        service.confirm(ids["left@example.org"], ip=None)
        service.unsubscribe(ids["left@example.org"], "test")
        service.suppress("bounced@example.org", SuppressionReason.BOUNCED)
        db.session.commit()
    wait_idle(app)
    states = ["new@example.org", "pending@example.org", "confirmed@example.org",
              "left@example.org", "bounced@example.org"]  # fmt: skip

    json_answers = {(a.status_code, a.data) for a in (_json(client, {"email": e}) for e in states)}
    form_answers = {
        (a.status_code, a.data)
        for a in (client.post("/subscribe", data={"email": e, "lists": ["news"]}) for e in states)
    }
    assert len(json_answers) == 1 and next(iter(json_answers))[0] == 200
    assert len(form_answers) == 1 and next(iter(form_answers))[0] == 200


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_a_blocked_address_gets_the_same_answer_and_is_not_stored(app, client):
    make_list(app)
    with app.app_context():
        service.suppress("blocked@example.org", SuppressionReason.COMPLAINED)
        db.session.commit()
    answer = _json(client, {"email": "Blocked@Example.org"})
    assert answer.status_code == 200 and answer.get_json()["ok"] is True
    wait_idle(app)
    assert counts(app) == (0, 0) and outbox_messages(app) == []


def test_honeypot_gets_the_success_answer_and_stores_nothing(app, client):
    answer = _json(client, {"email": "bot@example.org", "website": "http://spam.example"})
    assert answer.status_code == 200 and answer.get_json()["ok"] is True
    wait_idle(app)
    assert counts(app) == (0, 0) and outbox_messages(app) == []


def test_signups_per_ip_are_rate_limited(make_app):
    client = make_app(SIGNUP_RATE_LIMIT="2 per minute").test_client()
    answers = [_json(client, {"email": f"r{i}@example.org"}).status_code for i in range(3)]
    assert answers == [200, 200, 429]
    other_ip = client.post("/subscribe", data=json.dumps({"email": "r9@example.org"}),
                           content_type="application/json",
                           environ_base={"REMOTE_ADDR": "10.0.0.9"})  # fmt: skip
    assert other_ip.status_code == 200


def test_confirmation_mails_per_address_are_rate_limited(make_app):
    app = make_app(CONFIRM_MAILS_PER_HOUR=2)
    client = app.test_client()

    def from_ip(n, email="target@example.org"):
        return client.post("/subscribe", data=json.dumps({"email": email}),
                           content_type="application/json",
                           environ_base={"REMOTE_ADDR": f"10.0.0.{n}"})  # fmt: skip

    assert [from_ip(n).status_code for n in range(3)] == [200, 200, 429]
    assert "Too many" in from_ip(4).get_json()["error"]
    assert from_ip(5, "someone-else@example.org").status_code == 200
    wait_idle(app)
    assert len(outbox_messages(app)) == 3  # two for the target, one for someone else


def test_with_redis_the_limits_count_the_ip_then_the_address_and_a_bad_post_too(
    make_app, redis_url
):
    # Redis counts both limits in one script: the same answers, and an address is only
    # counted for signups its IP may still make.
    app = make_app(REDIS_URL=redis_url, SIGNUP_RATE_LIMIT="3 per minute", CONFIRM_MAILS_PER_HOUR=2)
    client = app.test_client()

    def from_ip(n, payload):
        return client.post("/subscribe", data=json.dumps(payload), content_type="application/json",
                           environ_base={"REMOTE_ADDR": f"10.0.0.{n}"})  # fmt: skip

    target = {"email": "target@example.org"}
    assert [from_ip(1, target).status_code for _ in range(3)] == [200, 200, 429]  # 2 mails
    assert "Too many" in from_ip(2, target).get_json()["error"]  # from any IP
    # IP 1 is past its own limit now: the general 429, not the address's
    assert from_ip(1, target).get_json()["error"] != from_ip(2, target).get_json()["error"]
    assert from_ip(3, {"email": "bad"}).status_code == 400  # counted against IP 3 too
    assert [from_ip(3, {"email": f"r{i}@example.org"}).status_code for i in range(3)] == [
        200, 200, 429
    ]  # fmt: skip


def test_each_visitor_gets_the_thank_you_page_in_their_own_language(app, client):
    # The page is made once per language: the next visitor's must not be the last one's.
    make_list(app)
    pages = {
        lang: client.post("/subscribe", data={"email": f"{lang}{n}@example.org", "language": lang})
        for n, lang in enumerate(["de", "en", "de", "fr"])
    }
    for lang, page in pages.items():
        assert page.headers["Content-Language"] == lang
        assert f'<html lang="{lang}">' in page.get_data(as_text=True)
    assert "Check your inbox" in pages["en"].get_data(as_text=True)


def test_a_json_signup_answers_in_the_browsers_language_with_every_header(make_app):
    # The language is chosen once per request, the limiter, CSP and CORS skip work they did per
    # request: the answer must still say which language, how it varies, and what it allows.
    app = make_app(CORS_ORIGINS="https://blog.example", FRAME_ANCESTORS="https://blog.example")
    make_list(app)
    browser = {"Accept-Language": "de-DE,de;q=0.9", "Origin": "https://blog.example"}
    answer = _json(app.test_client(), {"email": "dora@example.org"}, **browser)

    assert answer.status_code == 200
    assert answer.get_json()["message"].startswith("Vielen Dank! Bitte sehen Sie in Ihr Postfach")
    assert answer.headers["Content-Language"] == "de"
    assert set(answer.headers["Vary"].split(", ")) == {"Accept-Language", "Cookie", "Origin"}
    assert answer.headers["Access-Control-Allow-Origin"] == "https://blog.example"
    policy = answer.headers["Content-Security-Policy"]
    assert policy.endswith("frame-ancestors https://blog.example")
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert answer.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert "Set-Cookie" not in answer.headers


def test_cors_grants_only_configured_origins(make_app):
    app = make_app(CORS_ORIGINS="https://blog.example, https://shop.example")
    client = app.test_client()
    preflight = {"Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "content-type"}  # fmt: skip

    allowed = client.options("/subscribe", headers={"Origin": "https://blog.example", **preflight})
    assert allowed.status_code == 204
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://blog.example"
    assert "content-type" in allowed.headers["Access-Control-Allow-Headers"].lower()
    denied = client.options("/subscribe", headers={"Origin": "https://evil.example", **preflight})
    assert "Access-Control-Allow-Origin" not in denied.headers

    ok = _json(client, {"email": "embed@example.org"}, Origin="https://shop.example")
    assert ok.status_code == 200
    assert ok.headers["Access-Control-Allow-Origin"] == "https://shop.example"
    refused = _json(client, {"email": "evil@example.org"}, Origin="https://evil.example")
    assert refused.status_code == 403 and "Access-Control-Allow-Origin" not in refused.headers
    with app.app_context():
        stored = db.session.scalars(db.select(Subscriber.email)).all()
    assert stored == ["embed@example.org"]


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
def test_a_later_signup_does_not_rename_a_pending_subscriber(app):
    make_list(app)
    client = app.test_client()
    spam = "You won $5000! Claim at https://evil.example"
    for n, (email, name) in enumerate(
        [("ann@example.org", "Ann"), ("ann@example.org", spam),
         ("nameless@example.org", ""), ("nameless@example.org", spam)]
    ):  # fmt: skip
        answer = client.post("/subscribe", data=json.dumps({"email": email, "name": name}),
                             content_type="application/json",
                             environ_base={"REMOTE_ADDR": f"10.0.1.{n}"})  # fmt: skip
        assert answer.status_code == 200
    assert subscriber(app, "ann@example.org").name == "Ann"
    assert subscriber(app, "nameless@example.org").name == ""


def test_deeply_nested_json_is_a_clear_400_not_a_crash(client, caplog):
    bodies = [
        "[" * 5000 + "]" * 5000,
        '{"a":' * 2500 + "1" + "}" * 2500,
        '{"email": "deep@example.org", "name": ' + "[" * 5000 + "]" * 5000 + "}",
    ]
    for body in bodies:
        answer = client.post("/subscribe", data=body, content_type="application/json")
        assert answer.status_code == 400
        assert "JSON object" in answer.get_json()["error"]
    huge = "[" * 100_000 + "]" * 100_000  # beyond the size limit: refused before parsing
    assert client.post("/subscribe", data=huge, content_type="application/json").status_code == 413
    assert not [r for r in caplog.records if r.levelname in ("ERROR", "CRITICAL") or r.exc_info]


def test_consent_records_the_ip_as_configured(make_app):
    kept = {}
    for mode in ("keep", "hash", "drop"):
        app = make_app(CONSENT_IP=mode)
        client = app.test_client()
        client.post("/subscribe", data=json.dumps({"email": f"{mode}@example.org"}),
                    content_type="application/json",
                    environ_base={"REMOTE_ADDR": "203.0.113.7"})  # fmt: skip
        with app.app_context():
            kept[mode] = db.session.scalar(
                db.select(ConsentEvent.ip).join(Subscriber).where(Subscriber.email.startswith(mode))
            )
    assert kept["keep"] == "203.0.113.7"
    assert kept["hash"].startswith("hmac-sha256:") and "203.0.113" not in kept["hash"]
    assert kept["drop"] is None


def test_front_page_shows_public_lists_and_recent_public_issues(app, client):
    make_list(app, "news", "Weekly News")
    make_list(app, "staff", "Staff Notes", public=False)
    with app.app_context():
        sent = {"status": IssueStatus.SENT, "finished_at": utcnow()}
        db.session.add_all(
            [
                Issue(subject="Spring issue", slug="spring", is_public=True, **sent),
                Issue(subject="Members only", slug="members", is_public=False, **sent),
                Issue(subject="Draft issue", slug="draft", is_public=True),
            ]
        )
        db.session.commit()
    page = client.get("/").get_data(as_text=True)
    assert "Weekly News" in page and "Staff Notes" not in page
    assert '<a href="/archive/spring">Spring issue</a>' in page
    assert "Members only" not in page and "Draft issue" not in page
    assert app.config["CONSENT_TEXT"] in page and 'name="website"' in page


def test_confirmation_survives_a_temporary_smtp_refusal(make_app, smtp_server):
    app = make_app(SMTP_URL=smtp_server.url)
    smtp_server.handler.replies["blip@example.org"] = ["451 4.3.0 try again later"]
    answer = _json(app.test_client(), {"email": "blip@example.org"})
    assert answer.status_code == 200
    wait_idle(app)
    received = smtp_server.wait_for(1)
    assert [m.rcpt_tos for m in received] == [["blip@example.org"]]
    assert "/confirm/" in received[0].part("plain")


def test_the_signup_page_and_its_answer_set_no_cookie(app, client):
    # The form needs no token (double opt-in is the safeguard), so a visitor who reads the
    # page and signs up is given nothing to carry around: no session, no identifier.
    make_list(app)
    page = client.get("/")
    answer = client.post("/subscribe", data={"email": "ann@example.org", "lists": ["news"]})

    assert page.status_code == answer.status_code == 200
    assert "Set-Cookie" not in page.headers and "Set-Cookie" not in answer.headers
    assert b"csrf_token" not in page.data
