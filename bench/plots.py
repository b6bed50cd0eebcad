"""The figures of a bench run, as PNGs beside RESULTS.md (called by `python -m bench`).

Each figure is drawn from a run's results.json data (the dict `bench.__main__` writes):
the scalar results, and the few series the modules keep in meta for this (websocket
latency distributions, herd deliveries per second). A figure whose data the run did not
produce (a module not run, --only, no PostgreSQL) is skipped, not drawn empty.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

DATABASES = ("sqlite", "postgres")
# Sweep series: results key infix -> (legend label, colour); the database is the line style.
SWEEP_SERIES = {
    "": ("sweep", "tab:blue"),
    "one_at_a_time_": ("one at a time", "tab:orange"),
    "naive_": ("naive", "tab:green"),
}
DATABASE_STYLE = {"postgres": ("-", "o"), "sqlite": ("--", "s")}
WS_DISTRIBUTION = re.compile(r"^websocket\.(two_servers\.)?latency_distribution_ms_(\d+)$")
HERD_SERIES = {
    "herd.delivered_by_second": "herd, quota fits",
    "herd.throttled.delivered_by_second": "herd, quota throttles",
    "herd.bare_client.delivered_by_second": "bare client (same fake, no scheduler)",
}


def sweep_series(results: dict[str, Any], db: str, infix: str) -> list[tuple[int, float]]:
    pattern = re.compile(rf"^sweep\.{db}\.{infix}ms_(\d+)$")
    points = []
    for key, value in results.items():
        match = pattern.match(key)
        if match:
            points.append((int(match.group(1)), float(value)))
    return sorted(points)


def draw_sweep(data: dict[str, Any], path: Path) -> bool:
    results = data.get("results") or {}
    lines = [
        (f"{label} ({db})", points, db, colour)
        for db in DATABASES
        for infix, (label, colour) in SWEEP_SERIES.items()
        if (points := sweep_series(results, db, infix))
    ]
    if not lines:
        return False
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5))
    for label, points, db, colour in lines:
        xs, ys = zip(*points, strict=True)
        style, marker = DATABASE_STYLE[db]
        ax.plot(xs, ys, color=colour, linestyle=style, marker=marker, fillstyle="none", label=label)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("patients")
    ax.set_ylabel("ms per sweep (median)")
    ax.set_title("Missed check-in sweep against patients, with the baselines")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)
    return True


def draw_websocket(data: dict[str, Any], path: Path) -> bool:
    meta = data.get("meta") or {}
    curves = []
    for key, points in meta.items():
        match = WS_DISTRIBUTION.match(key)
        if match and points:
            servers = " (two servers)" if match.group(1) else ""
            curves.append((int(match.group(2)), servers, points))
    if not curves:
        return False
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5))
    for size, servers, points in sorted(curves):
        pcts, ms = zip(*points, strict=True)
        ax.plot(pcts, ms, marker="o", label=f"{size:,} sockets{servers}")
    ax.set_xlabel("percentile")
    ax.set_ylabel("ms from due time T to arrival at the client")
    ax.set_title("Websocket notification latency distribution at each size")
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)
    return True


def draw_herd(data: dict[str, Any], path: Path) -> bool:
    meta = data.get("meta") or {}
    series = [(label, meta[key]) for key, label in HERD_SERIES.items() if meta.get(key)]
    if not series:
        return False
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5))
    for label, counts in series:
        ax.plot(range(len(counts)), counts, marker=".", label=label)
    size = (data.get("results") or {}).get("herd.size")
    if size:
        ax.axhline(size, color="grey", linewidth=0.8, linestyle=":")
    ax.set_xlabel("seconds after the herd was due (bare client: after it started)")
    ax.set_ylabel("pushes accepted by the fake FCM by then")
    ax.set_title("Herd: pushes delivered over time, against a bare client")
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)
    return True


FIGURES: dict[str, tuple[str, Callable[[dict[str, Any], Path], bool]]] = {
    "sweep.png": ("Sweep time against patients", draw_sweep),
    "websocket_latency.png": ("Websocket latency distribution", draw_websocket),
    "herd_lateness.png": ("Herd deliveries over time", draw_herd),
}


def draw_all(data: dict[str, Any], out_dir: Path) -> dict[str, str]:
    """Draw every figure the run has data for into out_dir; {file name: title} of those
    drawn. A figure without data is skipped and a stale PNG of that name removed, so that
    RESULTS.md never links a figure from an earlier run."""
    import matplotlib

    matplotlib.use("Agg")
    drawn = {}
    for name, (title, draw) in FIGURES.items():
        path = out_dir / name
        if draw(data, path):
            drawn[name] = title
        else:
            path.unlink(missing_ok=True)
    return drawn


def as_markdown(drawn: dict[str, str]) -> str:
    if not drawn:
        return ""
    lines = ["", "## Figures", ""]
    lines += [f"![{title}]({name})" for name, title in drawn.items()]
    return "\n".join(lines) + "\n"
