"""What no admin request may carry, refused before any view reads it.

A NUL character: nobody types one, PostgreSQL's text cannot hold one (a query or a write with
it fails, a 500) and SQLite's full-text search takes it for a syntax error. A request with one
in any argument, form field or file name is refused whole with a 400, so no page or form has
to remember the rule.
"""

from __future__ import annotations

from itertools import chain

from flask import request

from .. import errors
from . import bp

NUL_REFUSED = "A field holds a NUL character (\\0), which no field takes. Nothing was changed."


@bp.before_request
def refuse_nul():  # type: ignore[no-untyped-def]
    """400 for a NUL anywhere in the request's arguments, form fields or file names."""
    fields = chain(
        request.args.items(multi=True),
        request.form.items(multi=True),
        ((name, upload.filename or "") for name, upload in request.files.items(multi=True)),
    )
    if any("\x00" in name or "\x00" in value for name, value in fields):
        return errors.problem(400, NUL_REFUSED)
    return None
