"""The Flask application: provider webhooks and the health check.

`create_app()` is the application factory. Every handle the app uses (settings, database
sessions, the flows folder, the clock, provider credentials) can be passed in, so tests
build an app on their own database with a frozen clock; by default they come from the
environment. The app holds no state between requests: run as many processes as you like
against one PostgreSQL database.

Behind a proxy (Heroku's router, nginx, Caddy, a load balancer) set
`GROUNDSWELL_TRUSTED_PROXIES` to the number of proxies in front of the app: ProxyFix then
takes the client's address (for the per-client sign-in limit) from that many hops of
X-Forwarded-For, and nothing from a header no trusted proxy wrote. Twilio's signature check
never uses forwarded headers: it uses the configured `GROUNDSWELL_PUBLIC_URL`.
Over HTTPS (`Settings.secure`) every response carries HSTS.

Imports: `bot.channels` (webhook parsing), `bot.checkins` (handling a message),
`bot.people`, `bot.delivery`, `bot.settings`, `storage`, `reports` (pages load it on use),
`survey_flows`. Never `bot.commands`.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime

from flask import Flask, Response
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.middleware.proxy_fix import ProxyFix

from bot.channels.telegram import TelegramSettings
from bot.channels.twilio import TwilioSettings
from bot.settings import Settings
from bot.web import errors, health, staff, webhooks
from bot.web.context import EXTENSION, WebContext
from storage.database import make_engine, normalise_url, session_factory
from storage.flow_versions import Flows, FlowStore

#: Provider payloads are a few kilobytes; anything bigger is not from a provider.
MAX_BODY_BYTES = 64 * 1024
#: HSTS over HTTPS: browsers use only HTTPS for this host for a year.
HSTS = "max-age=31536000; includeSubDomains"
#: Seconds to wait for a PostgreSQL connection: well inside Twilio's 15 s webhook timeout.
CONNECT_TIMEOUT_SECONDS = 5


def create_app(
    settings: Settings | None = None,
    *,
    sessions: sessionmaker[Session] | None = None,
    library: Flows | None = None,
    clock: Callable[[], datetime] | None = None,
    twilio: TwilioSettings | None = None,
    telegram: TelegramSettings | None = None,
) -> Flask:
    """Build the web app.

    - `settings`: deployment settings (default `Settings.from_env()`).
    - `sessions`: a sessionmaker (default: a new engine on `settings.database_url`; the
      schema must already be migrated, which `groundswell serve` and `run` make sure of).
    - `library`: where flows come from (default: the database, `FlowStore`).
    - `clock`: returns the current aware UTC time (default the system clock).
    - `twilio` / `telegram`: provider settings (default from the environment).
    """
    settings = settings or Settings.from_env()
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES
    app.config["MAX_FORM_MEMORY_SIZE"] = MAX_BODY_BYTES
    sessions = sessions or default_sessions(settings.database_url)
    app.extensions[EXTENSION] = WebContext(
        settings=settings,
        sessions=sessions,
        library=library or FlowStore(sessions),
        clock=clock or _utcnow,
        twilio=twilio or TwilioSettings.from_env(os.environ),
        telegram=telegram or TelegramSettings.from_env(os.environ),
    )
    if settings.trusted_proxies:
        hops = settings.trusted_proxies
        # Flask's documented way to add WSGI middleware, which mypy sees as replacing a method.
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=hops, x_proto=hops, x_host=0, x_port=0, x_prefix=0
        )
    if settings.secure:
        app.after_request(_strict_transport)
    app.register_blueprint(webhooks.blueprint)
    app.register_blueprint(health.blueprint)
    errors.register(app)
    staff.register(app)
    return app


def default_sessions(database_url: str) -> sessionmaker[Session]:
    """Sessions for a web process: statement parameters kept out of error messages and
    logs (they hold phone numbers and message text), and a bounded connect wait."""
    url = normalise_url(database_url)
    options: dict[str, object] = {"hide_parameters": True}
    if make_url(url).get_backend_name() == "postgresql":
        options["connect_args"] = {"connect_timeout": CONNECT_TIMEOUT_SECONDS}
    return session_factory(make_engine(url, **options))


def _strict_transport(response: Response) -> Response:
    response.headers.setdefault("Strict-Transport-Security", HSTS)
    return response


def _utcnow() -> datetime:
    return datetime.now(UTC)
