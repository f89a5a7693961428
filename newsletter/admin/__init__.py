"""The admin blueprint: everything under /admin, login required."""

import importlib
import importlib.util

from flask import Blueprint

bp = Blueprint("admin", __name__)

from . import audit_log, auth, bounces, compose, imports, lists, subscribers, views  # noqa: E402, F401

# The sending engine's pages (progress, pause, cancel) join this blueprint once they exist.
if importlib.util.find_spec(f"{__name__}.sending") is not None:
    importlib.import_module(f"{__name__}.sending")
