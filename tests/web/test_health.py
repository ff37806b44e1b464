"""GET /healthz: the process is up and reaches its database."""

from __future__ import annotations

from flask.testing import FlaskClient


def test_health_reports_the_database(client: FlaskClient) -> None:
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}


def test_unknown_paths_are_a_short_404(client: FlaskClient) -> None:
    response = client.get("/no/such/page")

    assert response.status_code == 404
    assert response.mimetype == "text/plain"
