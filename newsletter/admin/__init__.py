"""The admin blueprint: everything under /admin, login required."""

from flask import Blueprint

bp = Blueprint("admin", __name__)

from . import auth, views  # noqa: E402, F401
