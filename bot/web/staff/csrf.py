"""CSRF protection: every form that changes something carries its session's secret token.

The token lives in the session's database row (see `web_sessions`), is written into each
form as a hidden field `csrf_token` (or sent by our scripts as the `X-CSRF-Token` header),
and is compared in constant time. A page on another site can make a browser post to us,
but cannot read the token, so its post is refused. SameSite=Lax cookies are a second line.
"""

from __future__ import annotations

import hmac

from flask import request
from werkzeug.exceptions import BadRequest

FIELD = "csrf_token"
HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class CsrfError(BadRequest):
    """A form arrived without its session's token (old page, other site, no cookie)."""

    description = (
        "This form has expired or did not come from this site. Go back, reload the page "
        "and try again."
    )


def check(expected: str | None) -> None:
    """Raise CsrfError unless this unsafe request carries `expected` (the session's token)."""
    if request.method in SAFE_METHODS:
        return
    sent = request.headers.get(HEADER) or request.form.get(FIELD) or ""
    if not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise CsrfError()
