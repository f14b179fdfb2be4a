"""eni_pool_target_changes_total: a NEC update that changes a pool's warm targets
counts once, by who made it; first sights, refusals and unrelated edits count nothing;
both sources are on /metrics from a pool's first sight."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from exporter.kube import Change
from exporter.metrics import Renderer
from exporter.target_changes import TUNER_RECORDS, Source, source_of
from kube_adapter.watcher import Resource
from support.cluster_engine import ROUTE, Engine, nec, node, pair
from tuner.changes import PREVIOUS_KEY


def record(at: str) -> dict[str, str]:
    """What eni-tuner apply writes beside the targets (tuner/apply.py)."""
    return {TUNER_RECORDS[0]: json.dumps({"min_warm": 2, "max_warm": 4, "changed_at": at})}


def changes(engine: Engine, name: str = "n1") -> dict[str, float]:
    return dict(engine.engine.target_changes.items(name, ROUTE))


def test_the_record_keys_are_the_tuners() -> None:
    assert set(TUNER_RECORDS) == set(PREVIOUS_KEY.values())


def test_changes_are_counted_by_source() -> None:
    engine = Engine()
    engine.feed(nec("n1", pair("2", "4")), node("n1"))  # the first sync: not a change
    assert changes(engine) == {"other": 0, "tuner": 0}
    engine.feed(nec("n1", {**pair("3", "6"), **record("t1")}))  # eni-tuner apply
    assert changes(engine) == {"other": 0, "tuner": 1}
    engine.feed(nec("n1", {**pair("1", "6"), **record("t1")}))  # by hand, record kept
    assert changes(engine) == {"other": 1, "tuner": 1}
    engine.feed(nec("n1", {**pair("1", "6"), **record("t1"), "team": "x"}))  # no target moved
    engine.feed(nec("n1", {**pair("9", "x"), **record("t2")}))  # refused: targets stay
    assert changes(engine) == {"other": 1, "tuner": 1}
    assert engine.targets("n1").min_warm == 1


def test_a_nec_arriving_after_its_node_counts_when_it_moves_the_targets() -> None:
    engine = Engine()
    engine.feed(node("n1"))
    engine.feed(nec("n1", {**pair("0", "1"), **record("t1")}))
    assert changes(engine) == {"other": 0, "tuner": 1}


def test_both_sources_are_published_from_a_pools_first_sight() -> None:
    engine = Engine()
    engine.feed(node("n1"))
    text = Renderer(engine.instruments).render(engine.engine.snapshot(engine.now)).decode()
    lines = [line for line in text.splitlines() if "eni_pool_target_changes" in line]
    assert lines[2:] == [
        'eni_pool_target_changes_total{node="n1",mode="route-eni",source="other"} 0.0',
        'eni_pool_target_changes_total{node="n1",mode="route-eni",source="tuner"} 0.0',
    ]
    engine.feed(nec("n1", pair("0", "1")))
    text = Renderer(engine.instruments).render(engine.engine.snapshot(engine.now)).decode()
    assert 'eni_pool_target_changes_total{node="n1",mode="route-eni",source="other"} 1.0' in text


def test_a_deleted_node_is_forgotten() -> None:
    engine = Engine()
    engine.feed(node("n1"), nec("n1", pair("0", "1")))
    engine.feed(nec("n1", pair("1", "1")))
    assert changes(engine)["other"] == 1
    engine.feed(Change(Resource.NODE, True, "n1", None))
    assert ("n1", ROUTE) not in engine.engine.registry.pools
    assert changes(engine) == {"other": 0, "tuner": 0}


@given(
    before=st.dictionaries(st.sampled_from([*TUNER_RECORDS, "a"]), st.sampled_from(["x", "y"])),
    after=st.dictionaries(st.sampled_from([*TUNER_RECORDS, "a"]), st.sampled_from(["x", "y"])),
)
def test_the_tuner_is_the_source_exactly_when_its_record_was_rewritten(
    before: dict[str, str], after: dict[str, str]
) -> None:
    rewritten = any(k in after and after[k] != before.get(k) for k in TUNER_RECORDS)
    assert (source_of(before, after) is Source.TUNER) == rewritten
