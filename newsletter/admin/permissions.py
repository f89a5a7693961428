"""Who may use which admin page: one table, checked before every admin request.

Every admin endpoint has a rule here (a test walks ``app.url_map`` and fails on one without):
the role needed to read it (GET) and the role needed to change anything through it (any other
method). Reading is for every role except where the page itself hands out data only owners
may have (the CSV export, the admins and tokens pages); deleting a subscriber is erasure, an
owner's, whichever form asks for it. The refusal itself is ``accounts.roles.enforce``, the
same one the API's routes use: nothing changed, an audit entry, 403.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flask import request
from flask_login import current_user

from ..accounts import roles
from ..models import Role
from . import bp

OWNER, EDITOR, VIEWER = Role.OWNER, Role.EDITOR, Role.VIEWER
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@dataclass(frozen=True)
class Rule:
    read: Role
    write: Role
    # Some forms do several things, one of them an owner's (a bulk "delete" is erasure).
    owners_only: Callable[[], bool] | None = None

    def need(self) -> Role:
        if request.method in SAFE_METHODS:
            return self.read
        if self.owners_only is not None and self.owners_only():
            return OWNER
        return self.write


def changes(role: Role, owners_only: Callable[[], bool] | None = None) -> Rule:
    """A page every role may read; changing through it needs ``role``."""
    return Rule(VIEWER, role, owners_only)


def only(role: Role) -> Rule:
    """A page only ``role`` and above may open or use."""
    return Rule(role, role)


def _erasing() -> bool:
    return request.view_args.get("verb") == "delete" or request.form.get("action") == "delete"


# A page with nothing to change on it: every role reads it.
READ_ONLY = Rule(VIEWER, OWNER)
# Reachable without a login (auth.PUBLIC_ENDPOINTS): no role to check.
OPEN = frozenset({"admin.login", "admin.login_code"})
RULES: dict[str, Rule] = {
    "admin.dashboard": READ_ONLY,
    "admin.account": changes(VIEWER),  # everyone keeps their own password and time zone
    "admin.two_factor_recovery": changes(VIEWER),  # and their own two-factor sign-in
    "admin.two_factor_disable": changes(VIEWER),
    "admin.logout": changes(VIEWER),
    "admin.audit_log": READ_ONLY,
    "admin.lists": changes(EDITOR),
    "admin.list_edit": changes(EDITOR),
    "admin.list_archive": changes(EDITOR),
    "admin.subscribers": changes(EDITOR),
    "admin.subscriber": changes(EDITOR),
    "admin.subscriber_action": changes(EDITOR, owners_only=_erasing),
    "admin.subscriber_language": changes(EDITOR),
    "admin.subscribers_bulk": changes(EDITOR, owners_only=_erasing),
    "admin.export_csv": only(OWNER),
    "admin.import_csv": changes(EDITOR),
    "admin.import_status": changes(EDITOR),
    "admin.import_progress": changes(EDITOR),
    "admin.bounce_list": changes(EDITOR),
    "admin.bounce_lift": changes(EDITOR),
    "admin.issues": changes(EDITOR),
    "admin.issue": changes(EDITOR),
    "admin.compose": changes(EDITOR),
    "admin.issue_edit": changes(EDITOR),
    "admin.issue_autosave": changes(EDITOR),
    "admin.issue_autosave_new": changes(EDITOR),
    "admin.issue_delete": changes(EDITOR),
    "admin.issue_duplicate": changes(EDITOR),
    "admin.issue_preview": changes(EDITOR),
    "admin.issue_preview_html": changes(EDITOR),
    "admin.issue_test": changes(EDITOR),
    "admin.issue_schedule": changes(EDITOR),
    "admin.issue_action": changes(EDITOR),
    "admin.issue_progress": changes(EDITOR),
    "admin.issue_progress_json": changes(EDITOR),
    "admin.issue_progress_text": changes(EDITOR),
    "admin.issue_sending_action": changes(EDITOR),
    "admin.segments": changes(EDITOR),
    "admin.segment_new": changes(EDITOR),
    "admin.segment_edit": changes(EDITOR),
    "admin.segment_count": changes(EDITOR),  # counting reads, but only the builder asks
    "admin.segment_delete": changes(EDITOR),
    "admin.sequences": READ_ONLY,
    "admin.sequence": READ_ONLY,
    "admin.sequence_action": changes(EDITOR),
    "admin.sequence_step_new": changes(EDITOR),
    "admin.sequence_step": changes(EDITOR),
    "admin.sequence_preview": changes(EDITOR),
    "admin.sequence_step_test": changes(EDITOR),
    "admin.sequence_step_catch_up": changes(EDITOR),
    "admin.sequence_step_delete": changes(EDITOR),
    "admin.sequence_step_move": changes(EDITOR),
    "admin.admins": changes(OWNER),
    "admin.admin_add": only(OWNER),
    "admin.admin_role": only(OWNER),
    "admin.admin_delete": only(OWNER),
    "admin.admin_require_2fa": only(OWNER),
    "admin.admin_reset_2fa": only(OWNER),
    "admin.tokens": changes(OWNER),
    "admin.token_revoke": only(OWNER),
    "admin.webhooks": changes(OWNER),
    "admin.webhook": READ_ONLY,
    "admin.webhook_action": only(OWNER),
    "admin.webhook_remove": only(OWNER),
    "admin.media": changes(EDITOR),
    "admin.media_delete": changes(EDITOR),
    "admin.layout": changes(OWNER),
    "admin.layout_preview": changes(OWNER),
}
# An endpoint added without a rule is an owner's until someone writes one (the test fails).
UNLISTED = only(OWNER)


@bp.before_request
def check_role():  # type: ignore[no-untyped-def]
    """Refuse (403, audited, nothing changed) what the admin's role does not allow. Runs after
    auth's login check, which has already sent anyone not logged in to the login page."""
    if request.endpoint is None or request.endpoint in OPEN:
        return None
    if not current_user.is_authenticated:
        return None
    roles.enforce(RULES.get(request.endpoint, UNLISTED).need())
    return None


@bp.context_processor
def role_helpers() -> dict[str, object]:
    """``may("editor")`` in admin templates: show a button only to those who may press it."""
    return {"may": lambda need: roles.may(roles.current_role(), need)}
