"""Error answers: short plain text, never a traceback, and 503 when the database is away.

Providers retry on 5xx (Twilio fails over, Telegram redelivers), so a database that cannot
be reached answers 503 with Retry-After: the unit of work was rolled back, nothing is
half-stored, and the redelivery will be handled once the database is back.

Logs name the exception type and where it was raised, never its message: database errors
quote the statement's parameters, which hold phone numbers and message text.
"""

from __future__ import annotations

import logging
import traceback

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from storage.retry import database_unavailable

log = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = "5"


def plain(status: int, text: str) -> Response:
    """A short plain-text answer."""
    return Response(text.rstrip("\n") + "\n", status=status, mimetype="text/plain")


def register(app: Flask) -> None:
    """Install the handlers on `app`."""
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected)


def _http_error(error: HTTPException) -> Response:
    """400, 403, 404, 405, 413...: the standard reason, in one line."""
    status = error.code or 500
    text = {
        400: "bad request",
        413: "request body too large (64 KiB at most)",
    }.get(status, error.name.lower())
    response = plain(status, text)
    if isinstance(error, MethodNotAllowed) and error.valid_methods:
        response.headers["Allow"] = ", ".join(error.valid_methods)
    return response


def _unexpected(error: Exception) -> Response:
    """Database unreachable -> 503 (retry later); a body that cannot be read (malformed
    chunked encoding from the server, JSON nested past Python's recursion limit) -> 400;
    anything else -> 500. Logged without values."""
    if isinstance(error, RecursionError) or type(error).__module__.startswith("gunicorn.http"):
        log.info("unreadable request body on %s %s", request.method, request.path)
        return plain(400, "malformed request body")
    if database_unavailable(error):
        log.warning(
            "database unavailable during %s %s: %s",
            request.method,
            request.path,
            type(getattr(error, "orig", None) or error).__name__,
        )
        response = plain(503, "database unavailable, try again shortly")
        response.headers["Retry-After"] = RETRY_AFTER_SECONDS
        return response
    log.error(
        "unhandled %s during %s %s\n%s",
        type(error).__name__,
        request.method,
        request.path,
        "".join(traceback.format_tb(error.__traceback__)),
    )
    return plain(500, "internal error")
