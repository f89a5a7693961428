"""Every route in the served OpenAPI spec with a token of each role: what the role may do
works, the rest is 403, changes nothing and is audited (DESIGN.md, "Roles": viewers read,
editors change everything but erasure, owners everything).

The routes come from ``GET /api/v1/openapi.json``, so a route added to the API is walked
without anyone adding it here; one the table below does not know fails the walk.
"""

from __future__ import annotations

import io
from datetime import timedelta

import pytest
from helpers.api import bearer
from helpers.images import image_bytes
from helpers.outbox import wait_idle
from helpers.roles import database_state, last_audit
from helpers.send import add_subscribers, make_issue, make_list
from sqlalchemy import select

from newsletter.extensions import db
from newsletter.models import Role, Subscriber, SubscriberStatus, SubscriptionStatus, utcnow
from newsletter.segments import service as segments
from newsletter.sequences import service as sequences
from newsletter.webhooks import service as webhooks

OWNERS_ONLY = {
    ("DELETE", "/api/v1/subscribers/{subscriber_id}"),  # erasure
    ("POST", "/api/v1/webhooks"),  # webhooks are owners' (their secrets, subscribers' data out)
    ("PATCH", "/api/v1/webhooks/{webhook_id}"),
    ("DELETE", "/api/v1/webhooks/{webhook_id}"),
}
WEBHOOK_URL = "https://93.184.215.14/hook"  # a public address: no DNS needed
NOT_AUDITED = {"api_token"}  # its last_used_at moves when any token is used
# Acts on a sending: walked on a draft of their own, where the role check passes and the
# issue's state refuses (409) all but cancel, which would stop the shared draft being sent.
SENDING_ACTIONS = ("/pause", "/resume", "/cancel", "/retry-failed", "/resend-unknown")


def _needs(method: str, path: str) -> Role:
    if (method, path) in OWNERS_ONLY:
        return Role.OWNER
    return Role.VIEWER if method == "GET" else Role.EDITOR


@pytest.fixture
def samples(app) -> dict:
    with app.app_context():
        list_id = make_list("weekly")
        make_list("doomed", "Doomed")
        add_subscribers(list_id, 2)
        ids = list(db.session.scalars(select(Subscriber.id).order_by(Subscriber.id)))
        return {
            "slug": "weekly",
            "doomed": "doomed",
            "subscriber_id": ids[0],
            "erased_id": ids[1],
            "issue_id": make_issue([list_id]),
            "other_issue_id": make_issue([list_id], "Other"),
            "doomed_issue_id": make_issue([list_id], "Doomed"),
            "pending_id": _pending_subscriber(list_id),
            "webhook_id": webhooks.add(WEBHOOK_URL, ["issue.sent"]).id,
            "step_id": sequences.add_step("weekly", "Step", "Hello", 3600).id,
            "doomed_step_id": sequences.add_step("weekly", "Doomed", "Hello", 60).id,
            "segment_id": segments.create("Sample", {"all": []}).id,
            "doomed_segment_id": segments.create("Doomed", {"all": []}).id,
        }


def _pending_subscriber(list_id: int) -> int:
    (email,) = add_subscribers(
        list_id,
        1,
        start=100,
        status=SubscriberStatus.PENDING,
        list_status=SubscriptionStatus.PENDING,
    )
    return db.session.scalar(select(Subscriber.id).where(Subscriber.email == email))


def _bodies(samples: dict) -> dict[tuple[str, str], dict]:
    at = (utcnow() + timedelta(days=2)).isoformat(timespec="seconds")
    return {
        ("POST", "/api/v1/lists"): {"slug": "walked", "name": "Walked", "public": False},
        ("PATCH", "/api/v1/lists/{slug}"): {"name": "Renamed"},
        ("POST", "/api/v1/subscribers"): {
            "email": "walked@example.org",
            "lists": [samples["slug"]],
            "status": "confirmed",
            "consent_note": "signed up at the fair",
        },
        ("PATCH", "/api/v1/subscribers/{subscriber_id}"): {"name": "Walked"},
        ("POST", "/api/v1/issues"): {
            "subject": "Walked",
            "body_markdown": "Hello",
            "lists": [samples["slug"]],
        },
        ("PATCH", "/api/v1/issues/{issue_id}"): {"subject": "Renamed"},
        ("POST", "/api/v1/issues/{issue_id}/schedule"): {"at": at},
        ("POST", "/api/v1/webhooks"): {"url": WEBHOOK_URL, "events": ["subscriber.confirmed"]},
        ("PATCH", "/api/v1/webhooks/{webhook_id}"): {"description": "Walked"},
        ("POST", "/api/v1/issues/{issue_id}/test"): {"address": "walk@example.org"},
        ("POST", "/api/v1/sequences"): {"list": "weekly", "subject": "Walked", "after": "1d"},
        ("PATCH", "/api/v1/sequences/{step_id}"): {"subject": "Renamed"},
        ("PATCH", "/api/v1/sequences/lists/{slug}"): {"welcome": False},
        ("POST", "/api/v1/segments"): {"name": "Walked", "rules": {"all": []}},
        ("PATCH", "/api/v1/segments/{segment_id}"): {"name": "Renamed"},
        ("POST", "/api/v1/segments/count"): {"rules": {"all": []}},
    }


def _calls(client, samples: dict) -> list[tuple[str, str, str, dict | None]]:
    """(method, spec path, URL, JSON body) for every operation in the served spec; those that
    remove or send last."""
    spec = client.get("/api/v1/openapi.json").get_json()
    bodies = _bodies(samples)
    calls = []
    for path, operations in spec["paths"].items():
        for method in operations:
            method = method.upper()
            if method not in {"GET", "POST", "PATCH", "PUT", "DELETE"}:
                continue
            values = dict(samples)
            if method == "DELETE":  # remove things nothing later names
                values |= {
                    "slug": samples["doomed"],
                    "subscriber_id": samples["erased_id"],
                    "issue_id": samples["doomed_issue_id"],
                    "step_id": samples["doomed_step_id"],
                    "segment_id": samples["doomed_segment_id"],
                }
            if path.endswith(SENDING_ACTIONS):
                values["issue_id"] = samples["other_issue_id"]
            if path.endswith("/resend-confirmation"):
                values["subscriber_id"] = samples["pending_id"]
            url = path.format(**values)
            calls.append((method, path, url, bodies.get((method, path))))
    last = ("DELETE", "/send")
    return sorted(calls, key=lambda c: (c[0] == last[0], c[2].endswith(last[1])))


@pytest.mark.parametrize("role", list(Role))
def test_every_api_route_answers_each_role_as_the_roles_table_says(app, client, samples, role):
    headers = bearer(app, role, name=f"walk-{role}")
    calls = _calls(client, samples)
    assert len(calls) >= 15  # lists, subscribers, issues: every operation
    for method, path, url, body in calls:
        wait_idle(app)  # a send started earlier changes the issue's row as it goes
        before = database_state(app)
        if path == "/api/v1/media":  # the one multipart route: an image in the field "file"
            upload = {"file": (io.BytesIO(image_bytes()), "walk.png")}
            response = client.post(url, headers=headers, data=upload)
        else:
            response = client.open(url, method=method, headers=headers, json=body)
        wait_idle(app)
        where = (role, method, url, response.status_code, response.get_data(as_text=True)[:300])
        if Role(role) == Role.OWNER or _rank(role) >= _rank(_needs(method, path)):
            refused_by_state = path.endswith(SENDING_ACTIONS) and response.status_code == 409
            assert response.status_code < 400 or refused_by_state, where
        else:
            assert response.status_code == 403, where
            assert response.mimetype == "application/problem+json", where
            after = database_state(app)
            for table in NOT_AUDITED:
                before.pop(table), after.pop(table)
            assert after == before, where
            entry = last_audit(app)
            assert entry.action == "forbidden" and entry.admin_email == f"token:walk-{role}"


def _rank(role: Role) -> int:
    return [Role.VIEWER, Role.EDITOR, Role.OWNER].index(Role(role))
