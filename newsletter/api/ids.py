"""Row ids in the API's paths. The spec gives them as int32 (spectree's reading of Flask's
``int`` converter) and PostgreSQL's ``integer`` holds no more, so a larger id is answered as
what it is, a row that does not exist (404), before any query could fail on it."""

from __future__ import annotations

from typing import Any

from werkzeug.exceptions import NotFound

from . import bp

MAX_ID = 2**31 - 1


@bp.url_value_preprocessor
def _ids_in_range(endpoint: str | None, values: dict[str, Any] | None) -> None:
    if any(isinstance(v, int) and v > MAX_ID for v in (values or {}).values()):
        raise NotFound("There is no such thing.")
