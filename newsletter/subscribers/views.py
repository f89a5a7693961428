"""Public reader pages (placeholder index until the lifecycle lands)."""

from flask import render_template

from . import bp


@bp.get("/")
def index():  # type: ignore[no-untyped-def]
    return render_template("public/index.html")
