"""The admin blueprint: everything under /admin, login required."""

import importlib
import importlib.util

from flask import Blueprint

bp = Blueprint("admin", __name__)

from . import (  # noqa: E402, F401
    account,
    audit_log,
    auth,
    bounces,
    compose,
    drafts,
    imports,
    layout,
    lists,
    media,
    permissions,
    request_rules,
    segments,
    sequence_steps,
    sequences,
    subscribers,
    team,
    two_factor,
    views,
    webhooks,
)

# The sending engine's pages (progress, pause, cancel) join this blueprint once they exist.
if importlib.util.find_spec(f"{__name__}.sending") is not None:
    importlib.import_module(f"{__name__}.sending")
