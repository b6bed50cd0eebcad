"""Less work per push in the SDK's async client, with the same requests and retries.

firebase-admin's `send_each_async` is the part of the SDK this backend uses, through the
async client each messaging service keeps (`_MessagingService._async_client`). Profiled
against a bare httpx client (bench/dispatch.py), two of its parts cost CPU per request
for nothing: the auth flow builds a requests.Session per request, and the retry policy is
deep-copied per request. Both are swapped here, once per App, for equivalents.
"""

from __future__ import annotations

from typing import Any

import google.auth.credentials
import google.auth.transport.requests
import httpx
from firebase_admin import _http_client, _retry


class CredentialAuth(httpx.Auth):
    """The SDK's GoogleAuthCredentialFlow without its cost per request: that one builds a
    google-auth Request, and with it a requests.Session, for every message it sends (about
    5% of a dispatch's CPU), though only a token refresh ever uses it. This one shares a
    single Request; the headers and the refresh on 401 are the same."""

    requires_response_body = False
    MAX_REFRESHES = 2

    def __init__(self, credential: google.auth.credentials.Credentials) -> None:
        self._credential = credential
        self._auth_request = google.auth.transport.requests.Request()

    def auth_flow(self, request: httpx.Request) -> Any:
        for refreshes in range(self.MAX_REFRESHES + 1):
            self._credential.before_request(
                self._auth_request, request.method, str(request.url), request.headers
            )
            response = yield request
            if response.status_code != 401 or refreshes == self.MAX_REFRESHES:
                return
            self._credential.refresh(self._auth_request)


class PlainCopyRetry(_retry.HttpxRetry):
    """The SDK's retry policy (500/503, exponential backoff), copied for each request by
    its constructor instead of `copy.deepcopy` (about 4% of a dispatch's CPU)."""

    @classmethod
    def of(cls, retry: _retry.HttpxRetry) -> PlainCopyRetry:
        plain = cls.__new__(cls)
        plain.__dict__.update(retry.__dict__)
        return plain.copy()

    def copy(self) -> PlainCopyRetry:
        return PlainCopyRetry(
            max_retries=self.retries_left,
            status_forcelist=list(self.status_forcelist or []),
            backoff_factor=self.backoff_factor,
            backoff_max=self.backoff_max,
            backoff_jitter=self.backoff_jitter,
            history=list(self.history),
            respect_retry_after_header=self.respect_retry_after_header,
        )


def trim_per_request_work(service: Any) -> None:
    """Swap the SDK's per-request auth flow on the async client for CredentialAuth, and
    its retry policy for one that copies itself cheaply. Same requests, same retries."""
    client: httpx.AsyncClient = service._async_client.async_client
    flow = client.auth
    if isinstance(flow, _http_client.GoogleAuthCredentialFlow):
        client.auth = CredentialAuth(flow._credential)
    for transport in client._mounts.values():
        if isinstance(transport, _retry.HttpxRetryTransport):
            transport._retry = PlainCopyRetry.of(transport._retry)
