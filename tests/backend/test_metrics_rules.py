"""The example alert rules name only metrics the backend exposes."""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from prometheus_client.samples import Sample

from backend.metrics_http import scrape_registry

RULES = Path(__file__).resolve().parents[2] / "deploy" / "prometheus" / "alerts.yml"
SUFFIXES = {"counter": ("_total", "_created"), "histogram": ("_bucket", "_count", "_sum")}


def _exposed_names() -> set[str]:
    """Every series name /metrics can show, including those with no sample yet."""
    names: set[str] = set()
    for collector in list(scrape_registry()._collector_to_names):
        describe = getattr(collector, "describe", None)
        families = list(describe()) if describe else []
        families += list(collector.collect()) if not families else []
        for family in families:
            names.add(family.name)
            names.update(family.name + suffix for suffix in SUFFIXES.get(family.type, ()))
            names.update(sample.name for sample in family.samples if isinstance(sample, Sample))
    return names


def _expressions() -> list[str]:
    document = yaml.safe_load(RULES.read_text())
    return [rule["expr"] for group in document["groups"] for rule in group["rules"]]


def test_the_rule_file_has_the_alerts_operators_need():
    alerts = {
        rule["alert"]
        for group in yaml.safe_load(RULES.read_text())["groups"]
        for rule in group["rules"]
    }
    assert {
        "OutboxLagging",
        "SchedulerNotTicking",
        "SweepFailing",
        "CrisisFlagUnacknowledged",
    } <= alerts


def test_every_metric_a_rule_names_exists():
    exposed = _exposed_names()
    named = {name for expr in _expressions() for name in re.findall(r"\biop_\w+", expr)}
    assert named, "the rules name no metric"
    assert named <= exposed, sorted(named - exposed)
