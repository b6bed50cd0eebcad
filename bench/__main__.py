"""`python -m bench [--quick]`: run every benchmark, write bench/results.json and RESULTS.md.

Each benchmark runs in its own process with fresh Django settings and its own throwaway
database. One PostgreSQL server serves them all: BENCH_DATABASE_URL, or DATABASE_URL if it
is PostgreSQL, else a throwaway PostgreSQL 15 started here and stopped at the end; without
one, the PostgreSQL parts are skipped with a note. A missing module is a note; a
module that crashes or hangs is a note too, and makes the exit status 1 once everything
else has run. Missed targets are results, not failures: the exit status stays 0.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.common import (
    NO_POSTGRES_ENV,
    ROOT,
    Report,
    Target,
    bench_env,
    postgres_server,
    run_child,
    write_json,
)

BENCH_DIR = Path(__file__).resolve().parent
# In this order; the ones with their own command line, the others through bench.common.
MODULES = ("sweep", "dispatch", "checkin_post", "dashboard", "websocket", "herd", "revocation")
OWN_CLI = {"sweep", "checkin_post", "dashboard", "websocket", "herd"}
NOT_BENCHMARKS = {"__init__", "__main__", "common", "plots", "ws_plain"}
TIMEOUT_S = {"sweep": 3600.0, "herd": 1500.0}
DEFAULT_TIMEOUT_S = 1800.0
QUICK_TIMEOUT_S = 300.0


def all_modules() -> list[str]:
    """The known benchmarks in their order, then any other bench/<name>.py (alphabetical)."""
    found = sorted(p.stem for p in BENCH_DIR.glob("*.py") if p.stem not in NOT_BENCHMARKS)
    return [*MODULES, *(name for name in found if name not in MODULES)]


def git_commit() -> dict[str, Any]:
    def git(*args: str) -> str:
        return subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=30, check=False
        ).stdout.strip()

    return {"commit": git("rev-parse", "HEAD"), "dirty": bool(git("status", "--porcelain"))}


def machine() -> dict[str, Any]:
    return {
        "platform": platform.platform(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
    }


def load_average() -> list[float]:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


def run_all(quick: bool, only: list[str]) -> tuple[Report, dict[str, float]]:
    report = Report()
    seconds: dict[str, float] = {}
    flag = ["--quick"] if quick else []
    with postgres_server(report.notes) as pg_url, tempfile.TemporaryDirectory() as tmp:
        env = bench_env()
        # Nobody writes to the working copy's db.sqlite3 by accident.
        env["DATABASE_URL"] = f"sqlite:///{tmp}/default.sqlite3"
        if pg_url:
            env["BENCH_DATABASE_URL"] = pg_url
            env.pop(NO_POSTGRES_ENV, None)
        else:
            env[NO_POSTGRES_ENV] = "no PostgreSQL server could be reached or started"
        for name in all_modules():
            if only and name not in only:
                continue
            if not (BENCH_DIR / f"{name}.py").exists():
                report.notes.append(f"{name}: skipped, bench/{name}.py is not there yet")
                continue
            if name not in OWN_CLI and "def run(" not in (BENCH_DIR / f"{name}.py").read_text():
                report.notes.append(f"{name}: skipped, bench/{name}.py has no run(*, quick)")
                continue
            if name in OWN_CLI:
                argv = ["-m", f"bench.{name}", *flag]
            else:
                argv = ["-m", "bench.common", "--module", f"bench.{name}", *flag]
            timeout = QUICK_TIMEOUT_S if quick else TIMEOUT_S.get(name, DEFAULT_TIMEOUT_S)
            print(f"bench: {name} ...", file=sys.stderr, flush=True)
            started = time.monotonic()
            child, stderr = run_child(argv, env=env, timeout=timeout)
            seconds[name] = round(time.monotonic() - started, 1)
            if not child.results and stderr.strip():
                child.notes.append(f"{name}: stderr ends with: {stderr.strip()[-600:]}")
            child.meta.pop("seconds", None)
            report.merge(child)
            print(f"bench: {name} done in {seconds[name]} s", file=sys.stderr, flush=True)
    return report, seconds


def module_of(key: str) -> str:
    return key.split(".", 1)[0]


def ordered_keys(results: dict[str, Any]) -> list[str]:
    names = all_modules()
    rank = {name: n for n, name in enumerate(names)}
    return sorted(results, key=lambda k: (rank.get(module_of(k), len(names)), k))


def fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.3f}".rstrip("0").rstrip(".") if abs(value) < 10 else f"{value:,.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def as_results_json(report: Report, meta: dict[str, Any]) -> dict[str, Any]:
    results = report.results
    targets = {}
    for key, target in sorted(report.targets.items()):
        targets[key] = {**target.as_json(), "met": target.met(results, key)}
    return {
        "meta": meta,
        "results": {k: results[k] for k in ordered_keys(results)},
        "targets": targets,
        "baselines": dict(sorted(report.baselines.items())),
        "notes": report.notes,
    }


def as_markdown(report: Report, meta: dict[str, Any]) -> str:
    results = report.results
    lines = [
        "# Benchmark results",
        "",
        f"- date: {meta['date']}",
        f"- commit: {meta['git']['commit'][:12]}"
        + (" (with uncommitted changes)" if meta["git"]["dirty"] else ""),
        f"- machine: {meta['machine']['platform']}, {meta['machine']['cpu_count']} CPUs, "
        f"Python {meta['machine']['python']}",
        f"- load average at start / end: {meta['load_average_start']} / {meta['load_average_end']}",
        f"- mode: {'quick (small sizes)' if meta['quick'] else 'full'}"
        f"{' (only ' + ', '.join(meta['only']) + ')' if meta['only'] else ''}; "
        f"took {meta['seconds']['total']} s "
        f"({', '.join(f'{k} {v} s' for k, v in meta['seconds'].items() if k != 'total')})",
    ]
    for key, value in sorted(meta.items()):
        if key.endswith(".version") or key.endswith(".database"):
            lines.append(f"- {key}: {value}")
    lines += [
        "",
        "Times are medians over repeated runs; baselines were measured in the same run on the "
        "same machine and data. See bench/README.md for what each key means.",
        "",
        "| key | value | baseline (same run) | target | met? |",
        "| --- | ---: | --- | --- | --- |",
    ]
    for key in ordered_keys(results):
        target: Target | None = report.targets.get(key)
        baseline_key = (target.baseline if target else None) or report.baselines.get(key)
        baseline = (
            f"{baseline_key} = {fmt(results[baseline_key])}"
            if baseline_key and baseline_key in results
            else ""
        )
        met = target.met(results, key) if target else None
        lines.append(
            f"| {key} | {fmt(results[key])} | {baseline} | "
            f"{target.describe() if target else ''} | "
            f"{'' if met is None else ('yes' if met else '**no**')} |"
        )
    missing = [k for k in report.targets if k not in results]
    for key in sorted(missing):
        lines.append(f"| {key} | not measured | | {report.targets[key].describe()} | |")
    if report.notes:
        lines += ["", "## Notes", ""] + [f"- {note}" for note in report.notes]
    return "\n".join(lines) + "\n"


def figures(data: dict[str, Any], out_dir: Path) -> str:
    """Draw the run's figures beside RESULTS.md; the markdown that links them. Without
    matplotlib (not installed with the dev extra) the run still reports, without figures."""
    try:
        import matplotlib  # noqa: F401
    except ImportError as exc:  # pragma: no cover - matplotlib is a dev dependency
        return f"\nNo figures: {exc}\n"
    from bench import plots

    return plots.as_markdown(plots.draw_all(data, out_dir))


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes, same code (< 2 min)")
    parser.add_argument("--only", action="append", choices=all_modules(), default=[])
    parser.add_argument("--out-dir", type=Path, default=BENCH_DIR)
    args = parser.parse_args()
    started = time.monotonic()
    meta: dict[str, Any] = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "git": git_commit(),
        "machine": machine(),
        "quick": args.quick,
        "only": args.only,
        "load_average_start": load_average(),
    }
    report, seconds = run_all(args.quick, args.only)
    seconds["total"] = round(time.monotonic() - started, 1)
    meta.update(report.meta)
    meta["seconds"] = seconds
    meta["load_average_end"] = load_average()
    args.out_dir.mkdir(parents=True, exist_ok=True)
    data = as_results_json(report, meta)
    write_json(args.out_dir / "results.json", data)
    markdown = as_markdown(report, meta) + figures(data, args.out_dir)
    (args.out_dir / "RESULTS.md").write_text(markdown)
    print(markdown)
    if meta.get("failed"):
        # Missed targets are results; a benchmark that crashed or hung is a failure.
        print(f"bench: FAILED: {', '.join(meta['failed'])}", file=sys.stderr)
        raise SystemExit(1)


if __name__ == "__main__":
    main()
