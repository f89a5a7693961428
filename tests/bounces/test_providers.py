"""Bounces and complaints from Mailgun, SendGrid, Postmark and SES webhooks: a verified report
acts on the subscriber by the usual rules; a forged, unsigned or replayed one is 401 and changes
nothing. Samples are in tests/data/providers/ (see its NOTICE); each test signs them with a
key of its own, as the provider would with the real one."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID
from helpers.env import ROOT
from sqlalchemy import func, select, update

from newsletter.bounces import providers, service
from newsletter.bounces.providers import ses
from newsletter.extensions import db
from newsletter.models import Bounce, BounceKind, ProviderNonce, Subscriber
from newsletter.subscribers.suppression import is_blocked

SAMPLES = ROOT / "tests" / "data" / "providers"
ADDRESS = "reader@example.net"
MAILGUN_KEY = "key-mailgun-signing-for-tests"
TOPIC = "arn:aws:sns:us-east-1:123456789012:newsletter-bounces"
CERT_URL = "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-test.pem"
SENDGRID_PRIVATE = ec.generate_private_key(ec.SECP256R1())
SENDGRID_PUBLIC = base64.b64encode(
    SENDGRID_PRIVATE.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
).decode()
SNS_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _certificate(key: rsa.RSAPrivateKey) -> bytes:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.amazonaws.com")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM)


@pytest.fixture
def app(make_app):
    return make_app(
        SOFT_BOUNCE_LIMIT=2,
        BOUNCE_MAILGUN_SIGNING_KEY=MAILGUN_KEY,
        BOUNCE_SENDGRID_PUBLIC_KEY=SENDGRID_PUBLIC,
        BOUNCE_POSTMARK_USER="postmark",
        BOUNCE_POSTMARK_PASSWORD="hook-password",
        BOUNCE_SES_TOPIC_ARNS=f"arn:aws:sns:eu-west-1:123456789012:other, {TOPIC}",
    )


@pytest.fixture
def subscriber_id(app):
    with app.app_context():
        subscriber = Subscriber(email=ADDRESS, status="confirmed")
        db.session.add(subscriber)
        db.session.commit()
        return subscriber.id


@pytest.fixture
def visited(monkeypatch):
    """The SNS seam, in tests only: the certificate cache is seeded with our own certificate,
    and every URL SNS would be visited at is recorded instead of fetched (no network)."""
    urls: list[str] = []
    monkeypatch.setattr(ses, "CERTIFICATES", {CERT_URL: _certificate(SNS_KEY)})
    monkeypatch.setattr(ses, "visit", lambda url: urls.append(url) or b"")
    return urls


def _sample(name):
    return json.loads((SAMPLES / name).read_text())


def _state(app, subscriber_id):
    with app.app_context():
        db.session.expire_all()
        subscriber = db.session.get(Subscriber, subscriber_id)
        bounces = db.session.scalars(select(Bounce)).all()
        return subscriber.status.value, subscriber.soft_bounces, is_blocked(ADDRESS), bounces


# ---------------------------------------------------------------- Mailgun


def _mailgun(name, key=MAILGUN_KEY, timestamp=None, token=None):
    payload = _sample(name)
    timestamp = str(int(time.time()) if timestamp is None else timestamp)
    token = token or hashlib.sha256(f"{name}{time.time_ns()}".encode()).hexdigest()[:50]
    mac = hmac.new(key.encode(), (timestamp + token).encode(), hashlib.sha256).hexdigest()
    payload["signature"] = {"timestamp": timestamp, "token": token, "signature": mac}
    return payload


def test_mailgun_permanent_failure_suppresses_the_subscriber(app, client, subscriber_id):
    answer = client.post("/webhooks/bounce/mailgun", json=_mailgun("mailgun-failed-permanent.json"))

    assert answer.status_code == 200
    assert answer.json["recorded"] == [{"kind": "hard", "suppressed": True}]
    status, _, blocked, bounces = _state(app, subscriber_id)
    assert (status, blocked) == ("bounced", True)
    assert [(b.kind.value, b.source, b.verified) for b in bounces] == [("hard", "mailgun", True)]
    assert "5.1.1" in bounces[0].reason


def test_mailgun_temporary_failures_count_toward_the_soft_limit(app, client, subscriber_id):
    first = client.post("/webhooks/bounce/mailgun", json=_mailgun("mailgun-failed-temporary.json"))
    assert first.json["recorded"] == [{"kind": "soft", "suppressed": False}]
    assert _state(app, subscriber_id)[:3] == ("confirmed", 1, False)

    another = _mailgun("mailgun-failed-temporary.json")
    another["event-data"]["id"] = "another-temporary-failure"
    second = client.post("/webhooks/bounce/mailgun", json=another)

    assert second.json["recorded"] == [{"kind": "soft", "suppressed": True}]
    assert _state(app, subscriber_id)[:3] == ("bounced", 2, True)


def test_mailgun_complaint_suppresses_the_subscriber(app, client, subscriber_id):
    answer = client.post("/webhooks/bounce/mailgun", json=_mailgun("mailgun-complained.json"))

    assert answer.json["recorded"] == [{"kind": "complaint", "suppressed": True}]
    assert _state(app, subscriber_id)[:3] == ("complained", 0, True)


def test_mailgun_delivered_event_is_accepted_and_ignored(app, client, subscriber_id):
    answer = client.post("/webhooks/bounce/mailgun", json=_mailgun("mailgun-delivered.json"))

    assert answer.status_code == 200 and answer.json["recorded"] == []
    assert _state(app, subscriber_id) == ("confirmed", 0, False, [])


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(lambda: _mailgun("mailgun-failed-permanent.json", key="wrong"), id="forged"),
        pytest.param(
            lambda: {"event-data": _sample("mailgun-failed-permanent.json")["event-data"]},
            id="unsigned",
        ),
        pytest.param(
            lambda: _mailgun("mailgun-failed-permanent.json", timestamp=int(time.time()) - 6 * 60),
            id="stale",
        ),
        pytest.param(
            lambda: _mailgun("mailgun-failed-permanent.json", timestamp=int(time.time()) + 6 * 60),
            id="future",
        ),
    ],
)
def test_mailgun_forged_unsigned_or_stale_report_is_refused(app, client, subscriber_id, payload):
    answer = client.post("/webhooks/bounce/mailgun", json=payload())

    assert answer.status_code == 401
    assert _state(app, subscriber_id) == ("confirmed", 0, False, [])


def test_mailgun_replayed_token_is_refused(app, client, subscriber_id):
    signed = _mailgun("mailgun-failed-temporary.json")
    assert client.post("/webhooks/bounce/mailgun", json=signed).status_code == 200

    replay = client.post("/webhooks/bounce/mailgun", json=signed)

    assert replay.status_code == 401
    assert _state(app, subscriber_id)[:2] == ("confirmed", 1)


def test_the_tick_forgets_old_mailgun_tokens(app, client, subscriber_id):
    from newsletter.jobs.tick import tick

    client.post("/webhooks/bounce/mailgun", json=_mailgun("mailgun-delivered.json"))
    with app.app_context():
        db.session.add(
            ProviderNonce(
                provider="mailgun", token="old", seen_at=datetime.now(UTC) - timedelta(hours=1)
            )
        )
        db.session.commit()
        tick()
        tokens = db.session.scalars(select(ProviderNonce.token)).all()
    assert len(tokens) == 1 and tokens != ["old"]


# ---------------------------------------------------------------- SendGrid


def _sendgrid(client, name, key=SENDGRID_PRIVATE, signed=True, events=None):
    body = (SAMPLES / name).read_bytes() if events is None else json.dumps(events).encode()
    timestamp = str(int(time.time()))
    headers = {"Content-Type": "application/json"}
    if signed:
        signature = key.sign(timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
        headers["X-Twilio-Email-Event-Webhook-Signature"] = base64.b64encode(signature).decode()
        headers["X-Twilio-Email-Event-Webhook-Timestamp"] = timestamp
    return client.post("/webhooks/bounce/sendgrid", data=body, headers=headers)


@pytest.mark.parametrize(
    ("sample", "kind", "status"),
    [
        ("sendgrid-bounce.json", "hard", "bounced"),
        ("sendgrid-dropped.json", "hard", "bounced"),
        ("sendgrid-spamreport.json", "complaint", "complained"),
    ],
)
def test_sendgrid_bounce_drop_or_spam_report_suppresses(
    app, client, subscriber_id, sample, kind, status
):
    answer = _sendgrid(client, sample)

    assert answer.status_code == 200
    assert answer.json["recorded"] == [{"kind": kind, "suppressed": True}]
    state = _state(app, subscriber_id)
    assert state[0] == status and state[2] is True
    assert [(b.source, b.verified) for b in state[3]] == [("sendgrid", True)]


def test_sendgrid_blocked_counts_as_soft(app, client, subscriber_id):
    answer = _sendgrid(client, "sendgrid-blocked.json")

    assert answer.json["recorded"] == [{"kind": "soft", "suppressed": False}]
    assert _state(app, subscriber_id)[:3] == ("confirmed", 1, False)


def test_sendgrid_delivered_and_open_are_ignored(app, client, subscriber_id):
    answer = _sendgrid(client, "sendgrid-delivered.json")

    assert answer.status_code == 200 and answer.json["recorded"] == []
    assert _state(app, subscriber_id) == ("confirmed", 0, False, [])


@pytest.mark.parametrize("how", ["forged", "unsigned", "tampered"])
def test_sendgrid_forged_unsigned_or_tampered_report_is_refused(app, client, subscriber_id, how):
    if how == "forged":
        answer = _sendgrid(
            client, "sendgrid-bounce.json", key=ec.generate_private_key(ec.SECP256R1())
        )
    elif how == "unsigned":
        answer = _sendgrid(client, "sendgrid-bounce.json", signed=False)
    else:
        body = (SAMPLES / "sendgrid-blocked.json").read_bytes()
        timestamp = str(int(time.time()))
        signature = SENDGRID_PRIVATE.sign(timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
        answer = client.post(
            "/webhooks/bounce/sendgrid",
            data=body.replace(b'"blocked"', b'"bounce"'),
            headers={
                "X-Twilio-Email-Event-Webhook-Signature": base64.b64encode(signature).decode(),
                "X-Twilio-Email-Event-Webhook-Timestamp": timestamp,
            },
        )

    assert answer.status_code == 401
    assert _state(app, subscriber_id) == ("confirmed", 0, False, [])


# ---------------------------------------------------------------- Postmark


def _postmark(client, name, user="postmark", password="hook-password", record=None):
    auth = base64.b64encode(f"{user}:{password}".encode()).decode()
    headers = {"Authorization": f"Basic {auth}"} if user is not None else {}
    record = _sample(name) if record is None else record
    return client.post("/webhooks/bounce/postmark", json=record, headers=headers)


@pytest.mark.parametrize(
    ("sample", "recorded", "state"),
    [
        ("postmark-hardbounce.json", ("hard", True), ("bounced", 0, True)),
        ("postmark-softbounce.json", ("soft", False), ("confirmed", 1, False)),
        ("postmark-spamcomplaint.json", ("complaint", True), ("complained", 0, True)),
    ],
)
def test_postmark_bounce_or_complaint_acts_on_the_subscriber(
    app, client, subscriber_id, sample, recorded, state
):
    answer = _postmark(client, sample)

    assert answer.status_code == 200
    assert answer.json["recorded"] == [{"kind": recorded[0], "suppressed": recorded[1]}]
    found = _state(app, subscriber_id)
    assert found[:3] == state
    assert [(b.source, b.verified) for b in found[3]] == [("postmark", True)]


def test_postmark_delivery_is_ignored(app, client, subscriber_id):
    answer = _postmark(client, "postmark-delivery.json")

    assert answer.status_code == 200 and answer.json["recorded"] == []
    assert _state(app, subscriber_id) == ("confirmed", 0, False, [])


@pytest.mark.parametrize(
    ("user", "password"), [("postmark", "guess"), ("someone", "hook-password"), (None, None)]
)
def test_postmark_without_the_right_credentials_is_refused(
    app, client, subscriber_id, user, password
):
    answer = _postmark(client, "postmark-hardbounce.json", user=user, password=password)

    assert answer.status_code == 401
    assert _state(app, subscriber_id) == ("confirmed", 0, False, [])


# ---------------------------------------------------------------- SES (through SNS)


def _sns(message, key=SNS_KEY, version="1", cert_url=CERT_URL, topic=TOPIC):
    """An SNS message signed the way SNS signs (the fields in order, "Key\\nValue\\n")."""
    message = {
        **message,
        "TopicArn": topic,
        "SignatureVersion": version,
        "SigningCertURL": cert_url,
    }
    fields = {
        "Notification": ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
        "SubscriptionConfirmation": (
            "Message",
            "MessageId",
            "SubscribeURL",
            "Timestamp",
            "Token",
            "TopicArn",
            "Type",
        ),
    }[message["Type"]]
    text = "".join(f"{f}\n{message[f]}\n" for f in fields if f in message)
    digest = hashes.SHA1() if version == "1" else hashes.SHA256()
    message["Signature"] = base64.b64encode(
        key.sign(text.encode(), padding.PKCS1v15(), digest)
    ).decode()
    return message


def _notification(sample, message_id=None, **signing):
    """A notification of its own, as SNS numbers each (a retry keeps its MessageId)."""
    return _sns(
        {
            "Type": "Notification",
            "MessageId": message_id or str(uuid.uuid4()),
            "Message": (SAMPLES / sample).read_text(),
            "Timestamp": "2026-12-07T05:21:03.000Z",
            "UnsubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&x=1",
        },
        **signing,
    )


def _ses(client, message):
    # SNS posts its JSON as text/plain.
    return client.post(
        "/webhooks/bounce/ses", data=json.dumps(message), headers={"Content-Type": "text/plain"}
    )


@pytest.mark.parametrize("version", ["1", "2"])
def test_ses_permanent_bounce_suppresses_the_subscriber(
    app, client, subscriber_id, visited, version
):
    answer = _ses(client, _notification("ses-bounce-permanent.json", version=version))

    assert answer.status_code == 200
    assert answer.json["recorded"] == [{"kind": "hard", "suppressed": True}]
    status, _, blocked, bounces = _state(app, subscriber_id)
    assert (status, blocked) == ("bounced", True)
    assert [(b.source, b.verified) for b in bounces] == [("ses", True)]
    assert "user unknown" in bounces[0].reason
    assert visited == []  # the certificate came from the cache


def test_ses_transient_bounce_counts_and_complaint_suppresses(app, client, subscriber_id, visited):
    soft = _ses(client, _notification("ses-bounce-transient.json"))
    assert soft.json["recorded"] == [{"kind": "soft", "suppressed": False}]
    assert _state(app, subscriber_id)[:3] == ("confirmed", 1, False)

    complaint = _ses(client, _notification("ses-complaint.json"))

    assert complaint.json["recorded"] == [{"kind": "complaint", "suppressed": True}]
    assert _state(app, subscriber_id)[:3] == ("complained", 1, True)


def test_ses_delivery_is_ignored(app, client, subscriber_id, visited):
    answer = _ses(client, _notification("ses-delivery.json"))

    assert answer.status_code == 200 and answer.json["recorded"] == []
    assert _state(app, subscriber_id) == ("confirmed", 0, False, [])


@pytest.mark.parametrize(
    "message",
    [
        pytest.param(
            lambda: _notification(
                "ses-bounce-permanent.json", key=rsa.generate_private_key(65537, 2048)
            ),
            id="forged",
        ),
        pytest.param(
            lambda: {**_notification("ses-bounce-permanent.json"), "Signature": ""}, id="unsigned"
        ),
        pytest.param(
            lambda: {
                **_notification("ses-bounce-transient.json"),
                "Message": (SAMPLES / "ses-bounce-permanent.json").read_text(),
            },
            id="tampered",
        ),
        pytest.param(
            lambda: _notification(
                "ses-bounce-permanent.json",
                topic="arn:aws:sns:us-east-1:999999999999:someone-elses",
            ),
            id="other-topic",
        ),
    ],
)
def test_ses_forged_unsigned_or_foreign_message_is_refused(
    app, client, subscriber_id, visited, message
):
    answer = _ses(client, message())

    assert answer.status_code == 401
    assert _state(app, subscriber_id) == ("confirmed", 0, False, [])
    assert visited == []


@pytest.mark.parametrize(
    "cert_url",
    [
        "https://sns.us-east-1.amazonaws.com.evil.example/cert.pem",
        "https://evil.example/sns.us-east-1.amazonaws.com/cert.pem",
        "http://sns.us-east-1.amazonaws.com/SimpleNotificationService-test.pem",
        "https://sns.us-east-1.amazonaws.com:8443/SimpleNotificationService-test.pem",
        "https://user@sns.us-east-1.amazonaws.com/SimpleNotificationService-test.pem",
        "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-test.txt",
    ],
)
def test_ses_certificate_from_anywhere_but_sns_is_never_fetched(
    app, client, subscriber_id, visited, cert_url
):
    # Even with the certificate in the cache under that URL, as if someone had planted it.
    ses.CERTIFICATES[cert_url] = ses.CERTIFICATES[CERT_URL]

    answer = _ses(client, _notification("ses-bounce-permanent.json", cert_url=cert_url))

    assert answer.status_code == 401
    assert visited == []
    assert _state(app, subscriber_id) == ("confirmed", 0, False, [])


def test_ses_subscription_confirmation_visits_its_sns_subscribe_url(
    app, client, subscriber_id, visited
):
    confirmation = _sample("sns-subscription-confirmation.json")

    answer = _ses(client, _sns(confirmation))

    assert answer.status_code == 200
    assert visited == [confirmation["SubscribeURL"]]
    assert _state(app, subscriber_id) == ("confirmed", 0, False, [])


def test_ses_subscription_confirmation_never_visits_another_host(
    app, client, subscriber_id, visited
):
    confirmation = _sample("sns-subscription-confirmation.json")
    confirmation["SubscribeURL"] = "https://sns.us-east-1.amazonaws.com.evil.example/?Token=1"

    answer = _ses(client, _sns(confirmation))

    assert answer.status_code == 200
    assert visited == []


def test_ses_forged_subscription_confirmation_is_refused(app, client, subscriber_id, visited):
    forged = _sns(
        _sample("sns-subscription-confirmation.json"), key=rsa.generate_private_key(65537, 2048)
    )

    answer = _ses(client, forged)

    assert answer.status_code == 401
    assert visited == []


def test_the_certificate_is_fetched_once_per_url(app, client, subscriber_id, monkeypatch):
    fetched = []
    pem = _certificate(SNS_KEY)
    monkeypatch.setattr(ses, "CERTIFICATES", {})
    monkeypatch.setattr(ses, "visit", lambda url: fetched.append(url) or pem)

    for sample in ("ses-delivery.json", "ses-bounce-transient.json"):
        assert _ses(client, _notification(sample)).status_code == 200

    assert fetched == [CERT_URL]


# ---------------------------------------------------------------- every provider


@pytest.mark.parametrize("provider", ["mailgun", "sendgrid", "postmark", "ses", "unknown"])
def test_a_provider_without_settings_does_not_exist(make_app, provider):
    client = make_app().test_client()

    answer = client.post(f"/webhooks/bounce/{provider}", json={})

    assert answer.status_code == 404


def test_a_report_about_no_subscriber_is_ignored(app, client, subscriber_id):
    payload = _mailgun("mailgun-failed-permanent.json")
    payload["event-data"]["recipient"] = "stranger@example.net"

    answer = client.post("/webhooks/bounce/mailgun", json=payload)

    assert answer.status_code == 200
    assert answer.json == {"recorded": [], "ignored": 1}
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Bounce)) == 0


# ---------------------------------------------------------------- an event delivered twice

BOTH = pytest.mark.parametrize("backend", ["sqlite", "postgresql"], indirect=True)
PROVIDERS = pytest.mark.parametrize("provider", ["mailgun", "sendgrid", "postmark", "ses"])


def _with_id(record, field, event_id):
    record.pop(field, None)
    if event_id is not None:
        record[field] = event_id
    return record


def _soft_bounce(client, provider, event_id):
    """A soft bounce about ADDRESS from ``provider``, signed afresh as a retry would be, with
    ``event_id`` as the provider's id of the event (None: an event without one)."""
    if provider == "mailgun":
        payload = _mailgun("mailgun-failed-temporary.json")
        _with_id(payload["event-data"], "id", event_id)
        return client.post("/webhooks/bounce/mailgun", json=payload)
    if provider == "sendgrid":
        events = [_with_id(_sample("sendgrid-blocked.json")[0], "sg_event_id", event_id)]
        return _sendgrid(client, "", events=events)
    if provider == "postmark":
        record = _with_id(_sample("postmark-softbounce.json"), "ID", event_id)
        return _postmark(client, "", record=record)
    message = {
        "Type": "Notification",
        "Message": (SAMPLES / "ses-bounce-transient.json").read_text(),
        "Timestamp": "2026-12-07T05:21:03.000Z",
    }
    return _ses(client, _sns(_with_id(message, "MessageId", event_id)))


@BOTH
@PROVIDERS
def test_a_soft_bounce_delivered_twice_counts_once(
    app, client, subscriber_id, visited, backend, provider
):
    first = _soft_bounce(client, provider, "event-1")
    assert first.json["recorded"] == [{"kind": "soft", "suppressed": False}]

    again = _soft_bounce(client, provider, "event-1")

    assert again.status_code == 200  # so that the provider stops retrying
    assert again.json == {"recorded": [], "ignored": 1}
    status, soft, blocked, bounces = _state(app, subscriber_id)
    assert (status, soft, blocked, len(bounces)) == ("confirmed", 1, False, 1)
    # The second real soft bounce reaches SOFT_BOUNCE_LIMIT (2), not the repeat.
    second = _soft_bounce(client, provider, "event-2")
    assert second.json["recorded"] == [{"kind": "soft", "suppressed": True}]
    assert _state(app, subscriber_id)[:3] == ("bounced", 2, True)


@BOTH
@PROVIDERS
def test_soft_bounces_without_an_id_count_each_time(
    app, client, subscriber_id, visited, backend, provider
):
    for _ in range(2):
        assert _soft_bounce(client, provider, None).status_code == 200

    assert _state(app, subscriber_id)[:3] == ("bounced", 2, True)


@BOTH
def test_a_batch_applies_only_its_events_not_seen_before(app, client, subscriber_id, backend):
    seen = _sample("sendgrid-blocked.json")[0]
    assert _sendgrid(client, "", events=[seen]).json["ignored"] == 0
    new = {**seen, "sg_event_id": "bmV3LWJsb2NrZWQtZXZlbnQ"}

    answer = _sendgrid(client, "", events=[seen, new])

    assert answer.json == {"recorded": [{"kind": "soft", "suppressed": True}], "ignored": 1}
    assert _state(app, subscriber_id)[:3] == ("bounced", 2, True)


@BOTH
def test_two_deliveries_of_one_event_at_the_same_moment_count_once(app, subscriber_id, backend):
    answers = []
    other = threading.Thread(
        target=lambda: answers.append(_soft_bounce(app.test_client(), "postmark", "event-1"))
    )
    report = providers.Report(ADDRESS, BounceKind.SOFT, "mailbox full", "event-1")
    with app.app_context():
        # One delivery has applied the event and not yet committed when the other comes in.
        assert providers.first_deliveries("postmark", [report]) == [report]
        service.record_provider_report("postmark", ADDRESS, BounceKind.SOFT, "mailbox full")
        other.start()
        other.join(timeout=1)
        assert other.is_alive()  # waiting for the first one's transaction
        db.session.commit()
    other.join(timeout=30)

    assert answers[0].status_code == 200
    assert answers[0].json == {"recorded": [], "ignored": 1}
    assert _state(app, subscriber_id)[:3] == ("confirmed", 1, False)


@BOTH
def test_the_tick_keeps_event_ids_for_a_week_then_forgets_them(app, client, subscriber_id, backend):
    from newsletter.jobs.tick import tick

    def age(days):
        with app.app_context():
            db.session.execute(
                update(ProviderNonce).values(seen_at=datetime.now(UTC) - timedelta(days=days))
            )
            db.session.commit()
            tick()
            return db.session.scalars(select(ProviderNonce.provider)).all()

    _soft_bounce(client, "sendgrid", "event-1")
    assert age(days=6) == ["sendgrid-event"]
    assert _soft_bounce(client, "sendgrid", "event-1").json["ignored"] == 1

    assert age(days=8) == []
    assert _state(app, subscriber_id)[1] == 1


# ---------------------------------------------------------------- sources on the bounce page


def test_each_bounce_keeps_its_source_and_the_admin_page_shows_it(subscriber_sources):
    app, admin_client = subscriber_sources
    with app.app_context():
        rows = db.session.execute(select(Bounce.email, Bounce.source).order_by(Bounce.id)).all()
    assert [source for _, source in rows] == ["webhook", "mailbox", "smtp", "mailgun"]

    page = admin_client.get("/admin/bounces").get_data(as_text=True)

    for source in ("webhook", "mailbox", "smtp", "mailgun"):
        assert f"<small>via {source}</small>" in page


@pytest.fixture
def subscriber_sources(make_app, tmp_path):
    """One bounce from each way in: our signed relay, the mailbox command, our own SMTP
    server's refusal and a Mailgun webhook; returns (app, an admin's client)."""
    import mailbox

    from helpers.admin import login, make_admin
    from helpers.bounce import SECRET, post_report, quoting, sent_delivery, tagged_delivery

    from newsletter.bounces import service
    from newsletter.cli import main

    app = make_app(BOUNCE_WEBHOOK_SECRET=SECRET, BOUNCE_MAILGUN_SIGNING_KEY=MAILGUN_KEY)
    client = app.test_client()
    gmail, gmail_id = "gmail-address-not-found.eml", "<177254000001.105.gm@news.example.org>"
    with app.app_context():
        _, _, relayed = tagged_delivery("relayed@example.com")
        _, _, boxed = tagged_delivery("boxed@example.com")
        refused_subscriber, refused_delivery = sent_delivery("refused@example.com")
        db.session.add(Subscriber(email=ADDRESS, status="confirmed"))
        db.session.commit()
    assert post_report(client, quoting(gmail, gmail_id, relayed)).status_code == 200
    box = mailbox.Maildir(tmp_path / "Maildir")
    box.add(quoting(gmail, gmail_id, boxed))
    assert app.test_cli_runner().invoke(main, ["bounces", "process", str(tmp_path / "Maildir")])
    with app.app_context():
        service.record_refusal(refused_delivery, refused_subscriber, "550 5.1.1 no such user")
        db.session.commit()
    mailgun = client.post("/webhooks/bounce/mailgun", json=_mailgun("mailgun-complained.json"))
    assert mailgun.status_code == 200
    make_admin(app)
    assert login(client).status_code == 302
    return app, client


@pytest.mark.parametrize(
    ("setting", "value", "named"),
    [
        ("BOUNCE_SENDGRID_PUBLIC_KEY", "not a key", "NEWSLETTER_BOUNCE_SENDGRID_PUBLIC_KEY"),
        ("BOUNCE_SES_TOPIC_ARNS", f"{TOPIC}, bounces", "NEWSLETTER_BOUNCE_SES_TOPIC_ARNS"),
        ("BOUNCE_POSTMARK_USER", "postmark", "NEWSLETTER_BOUNCE_POSTMARK_PASSWORD"),
    ],
)
def test_provider_settings_that_make_no_sense_stop_the_app(make_app, setting, value, named):
    from newsletter.config.rules import ConfigError

    with pytest.raises(ConfigError, match=named):
        make_app(**{setting: value})
