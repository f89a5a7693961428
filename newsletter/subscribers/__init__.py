"""The subscribers blueprint."""

from flask import Blueprint

bp = Blueprint("subscribers", __name__)

from . import views  # noqa: E402, F401
