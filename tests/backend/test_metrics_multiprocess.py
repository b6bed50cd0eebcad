"""Worker and scheduler processes count into the shared directory (prometheus-client's
multiprocess mode), and a scrape adds every process up."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from prometheus_client import CollectorRegistry
from prometheus_client.multiprocess import MultiProcessCollector

REPO = Path(__file__).resolve().parents[2]
COUNT_ONE_FLAG = "from backend import metrics; metrics.count_flags_raised(['self_harm'])"


def _process_counting_one_flag(directory: Path) -> None:
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(directory)}
    subprocess.run([sys.executable, "-c", COUNT_ONE_FLAG], env=env, cwd=REPO, check=True)


def test_counts_of_separate_processes_add_up(tmp_path):
    for _ in range(3):
        _process_counting_one_flag(tmp_path)
    # One file per process, named by host and pid: containers sharing the directory (each
    # with its own pid 1) do not overwrite each other.
    files = sorted(path.name for path in tmp_path.glob("counter_*"))
    assert len(files) == 3
    assert all(name.startswith(f"counter_{os.uname().nodename}-") for name in files)
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=str(tmp_path))
    assert registry.get_sample_value("iop_flags_raised_total", {"kind": "self_harm"}) == 3
