"""``/api/v1/webhooks``: the endpoints our events are sent to, as the admin's webhooks page
offers them. Every role reads them (without their secrets); only owners add, change or remove
one, and only owners are shown a secret.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from flask import Response
from pydantic import BaseModel, ConfigDict, Field

from ..accounts import roles
from ..accounts.roles import requires
from ..models import Role, WebhookEndpoint
from ..webhooks import service
from . import bp
from .errors import problem
from .spec import Answers, spec

TAGS = ["webhooks"]
NO_NUL = r"^[^\x00]*$"  # PostgreSQL text cannot hold NUL
Event = Literal[service.EVENTS]  # type: ignore[valid-type]  # the spec lists each event


class WebhookOut(BaseModel):
    """A webhook endpoint."""

    id: int
    url: str
    events: list[str]
    description: str
    enabled: bool
    created_at: datetime
    disabled_at: datetime | None = Field(description="Set while disabled (by hand or failing).")
    secret: str | None = Field(
        None, description="The signing secret (whsec_…): shown to owners' tokens only."
    )


class WebhooksOut(BaseModel):
    """Every endpoint, oldest first."""

    items: list[WebhookOut]


class WebhookIn(BaseModel):
    """A new endpoint; its secret is made for it and given in the answer."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(min_length=1, max_length=service.MAX_URL, pattern=NO_NUL)
    events: list[Event] = Field(min_length=1)
    description: str = Field("", max_length=service.MAX_DESCRIPTION, pattern=NO_NUL)


class WebhookPatch(BaseModel):
    """The fields to change; those left out (or null) stay as they are."""

    model_config = ConfigDict(extra="forbid")

    url: str | None = Field(None, min_length=1, max_length=service.MAX_URL, pattern=NO_NUL)
    events: list[Event] | None = Field(None, min_length=1)
    description: str | None = Field(None, max_length=service.MAX_DESCRIPTION, pattern=NO_NUL)
    enabled: bool | None = Field(None, description="false stops calling it; true resumes.")


class Removed(BaseModel):
    """The endpoint is gone, with its delivery log."""

    id: int
    removed: bool


def _out(endpoint: WebhookEndpoint) -> WebhookOut:
    owner = roles.may(roles.current_role(), Role.OWNER)
    return WebhookOut(
        id=endpoint.id,
        url=endpoint.url,
        events=list(endpoint.events),
        description=endpoint.description,
        enabled=endpoint.disabled_at is None,
        created_at=endpoint.created_at,
        disabled_at=endpoint.disabled_at,
        secret=endpoint.secret if owner else None,
    )


@bp.errorhandler(service.EndpointProblem)
def _refused(exc: service.EndpointProblem) -> Response:
    field = exc.field or "body"
    return problem(422, str(exc), errors=[{"field": field, "message": str(exc)}])


@bp.get("/webhooks")
@requires(Role.VIEWER)
@spec.validate(resp=Answers(HTTP_200=WebhooksOut), tags=TAGS)
def list_webhooks() -> WebhooksOut:
    """Every webhook endpoint."""
    return WebhooksOut(items=[_out(e) for e in service.listed()])


@bp.post("/webhooks")
@requires(Role.OWNER)
@spec.validate(json=WebhookIn, resp=Answers(415, HTTP_201=WebhookOut), tags=TAGS)
def create_webhook(json: WebhookIn) -> tuple[WebhookOut, int]:
    """Add an endpoint; the answer carries its id and its secret."""
    return _out(service.add(json.url, list(json.events), json.description)), 201


@bp.get("/webhooks/<int:webhook_id>")
@requires(Role.VIEWER)
@spec.validate(resp=Answers(404, HTTP_200=WebhookOut), tags=TAGS)
def show_webhook(webhook_id: int) -> WebhookOut:
    """One webhook endpoint."""
    return _out(service.get(webhook_id))


@bp.patch("/webhooks/<int:webhook_id>")
@requires(Role.OWNER)
@spec.validate(json=WebhookPatch, resp=Answers(404, 415, HTTP_200=WebhookOut), tags=TAGS)
def change_webhook(webhook_id: int, json: WebhookPatch) -> WebhookOut:
    """Change its URL, events or description; enable or disable it."""
    return _out(service.change(webhook_id, json.model_dump(exclude_none=True)))


@bp.delete("/webhooks/<int:webhook_id>")
@requires(Role.OWNER)
@spec.validate(resp=Answers(404, HTTP_200=Removed), tags=TAGS)
def remove_webhook(webhook_id: int) -> Removed:
    """Remove the endpoint and its delivery log."""
    service.remove(webhook_id)
    return Removed(id=webhook_id, removed=True)
