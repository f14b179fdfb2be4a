"""docs/metrics.md names every series the exporter can publish, in any mode, and no
other; each series' section names its labels and gives a query."""

from __future__ import annotations

import re
from pathlib import Path

from prometheus_client.exposition import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from exporter.families import CLUSTER_FAMILIES, FAMILIES, LABELS, suffix
from exporter.metrics import Instruments, simulation_speed

DOC = Path(__file__).resolve().parents[2] / "docs" / "metrics.md"


def sections() -> dict[str, str]:
    """Each ``### `name` `` section of the reference, by series name."""
    parts = re.split(r"^### `([a-z_:]+)`\n", DOC.read_text(encoding="utf-8"), flags=re.M)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def published() -> dict[str, set[str]]:
    """Every series name as scraped (counters with ``_total``) and its labels."""
    series: dict[str, set[str]] = {}
    for family in FAMILIES:
        extra = {family.split[0]} if family.split else set()
        series[family.name + suffix(family.kind)] = {*LABELS, *extra}
    for tally in CLUSTER_FAMILIES:
        series[tally.name + suffix(tally.kind)] = {tally.label}
    instruments = Instruments("test")
    # every labelled instrument once, so that its labels show in the exposition
    instruments.slot_wait.labels("route-eni").observe(0.0)
    instruments.api_latency.labels("bind").observe(1.0)
    instruments.api_errors.labels("bind", "InternalError").inc()
    instruments.engine_errors.labels("watch")
    simulation_speed(instruments, 60.0)  # `simulate` at a numeric --speed only
    for family in text_string_to_metric_families(_exposition(instruments)):
        name = family.name + ("_total" if family.type == "counter" else "")
        series[name] = {k for s in family.samples for k in s.labels} - {"le"}
    return series


def _exposition(instruments: Instruments) -> str:
    text: bytes = generate_latest(instruments.registry)  # type: ignore[no-untyped-call]
    return text.decode()


def test_every_published_series_is_documented_and_nothing_else() -> None:
    documented, series = set(sections()), set(published())
    assert series - documented == set(), "published but not in docs/metrics.md"
    assert documented - series == set(), "in docs/metrics.md but never published"
    assert {"process_resident_memory_bytes", "python_gc_collections_total"} <= series


def test_each_section_names_the_type_the_labels_and_a_query() -> None:
    docs = sections()
    for name, labels in published().items():
        text = docs[name]
        assert re.match(r"(Gauge|Counter|Histogram)", text.strip()), name
        for label in labels:
            assert f"`{label}`" in text, (name, label)
        if not labels:
            assert "no label" in text, name
        assert "```promql\n" in text, name
        query = text.split("```promql\n", 1)[1].split("```", 1)[0]
        assert name.removesuffix("_total") in query, name


def test_the_reference_is_linked_from_the_readme_and_the_contract() -> None:
    root = DOC.parents[1]
    assert "docs/metrics.md" in (root / "README.md").read_text(encoding="utf-8")
    assert "../metrics.md" in (root / "docs/contracts/metrics.md").read_text(encoding="utf-8")
