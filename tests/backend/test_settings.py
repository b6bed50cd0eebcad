"""Settings that would leak or weaken in production refuse to load when DEBUG is off."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROBE = "import backend.settings as s; print(s.EMAIL_BACKEND)"


def _load(**env: str) -> subprocess.CompletedProcess[str]:
    base = {"PATH": "/usr/bin:/bin", "SECRET_KEY": "settings-test-only-secret"}
    return subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("backend", ["console", "filebased"])
def test_an_email_backend_that_writes_disclosures_to_the_log_is_refused(backend):
    loaded = _load(DEBUG="0", EMAIL_BACKEND=f"django.core.mail.backends.{backend}.EmailBackend")
    assert loaded.returncode != 0
    assert "ImproperlyConfigured" in loaded.stderr
    assert "EMAIL_BACKEND" in loaded.stderr


def test_without_debug_mail_goes_by_smtp_unless_told_otherwise():
    loaded = _load(DEBUG="0")
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.strip() == "django.core.mail.backends.smtp.EmailBackend"


def test_the_embedded_default_keeps_the_console_backend():
    loaded = _load(DEBUG="1")
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.strip() == "django.core.mail.backends.console.EmailBackend"


def test_a_missing_secret_key_is_refused_too():
    loaded = _load(DEBUG="0", SECRET_KEY="")
    assert loaded.returncode != 0
    assert "SECRET_KEY" in loaded.stderr
