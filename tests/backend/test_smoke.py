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


def test_an_unknown_api_path_answers_in_the_error_format(client):
    response = client.get("/api/v1/contacts/-108/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("body", ['{"note": "a\\u0000b"}', '{"triggers": ["ok", "x\\u0000"]}'])
def test_nul_characters_are_refused_with_the_field_named(body):
    from tests.conftest import client_for
    from tests.factories import EnrollmentFactory

    patient = EnrollmentFactory().patient
    response = client_for(patient).post(
        "/api/v1/checkins/", data=body, content_type="application/json"
    )
    assert response.status_code == 400
    fields = response.json()["error"]["fields"]
    assert any(key.split(".")[0] in ("note", "triggers") for key in fields)
