"""What no admin request may carry, refused before any view reads it, so that no page or
form has to remember these rules.

- **A NUL character**: nobody types one, PostgreSQL's text cannot hold one (a query or a write
  with it fails, a 500) and SQLite's full-text search takes it for a syntax error. A request
  with one in any argument, form field or file name is refused whole with a 400.
- **A JSON body**: the admin's pages and their scripts post forms (``FormData``), and the
  forms would read a JSON body's lists and objects where they expect text (a 500 in a view
  that renders what it was sent); scripts have the REST API. A POST of JSON is a 415.
"""

from __future__ import annotations

from itertools import chain

from flask import request

from .. import errors
from . import bp

NUL_REFUSED = "A field holds a NUL character (\\0), which no field takes. Nothing was changed."
JSON_REFUSED = "The admin takes forms, not JSON; scripts have the REST API at /api/v1."


@bp.before_request
def refuse_nul_and_json():  # type: ignore[no-untyped-def]
    """400 for a NUL anywhere in the request's arguments, form fields or file names; 415 for
    a POST whose body is JSON."""
    if request.method == "POST" and request.is_json:
        return errors.problem(415, JSON_REFUSED)
    fields = chain(
        request.args.items(multi=True),
        request.form.items(multi=True),
        ((name, upload.filename or "") for name, upload in request.files.items(multi=True)),
    )
    if any("\x00" in name or "\x00" in value for name, value in fields):
        return errors.problem(400, NUL_REFUSED)
    return None
