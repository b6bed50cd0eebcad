import pytest

pytestmark = pytest.mark.django_db


def test_healthz_answers_ok(client):
    assert client.get("/healthz").json() == {"status": "ok"}


def test_readyz_reports_database_and_migrations(client):
    body = client.get("/readyz").json()
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["migrations"] == "ok"


def test_schema_is_served(client):
    response = client.get("/api/schema/")
    assert response.status_code == 200
