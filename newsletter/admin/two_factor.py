"""Two-factor sign-in in the admin, beyond one's own account page: the setup QR code, and
the owners' part on the admins page (require it of everyone; reset an admin's for a lost
phone). The login's second step is in ``auth``, turning it on and off in ``account``."""

from __future__ import annotations

import segno
from flask import abort, current_app, flash, redirect, url_for
from markupsafe import Markup

from ..accounts import admins, two_factor
from . import bp
from .forms import ActionForm
from .two_factor_forms import RequireForm

QR_LABEL = "QR code for your authenticator app, holding the secret shown beside it"


def qr_svg(uri: str) -> Markup:
    """The ``otpauth://`` URI as an inline SVG QR code, made here (no remote service sees
    the secret). Dark on white whatever the page's colours, as scanners need; no style
    attribute, which the CSP would block."""
    svg = segno.make(uri, error="m").svg_inline(
        scale=4, dark="#000", light="#fff", title=QR_LABEL, svgclass="qr-code"
    )
    labelled = svg.replace("<svg ", f'<svg role="img" aria-label="{QR_LABEL}" ', 1)
    return Markup(labelled)  # noqa: S704 (segno's own markup and our constant label)


def admins_page_parts() -> dict[str, object]:
    """What the admins page shows of two-factor sign-in: the owners' setting as a form, and
    whether the environment requires it anyway."""
    return {
        "require_form": RequireForm(formdata=None, required=two_factor.owners_require()),
        "required_by_env": bool(current_app.config["REQUIRE_2FA"]),
    }


@bp.post("/admins/two-factor", endpoint="admin_require_2fa")
def require() -> object:
    """Owners: require (or stop requiring) two-factor sign-in of every admin."""
    form = RequireForm()
    if not form.validate_on_submit():
        abort(400)
    two_factor.set_required(bool(form.required.data))
    if form.required.data:
        flash("Every admin must now use two-factor sign-in; those without it set it up next.")
    elif current_app.config["REQUIRE_2FA"]:
        flash("NEWSLETTER_REQUIRE_2FA is set: every admin must still use two-factor sign-in.")
    else:
        flash("Two-factor sign-in is no longer required.")
    return redirect(url_for("admin.admins"))


@bp.post("/admins/<int:admin_id>/two-factor/reset", endpoint="admin_reset_2fa")
def reset(admin_id: int) -> object:
    """Owners: turn an admin's two-factor sign-in off (a lost phone); audited."""
    if not ActionForm().validate_on_submit():
        abort(400)
    admin = admins.get(admin_id)
    two_factor.reset(admin)
    flash(f"Two-factor sign-in reset for {admin.email}: they log in with the password alone.")
    return redirect(url_for("admin.admins"))
