"""The e2e server's mail: each message as a file in E2E_MAIL_DIR, where a test reads the
link an invitee would follow. Only for the e2e run's throwaway data (the settings refuse
the file backend itself when DEBUG is off, for real deployments)."""

from __future__ import annotations

import os
from typing import Any

from django.core.mail.backends.filebased import EmailBackend as FileBackend


class EmailBackend(FileBackend):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["file_path"] = os.environ["E2E_MAIL_DIR"]
        super().__init__(*args, **kwargs)
