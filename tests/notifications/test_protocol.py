"""The AsyncAPI document is the websocket's contract: what the server sends matches it."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client
from django.utils import timezone
from rest_framework_simplejwt.tokens import AccessToken

from backend.asgi import application
from notifications import consumers
from notifications.dispatch import dispatch_due
from notifications.protocol import DOCUMENT
from notifications.services import notify
from tests.factories import PatientUserFactory

DOC: dict[str, Any] = yaml.safe_load(DOCUMENT.read_text(encoding="utf-8"))


def _resolve(ref: str) -> Any:
    node: Any = DOC
    for part in ref.removeprefix("#/").split("/"):
        node = node[part]
    return node


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [ref for value in node.values() for ref in _refs(value)]
    if isinstance(node, list):
        return [ref for value in node for ref in _refs(value)]
    return []


def _payloads(action: str) -> dict[str, dict[str, Any]]:
    """Message type -> payload schema of every message of operations with this action."""
    schemas: dict[str, dict[str, Any]] = {}
    for operation in DOC["operations"].values():
        if operation["action"] != action:
            continue
        for ref in operation["messages"]:
            message = _resolve(ref["$ref"])
            message = _resolve(message["$ref"]) if "$ref" in message else message
            payload = message["payload"]
            schemas[payload["properties"]["type"]["const"]] = payload
    return schemas


SENT = _payloads("send")
RECEIVED = _payloads("receive")


def _check(event: dict[str, Any]) -> None:
    assert event.get("type") in SENT, f"{event.get('type')!r} is not in the AsyncAPI document"
    jsonschema.validate(event, SENT[event["type"]])


def test_the_document_is_asyncapi_3_and_every_reference_resolves():
    assert DOC["asyncapi"].startswith("3.")
    for ref in _refs(DOC):
        assert ref.startswith("#/"), ref
        _resolve(ref)  # a KeyError names the broken reference
    for schema in [*SENT.values(), *RECEIVED.values()]:
        jsonschema.Draft202012Validator.check_schema(schema)


def test_the_document_is_served_beside_the_openapi_schema():
    response = Client().get("/api/asyncapi/")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/yaml")
    assert yaml.safe_load(response.content) == DOC


def test_every_close_code_of_the_consumer_is_documented():
    codes = {value for name, value in vars(consumers).items() if name.startswith("CLOSE_")}
    assert codes
    described = set(map(int, re.findall(r"^\s*\| (\d{4}) \|", DOC["info"]["description"], re.M)))
    assert codes == described


def test_every_event_type_the_consumer_sends_is_documented():
    source = Path(consumers.__file__).read_text(encoding="utf-8")
    sent: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values, strict=True):
                is_type = isinstance(key, ast.Constant) and key.value == "type"
                if is_type and isinstance(value, ast.Constant) and isinstance(value.value, str):
                    sent.add(value.value)
    # The consumer's own dicts are the events it sends (and the channel-layer types it
    # handles, which are dotted and never reach a client).
    assert {t for t in sent if "." not in t} - {"notification"} <= set(SENT)
    assert "notification" in SENT


@pytest.mark.django_db(transaction=True)
@pytest.mark.asyncio
async def test_what_the_server_sends_matches_the_document():
    user = await database_sync_to_async(PatientUserFactory)()

    async def connect() -> WebsocketCommunicator:
        token = str(AccessToken.for_user(user))
        communicator = WebsocketCommunicator(application, "/ws/events/")
        connected, _ = await communicator.connect()
        assert connected
        auth = {"type": "auth", "token": token}
        jsonschema.validate(auth, RECEIVED["auth"])
        await communicator.send_json_to(auth)
        return communicator

    first = await connect()
    _check(await first.receive_json_from(timeout=2))  # ready

    await database_sync_to_async(notify)(
        recipients=[user.id],
        kind="session_reminder",
        key="protocol-test",
        payload={"session_id": 1},
        title="Reminder",
        body="Starts in 1 hour.",
        due_at=timezone.now(),
    )
    await database_sync_to_async(dispatch_due)()
    live = await first.receive_json_from(timeout=2)
    _check(live)

    ping = {"type": "ping"}
    jsonschema.validate(ping, RECEIVED["ping"])
    await first.send_json_to(ping)
    _check(await first.receive_json_from(timeout=2))  # pong

    await first.send_json_to({"type": "no-such-message"})
    _check(await first.receive_json_from(timeout=2))  # error
    # Closed before acknowledging: the event comes back under the same id.
    await first.disconnect()

    second = await connect()
    _check(await second.receive_json_from(timeout=2))  # ready
    replayed = await second.receive_json_from(timeout=2)
    _check(replayed)
    assert replayed["id"] == live["id"]

    ack = {"type": "ack", "ids": [live["id"]]}
    jsonschema.validate(ack, RECEIVED["ack"])
    await second.send_json_to(ack)
    resume = {"type": "resume", "after": 0}
    jsonschema.validate(resume, RECEIVED["resume"])
    await second.send_json_to(resume)
    # Acknowledged, but after 0: resume sends it again, still under the same id.
    again = await second.receive_json_from(timeout=2)
    _check(again)
    assert again["id"] == live["id"]
    await second.disconnect()
