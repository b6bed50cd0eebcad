"""Every benchmark in bench/ is one `make bench` runs in its known order: a cost the
README cites (revocation, the sweep...) is measured, not only described."""

from __future__ import annotations

from bench.__main__ import BENCH_DIR, MODULES, NOT_BENCHMARKS, OWN_CLI


def test_every_benchmark_module_is_listed() -> None:
    found = {path.stem for path in BENCH_DIR.glob("*.py")} - NOT_BENCHMARKS
    assert found - set(MODULES) == set()


def test_every_listed_benchmark_can_be_run() -> None:
    for name in MODULES:
        source = (BENCH_DIR / f"{name}.py").read_text()
        assert name in OWN_CLI or "def run(" in source, name
