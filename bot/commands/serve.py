"""`groundswell serve [--host H] [--port P] [--workers N] [--threads T]`: the web app only.

Webhooks and the health check, for deployments that run the worker and the clock as their
own processes (the Procfile's `web`). Runs under gunicorn when it is installed (it is a
dependency; Windows lacks it), otherwise under Flask's own threaded server.

Each gunicorn worker builds the app after the fork, so no database connection is ever
shared between processes. The schema is checked once, before any worker starts.
"""

from __future__ import annotations

import os
from typing import Any

import click
from flask import Flask
from sqlalchemy.engine import make_url

from bot.commands.common import database, settings, wait_for_database
from bot.settings import Settings
from bot.web import create_app
from storage.database import normalise_url

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000


def default_port() -> int:
    """$PORT (set by Heroku-style platforms), else 8000."""
    try:
        return int(os.environ.get("PORT") or DEFAULT_PORT)
    except ValueError:
        raise click.ClickException(f"PORT must be a number, not {os.environ['PORT']!r}") from None


def default_workers(database_url: str) -> int:
    """$WEB_CONCURRENCY (the platform's advice), else 2; 1 on SQLite.

    SQLite has one writer at a time: more processes only queue on its lock, and its busy
    handler sleeps in growing steps, while threads of one process take turns at once.
    """
    configured = os.environ.get("WEB_CONCURRENCY")
    if configured:
        try:
            return max(1, int(configured))
        except ValueError:
            pass
    return 1 if make_url(normalise_url(database_url)).get_backend_name() == "sqlite" else 2


@click.command()
@click.option("--host", default=DEFAULT_HOST, show_default=True, help="Address to listen on.")
@click.option("--port", type=int, default=None, help="Port to listen on  [default: $PORT or 8000]")
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    default=None,
    help="gunicorn worker processes  [default: $WEB_CONCURRENCY, else 2; 1 on SQLite]",
)
@click.option(
    "--threads",
    type=click.IntRange(min=1),
    default=4,
    show_default=True,
    help="Threads per worker process (gunicorn gthread workers when more than 1).",
)
@click.option(
    "--access-log",
    "access_log",
    default=None,
    metavar="FILE",
    help="Write gunicorn's access log (one line per request) to FILE, or '-' for the "
    "terminal. Request URLs never hold phone numbers or names (searches are POSTed).",
)
@wait_for_database
def serve(
    host: str,
    port: int | None,
    workers: int | None,
    threads: int,
    access_log: str | None,
    wait: float,
) -> None:
    """Serve the webhooks, the web app and /healthz (not the outbox worker or the clock)."""
    config = settings()
    # Migrate SQLite or check PostgreSQL, then let go: gunicorn workers open their own.
    database(config, wait=wait).kw["bind"].dispose()
    port = port if port is not None else default_port()
    workers = workers or default_workers(config.database_url)
    try:
        from gunicorn.app.base import BaseApplication
    except ImportError:  # no gunicorn on this platform: one process, many threads
        click.echo(f"gunicorn is not available; serving on http://{host}:{port} with Flask")
        create_app(config).run(host=host, port=port, threaded=True)
        return

    class Gunicorn(BaseApplication):
        """gunicorn configured from code; `load` builds the app inside each worker."""

        def __init__(self, options: dict[str, Any], config: Settings) -> None:
            self.options = options
            self.config = config
            super().__init__()

        def load_config(self) -> None:
            for key, value in self.options.items():
                self.cfg.set(key, value)

        # Flask types the WSGI environ as a dict, types-gunicorn as any MutableMapping.
        def load(self) -> Flask:  # type: ignore[override]
            return create_app(self.config)

    options = gunicorn_options(host, port, workers, threads)
    if access_log:
        options["accesslog"] = access_log
    Gunicorn(options, config).run()


def gunicorn_options(host: str, port: int, workers: int, threads: int) -> dict[str, Any]:
    """gunicorn settings: sync workers for one thread, gthread for more."""
    return {
        "bind": f"{host}:{port}",
        "workers": workers,
        "threads": threads,
        "worker_class": "gthread" if threads > 1 else "sync",
        "timeout": 30,
        "graceful_timeout": 20,
        "keepalive": 5,
        "proc_name": "groundswell-web",
    }
