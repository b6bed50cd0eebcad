"""The inbox's Notification in the OpenAPI schema: a union on `kind`, each kind's payload
typed, and what the services really write matches what is declared."""

from __future__ import annotations

import uuid
from typing import Any

import jsonschema
import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from notifications.kinds import kind_named, registered_kinds
from notifications.models import Notification


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    from drf_spectacular.generators import SchemaGenerator

    return SchemaGenerator().get_schema(request=None, public=True)


def test_every_kind_is_a_variant_with_a_typed_payload(schema: dict[str, Any]) -> None:
    components = schema["components"]["schemas"]
    union = components["Notification"]
    assert union["discriminator"]["propertyName"] == "kind"
    mapping = union["discriminator"]["mapping"]
    assert set(mapping) == {kind.name for kind in registered_kinds()}
    for name, ref in mapping.items():
        variant = components[ref.rsplit("/", 1)[-1]]
        assert variant["properties"]["kind"]["enum"] == [name]
        payload = components[variant["properties"]["payload"]["$ref"].rsplit("/", 1)[-1]]
        assert payload["type"] == "object"
        assert payload["properties"], f"{name}: a payload without a declared shape"


@pytest.mark.django_db
def test_what_a_crisis_check_in_sends_matches_the_declared_payloads(
    patient_client: APIClient,
) -> None:
    body = {
        "id": str(uuid.uuid4()),
        "mood": 1,
        "craving": 9,
        "used_substance": False,
        "self_harm_thoughts": True,
        "device_time": timezone.now().isoformat(),
        "device_timezone": "America/New_York",
    }
    assert patient_client.post("/api/v1/checkins/", body, format="json").status_code == 201
    sent = list(Notification.objects.all())
    assert {"crisis_resources", "flag_raised"} <= {n.kind for n in sent}
    for notification in sent:
        declared = kind_named(notification.kind).payload_schema
        assert declared is not None
        jsonschema.validate(notification.payload, dict(declared))
