"""Generate the Python client a mobile team would: from the schema the server serves at
/api/schema/ (read through the WSGI application, DEBUG off), with openapi-python-client,
refusing any generator warning. `make client-check` runs this, then the walkthrough.

    python -m tests.contract.generate_client OUTPUT_DIR
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

PACKAGE = "iop_client"


def main(output: Path) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings")
    os.environ.setdefault("SECRET_KEY", "client-check-not-a-secret")
    import django

    django.setup()
    from django.test import Client

    served = Client(HTTP_HOST="localhost").get("/api/schema/", {"format": "json"}, secure=True)
    if served.status_code != 200:
        raise SystemExit(f"/api/schema/ answered {served.status_code}")
    shutil.rmtree(output, ignore_errors=True)
    output.mkdir(parents=True)
    schema = output / "schema.json"
    schema.write_bytes(served.content)
    bin_dir = Path(sys.executable).parent
    # The generator formats its output with ruff, which it looks for on PATH.
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    subprocess.run(
        [
            str(bin_dir / "openapi-python-client"),
            "generate",
            "--path",
            str(schema),
            "--output-path",
            str(output / PACKAGE),
            "--meta",
            "none",
            "--fail-on-warning",
        ],
        check=True,
        env=env,
    )


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else ".client"))
