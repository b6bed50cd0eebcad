"""`make bench` draws the run's figures as PNGs beside RESULTS.md and links them; a figure
whose data the run did not produce is not drawn (nor left over from an earlier run)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bench.common import cumulative_per_second, distribution
from bench.plots import as_markdown, draw_all

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def full_run() -> dict[str, Any]:
    latencies = [float(n) for n in range(1, 201)]
    return {
        "results": {
            "sweep.sqlite.ms_1000": 12.0,
            "sweep.sqlite.ms_10000": 15.0,
            "sweep.sqlite.naive_ms_1000": 300.0,
            "sweep.sqlite.naive_ms_10000": 3000.0,
            "sweep.postgres.ms_1000": 10.0,
            "sweep.postgres.ms_10000": 11.0,
            "sweep.postgres.one_at_a_time_ms_10000": 900.0,
            "sweep.scaling_ratio": 1.1,
            "herd.size": 50,
        },
        "meta": {
            "websocket.latency_distribution_ms_100": distribution(latencies),
            "websocket.latency_distribution_ms_200": distribution([x * 2 for x in latencies]),
            "websocket.two_servers.latency_distribution_ms_200": distribution(latencies),
            "herd.delivered_by_second": [0, 20, 45, 50],
            "herd.throttled.delivered_by_second": [0, 10, 10, 30, 50],
            "herd.bare_client.delivered_by_second": [0, 30, 50],
        },
    }


def test_every_figure_with_data_is_a_png_linked_from_the_markdown(tmp_path: Path) -> None:
    drawn = draw_all(full_run(), tmp_path)

    assert set(drawn) == {"sweep.png", "websocket_latency.png", "herd_lateness.png"}
    for name in drawn:
        assert (tmp_path / name).read_bytes().startswith(PNG_SIGNATURE)
        assert f"]({name})" in as_markdown(drawn)


def test_a_figure_without_data_is_skipped_and_a_stale_one_removed(tmp_path: Path) -> None:
    (tmp_path / "herd_lateness.png").write_bytes(b"an earlier run's figure")
    only_sweep = {"results": {"sweep.sqlite.ms_100": 3.0, "sweep.sqlite.ms_200": 3.5}}

    drawn = draw_all(only_sweep, tmp_path)

    assert list(drawn) == ["sweep.png"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sweep.png"]
    assert "herd" not in as_markdown(drawn)


def test_a_run_without_figures_adds_nothing_to_the_markdown(tmp_path: Path) -> None:
    assert draw_all({"results": {}, "meta": {}}, tmp_path) == {}
    assert as_markdown({}) == ""


def test_deliveries_are_counted_by_the_end_of_each_second() -> None:
    start = 100.0
    # At T itself, within the first second, exactly at 2 s, and 3.5 s after T.
    assert cumulative_per_second([100.0, 100.4, 102.0, 103.5], start) == [1, 2, 3, 3, 4]
    assert cumulative_per_second([], start) == []


def test_a_distribution_is_ten_rising_points_ending_at_the_maximum() -> None:
    points = distribution([float(n) for n in range(1000)])

    assert len(points) == 10
    assert [ms for _, ms in points] == sorted(ms for _, ms in points)
    assert points[-1] == [100.0, 999.0]
    assert points[3] == [50.0, 499.0]
