"""The simulated cluster draws its churn a week at a time (exporter/simcluster.py); each
week's arrivals are new draws, but a node stays the node it was: its size and what it
runs (its profile) belong to the cluster, not to the week (and its pods running at a
week's end run on into the next: test_week_boundary.py). Before, every week re-drew both
from the week's seed, so at each week boundary ~60 % of the nodes changed profile and
the churn was scaled for a core count the node did not have: on a two-week trace of
`eni-exporter simulate --workload flat` node-0009 went from ~70 to ~520 pod starts a
day at day 7, which the schedule protocol (recommend on week one, score on week two)
read as a failure of every recommendation."""

from __future__ import annotations

import numpy as np

from exporter.simcluster import ClusterSettings, SimulatedCluster
from pool_engine.workload import Workload, WorkloadSpec, generate, node_profiles, node_sizes

SEED = 1


def week(chunk: int, workload: Workload = Workload.STEADY) -> WorkloadSpec:
    """The spec of the simulated cluster's week ``chunk``."""
    cluster = SimulatedCluster(ClusterSettings(nodes=40, seed=SEED, workload=workload))
    return cluster.week_spec(chunk)


def test_the_simulated_clusters_nodes_are_the_churn_models() -> None:
    """The cores that set a simulated node's limits are those its churn is drawn for,
    every week."""
    cluster = SimulatedCluster(ClusterSettings(nodes=40, seed=SEED))
    for chunk in (0, 1, 3):
        assert [c.cores for c in generate(cluster.week_spec(chunk))] == cluster.cores.tolist()


def test_a_node_keeps_its_size_and_profile_from_week_to_week() -> None:
    cluster = WorkloadSpec(nodes=40, seed=SEED)
    for chunk in (0, 1, 2):
        churn = generate(week(chunk))
        assert [c.cores for c in churn] == node_sizes(cluster).tolist()
    profiles = [p.name for p in node_profiles(cluster)]
    assert len(set(profiles)) > 1  # the cluster mixes profiles; each node keeps its own


def test_a_nodes_weekly_churn_stays_of_one_size() -> None:
    """Per node, week two's pod starts are within a factor of week one's (the draws
    differ, the node does not)."""
    for workload in (Workload.STEADY, Workload.FLAT, Workload.DAILY):
        one = np.array([c.times.size for c in generate(week(0, workload))], dtype=float)
        two = np.array([c.times.size for c in generate(week(1, workload))], dtype=float)
        ratio = two / np.maximum(one, 1.0)
        assert ((ratio > 0.5) & (ratio < 2.0)).all(), (workload, np.round(ratio, 2).tolist())


def test_specs_without_a_cluster_seed_are_unchanged() -> None:
    """A plain spec (benchmarks, gen_trace.py) draws sizes and profiles from its seed."""
    spec = WorkloadSpec(nodes=30, days=1, seed=7)
    assert [c.cores for c in generate(spec)] == node_sizes(spec).tolist()
