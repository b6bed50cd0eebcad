"""Write serializers leave uniqueness to the services.

DRF turns a model's unique constraints into serializer validators, which answer 400 where
the service would have moved or merged the row (a device address registered again, a
re-sent check-in). A uniqueness validator on a write serializer is a decision taken in
the wrong place, unless it is listed here as intended.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from types import ModuleType

import pytest
from rest_framework import serializers
from rest_framework.validators import (
    UniqueForDateValidator,
    UniqueTogetherValidator,
    UniqueValidator,
)

import notifications.api
import recovery.api

# "module.Serializer" (or "module.Serializer.field") whose uniqueness validator is wanted.
INTENDED: frozenset[str] = frozenset()


def _api_modules() -> list[ModuleType]:
    found = [
        importlib.import_module(f"recovery.api.{info.name}")
        for info in pkgutil.iter_modules(recovery.api.__path__)
    ]
    return [*found, notifications.api]


def _model_serializers() -> list[type[serializers.ModelSerializer]]:
    classes: dict[str, type[serializers.ModelSerializer]] = {}
    for module in _api_modules():
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, serializers.ModelSerializer) and cls.__module__ == module.__name__:
                classes[f"{cls.__module__}.{cls.__qualname__}"] = cls
    return [classes[key] for key in sorted(classes)]


UNIQUENESS = (UniqueTogetherValidator, UniqueValidator, UniqueForDateValidator)


def test_the_survey_finds_the_write_serializers() -> None:
    names = {cls.__name__ for cls in _model_serializers()}
    assert {"CheckInSerializer", "DeviceSerializer", "ConsentSerializer"} <= names


@pytest.mark.parametrize("serializer_class", _model_serializers(), ids=lambda c: c.__qualname__)
def test_no_write_serializer_picks_up_a_uniqueness_validator(
    serializer_class: type[serializers.ModelSerializer],
) -> None:
    name = f"{serializer_class.__module__}.{serializer_class.__qualname__}"
    serializer = serializer_class()
    found = [
        name
        for validator in serializer.validators
        if isinstance(validator, UNIQUENESS) and name not in INTENDED
    ]
    for field_name, field in serializer.fields.items():
        if field.read_only:
            continue
        found += [
            f"{name}.{field_name}"
            for validator in getattr(field, "validators", [])
            if isinstance(validator, UNIQUENESS) and f"{name}.{field_name}" not in INTENDED
        ]
    assert not found, f"Uniqueness is the service's to decide: {found}"


def test_a_number_where_a_string_is_declared_is_refused() -> None:
    from rest_framework import serializers

    from backend.api import StrictSerializer

    class Named(StrictSerializer):
        name = serializers.CharField(max_length=20)

    refused = Named(data={"name": 42})
    assert not refused.is_valid()
    assert refused.errors == {"name": ["Not a valid string."]}
    assert Named(data={"name": "42"}).is_valid()
