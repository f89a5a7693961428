"""Public archive (placeholder)."""

from flask import render_template

from . import bp


@bp.get("/archive")
def index():  # type: ignore[no-untyped-def]
    return render_template("archive/index.html")
