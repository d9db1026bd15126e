"""The metrics table in docs/operations.md lists exactly what controller/metrics.py registers.

Names as Prometheus shows them (counters with ``_total``), each with its label names; and every
``sealops_…`` metric that any doc names (alerts, prose) is one the controller exports.
"""

from __future__ import annotations

import re
from pathlib import Path

from prometheus_client.metrics import MetricWrapperBase

from controller.metrics import Metrics

ROOT = Path(__file__).parents[2]
OPERATIONS = ROOT / "docs" / "operations.md"
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), ROOT / "deploy" / "README.md"]
METRIC = re.compile(r"`(sealops_[a-z_]+)(?:\{([a-z_,]*)\})?`")
MENTION = re.compile(r"\bsealops_[a-z_]*[a-z]\b")


def registered() -> dict[str, frozenset[str]]:
    """Every metric the controller exports: shown name -> label names."""
    metrics = Metrics()
    metrics.export_vault_requests(lambda: {"read": 1})
    wrappers = [w for w in vars(metrics).values() if isinstance(w, MetricWrapperBase)]
    labels = {w._name: frozenset(w._labelnames) for w in wrappers}
    out: dict[str, frozenset[str]] = {}
    for family in metrics.registry.collect():
        shown = f"{family.name}_total" if family.type == "counter" else family.name
        sampled = frozenset(k for s in family.samples for k in s.labels if k != "le")
        out[shown] = labels.get(family.name, sampled)
    return out


def documented(text: str) -> dict[str, frozenset[str]]:
    """The rows of the table under "## Metrics and alerts": metric name -> label names."""
    section = text.split("## Metrics and alerts", 1)[1].split("\n## ", 1)[0]
    out: dict[str, frozenset[str]] = {}
    for line in section.splitlines():
        if not line.startswith("| `sealops_"):
            continue
        first_cell = line.split("|")[1]
        for name, labels in METRIC.findall(first_cell):
            assert name not in out, f"{name} is listed twice"
            out[name] = frozenset(labels.split(",")) if labels else frozenset()
    return out


def test_the_table_lists_exactly_the_registered_metrics_and_labels() -> None:
    table, actual = documented(OPERATIONS.read_text()), registered()
    assert sorted(set(actual) - set(table)) == [], "registered but not in docs/operations.md"
    assert sorted(set(table) - set(actual)) == [], "in docs/operations.md but not registered"
    wrong = {name: (table[name], actual[name]) for name in actual if table[name] != actual[name]}
    assert wrong == {}, "labels differ (documented, registered)"


def test_the_table_is_not_empty_and_names_the_ones_that_were_missing() -> None:
    table = documented(OPERATIONS.read_text())
    assert len(table) == len(registered()) > 10
    assert {"sealops_keys_removed_total", "sealops_vault_requests_total"} <= set(table)


def test_every_metric_a_doc_names_is_exported() -> None:
    exported = set(registered())
    for path in DOCS:
        named = set(MENTION.findall(path.read_text()))
        assert named <= exported, f"{path.relative_to(ROOT)}: {sorted(named - exported)}"
