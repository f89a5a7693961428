"""Bounces and complaints: parsed from DSN and ARF reports, arriving by webhook or mailbox."""

from flask import Blueprint

bp = Blueprint("bounces", __name__)

from . import views  # noqa: E402, F401
