"""The HTTP API as the apps call it, over a real socket to the uvicorn process."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import httpx


class Api:
    def __init__(self, base_url: str, token: str | None = None) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        # trust_env off: no proxy from the environment, loopback only.
        self.client = httpx.Client(
            base_url=f"{base_url}/api/v1", headers=headers, timeout=30, trust_env=False
        )
        self.base_url = base_url
        self.token = token or ""

    def call(self, method: str, path: str, expect: int, **kwargs: Any) -> Any:
        response = self.client.request(method, path, **kwargs)
        assert response.status_code == expect, (
            f"{method} {path}: {response.status_code} {response.text[:500]}"
        )
        return response.json() if response.content else None

    def as_user(self, token: str) -> Api:
        return Api(self.base_url, token)

    # --- the calls the tests make -------------------------------------------------------

    def staff_login(self, username: str, password: str) -> str:
        body = self.call(
            "POST", "/auth/token/", 200, json={"username": username, "password": password}
        )
        return str(body["access"])

    def enroll(self, first_name: str) -> tuple[int, str]:
        body = self.call(
            "POST", "/patients/", 201, json={"first_name": first_name, "timezone": "UTC"}
        )
        return int(body["patient"]["id"]), str(body["enrollment_code"])

    def redeem(self, code: str) -> str:
        body = self.call("POST", "/auth/enrollment-code/", 201, json={"code": code})
        return str(body["access"])

    def device(self, address: str) -> int:
        body = self.call("POST", "/devices/", 200, json={"address": address, "platform": "android"})
        return int(body["id"])

    def session(self, *, starts_at: datetime, ends_at: datetime, patients: list[int]) -> int:
        body = self.call(
            "POST",
            "/sessions/",
            201,
            json={
                "kind": "group_therapy",
                "title": "Evening process group",
                "starts_at": starts_at.isoformat(),
                "ends_at": ends_at.isoformat(),
                "patients": patients,
            },
        )
        return int(body["id"])

    def checkin_schedule(self, enrollment_id: int, **schedule: Any) -> dict[str, Any]:
        body: dict[str, Any] = self.call(
            "PUT", f"/patients/{enrollment_id}/checkin-schedule/", 200, json=schedule
        )
        return body
