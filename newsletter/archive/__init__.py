"""The archive blueprint."""

from flask import Blueprint

bp = Blueprint("archive", __name__)

from . import views  # noqa: E402, F401
