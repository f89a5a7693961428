"""The spec at ``/api/v1/openapi.json`` (open to all: it holds no data) and ``/api/docs``,
Swagger UI on it, served from our own ``/static`` (no CDN: the CSP allows only ourselves)."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, render_template

from . import bp as api_bp
from .spec import spec

bp = Blueprint("api_docs", __name__)


@api_bp.get("/openapi.json")
def openapi() -> Response:
    """The OpenAPI 3.1 document, generated from the routes and their models."""
    return jsonify(spec.spec)


@bp.get("/api/docs")
def page() -> str:
    """An interactive page on the spec: every route, its models, and a "Try it out"."""
    return render_template("api_docs.html")
