"""Encryption at rest for free text and contact details (HIPAA 164.312(a)(2)(iv)).

Values are Fernet tokens (AES-128-CBC with HMAC-SHA256) under keys from the environment:
FIELD_ENCRYPTION_KEYS is a comma-separated list; the first key encrypts, every key
decrypts. To rotate, put a new key first, deploy, run `manage.py rotate_field_keys`,
then drop the old key.
"""

from __future__ import annotations

import base64
from functools import cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.db import models

# Every Fernet token starts so (version byte and timestamp). Not a secret.
TOKEN_PREFIX = "gAAAAA"  # noqa: S105


def _derived_key() -> bytes:
    """Without configured keys (the embedded default), a key derived from SECRET_KEY.
    `check --deploy` warns about it: production sets FIELD_ENCRYPTION_KEYS."""
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=b"iop-field-encryption", info=b"v1")
    return base64.urlsafe_b64encode(hkdf.derive(settings.SECRET_KEY.encode()))


@cache
def _fernet(keys: tuple[str, ...]) -> MultiFernet:
    material = [k.encode() for k in keys] or [_derived_key()]
    return MultiFernet([Fernet(k) for k in material])


def fernet() -> MultiFernet:
    return _fernet(tuple(settings.FIELD_ENCRYPTION_KEYS))


def encrypt(value: str) -> str:
    return fernet().encrypt(value.encode()).decode()


def decrypt(value: str) -> str:
    if not value.startswith(TOKEN_PREFIX):
        return value  # written before encryption was turned on; rotation re-encrypts it
    try:
        return fernet().decrypt(value.encode()).decode()
    except InvalidToken:
        raise ValueError("An encrypted value could not be read with the configured keys.") from None


def rotate(value: str) -> str:
    if not value:
        return value
    if not value.startswith(TOKEN_PREFIX):
        return encrypt(value)
    return fernet().rotate(value.encode()).decode()


class EncryptedTextField(models.TextField):
    """Text stored encrypted. It cannot be searched or filtered by content."""

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> str | None:
        if value is None or value == "":
            return value
        return decrypt(value)

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return encrypt(str(value))
