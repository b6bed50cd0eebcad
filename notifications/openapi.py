"""The inbox's Notification as a union discriminated on `kind`: one variant per
registered kind, each with the payload shape its kind declares (notifications/kinds.py)."""

from __future__ import annotations

from typing import Any

from notifications.kinds import registered_kinds

FREE_PAYLOAD: dict[str, Any] = {
    "type": "object",
    "additionalProperties": True,
    "description": "This kind declares no payload shape.",
}


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


def notification_union(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    schemas = result.get("components", {}).get("schemas", {})
    base = schemas.get("Notification")
    if base is None:
        return result
    variants: list[dict[str, str]] = []
    mapping: dict[str, str] = {}
    for kind in registered_kinds():
        stem = _camel(kind.name)
        payload_name = f"{stem}Payload"
        schemas[payload_name] = dict(kind.payload_schema or FREE_PAYLOAD)
        properties = dict(base["properties"])
        properties["kind"] = {"type": "string", "enum": [kind.name]}
        properties["payload"] = {"$ref": f"#/components/schemas/{payload_name}"}
        variant_name = f"{stem}Notification"
        schemas[variant_name] = {
            **base,
            "properties": properties,
            "required": sorted({*base.get("required", []), "kind", "payload"}),
            "description": f"A notification of kind `{kind.name}` ({kind.label}).",
        }
        ref = f"#/components/schemas/{variant_name}"
        variants.append({"$ref": ref})
        mapping[kind.name] = ref
    schemas["Notification"] = {
        "oneOf": variants,
        "discriminator": {"propertyName": "kind", "mapping": mapping},
        "description": "A notification; `kind` says which, and the shape of its `payload`.",
    }
    return result
