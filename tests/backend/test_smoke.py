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


def test_the_admin_stylesheet_is_served(client, settings):
    settings.WHITENOISE_USE_FINDERS = True
    settings.WHITENOISE_AUTOREFRESH = True
    from whitenoise.middleware import WhiteNoiseMiddleware  # noqa: F401 - installed

    response = client.get("/static/admin/css/base.css")
    assert response.status_code == 200
