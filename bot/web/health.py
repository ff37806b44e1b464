"""`GET /healthz`: is this web process up, and can it reach the database?

Load balancers and platform health checks poll it. 503 when the database cannot be reached,
so traffic goes to a process that can serve it (and a deploy that cannot reach its
database is noticed).
"""

from __future__ import annotations

import logging

from flask import Blueprint, Response, jsonify
from sqlalchemy import text

from bot.web.context import context
from storage.database import transaction

log = logging.getLogger(__name__)

blueprint = Blueprint("health", __name__)


@blueprint.get("/healthz")
def healthz() -> tuple[Response, int]:
    """200 {"status": "ok", "database": "ok"}, or 503 with "database": "unreachable"."""
    try:
        with transaction(context().sessions, readonly=True) as session:
            session.execute(text("SELECT 1"))
    except Exception as error:  # any failure to reach the database is "unreachable"
        log.warning("health check: database unreachable (%s)", type(error).__name__)
        return jsonify(status="error", database="unreachable"), 503
    return jsonify(status="ok", database="ok"), 200
