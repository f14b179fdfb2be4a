"""A stateful property test of the engine against the simulated VPC (hypothesis).

Rules interleave pod starts and stops, the fate of the cloud's next calls (success,
failure, throttled, timed out but done, timed out and not done), time jumps (which
bring completions, inventory syncs and release rounds) and engine restarts. After
every step the fault audit's invariants hold, judged by the VPC's truth and the
cluster's own record of its pods; at the end, once the cloud is quiet and a sync
interval has passed without faults, nothing has leaked (docs/contracts/fault-audit.md).
"""

from __future__ import annotations

import math

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from exporter.audit import Audit
from exporter.cloud import CloudSettings
from exporter.faults import Fate, FaultRates, Faults
from exporter.simcluster import ClusterSettings, SimulatedCluster
from pool_engine.config import Defaults


class Weather(Faults):
    """Faults as the test says: every call meets ``fate`` (None: goes through)."""

    def __init__(self) -> None:
        super().__init__(0)
        self.fate: Fate | None = None

    def draw(self, rates: FaultRates, now: float) -> Fate:
        if self.fate is None or self.fate is Fate.OK:
            return Fate.OK
        match self.fate:
            case Fate.THROTTLED:
                self.counts.throttles += 1
            case Fate.FAIL:
                self.counts.errors += 1
            case Fate.TIMED_OUT_DONE | Fate.TIMED_OUT_UNDONE:
                self.counts.timeouts += 1
        return self.fate


class EngineUnderFaults(RuleBasedStateMachine):
    cluster: SimulatedCluster
    audit: Audit
    weather: Weather

    @initialize(quick=st.booleans(), seed=st.integers(0, 3), subnet=st.sampled_from([12, 4096]))
    def start(self, quick: bool, seed: int, subnet: int) -> None:
        cloud = CloudSettings(subnets=(("subnet-a", subnet), ("subnet-b", subnet // 2)), seed=seed)
        defaults = Defaults(ip_min_warm=2, ip_max_warm=3, eni_min_warm=1, eni_max_warm=2,
                            quick_release=quick)  # fmt: skip
        settings = ClusterSettings(nodes=2, seed=seed, churn=0.0, direct_every=2,
                                   defaults=defaults, cloud=cloud, sync_interval=20.0)  # fmt: skip
        self.cluster = SimulatedCluster(settings)
        self.weather = Weather()
        self.cluster.vpc.faults = self.weather
        self.audit = Audit(self.cluster, faults_until=math.inf)
        self.pods = 0

    @rule(node=st.integers(0, 1), count=st.integers(1, 6))
    def pods_start(self, node: int, count: int) -> None:
        for _ in range(count):
            self.pods += 1
            self.cluster.start_pod(node, f"t{self.pods}")

    @precondition(lambda self: bool(self.cluster.running))
    @rule(data=st.data(), count=st.integers(1, 4))
    def pods_stop(self, data: st.DataObject, count: int) -> None:
        for _ in range(min(count, len(self.cluster.running))):
            pod = data.draw(st.sampled_from(sorted(self.cluster.running)))
            self.cluster.stop_pod(pod)

    @rule(fate=st.sampled_from([None, *Fate]))
    def cloud_turns(self, fate: Fate | None) -> None:
        self.weather.fate = fate

    @rule(seconds=st.sampled_from([0.3, 1.0, 2.5, 6.0, 15.0, 45.0, 130.0]))
    def time_passes(self, seconds: float) -> None:
        self.cluster.advance(self.cluster.now + seconds)

    @rule()
    def engine_restarts(self) -> None:
        self.cluster.restart_engine()

    @invariant()
    def nothing_went_wrong(self) -> None:
        if not hasattr(self, "audit"):
            return
        violations = self.audit.violations
        assert violations.double_assigned_ips == 0
        assert violations.unbound_ip_handouts == 0
        assert violations.held_slot_releases == 0
        assert self.cluster.crashes == 0
        for pool in self.cluster.pools:  # the engine's own books agree with themselves
            for pod, (eni_id, ip) in pool.holders.items():
                assert pool.enis[eni_id].ips[ip] == pod
            assert pool.bound >= pool.holding

    def teardown(self) -> None:
        if not hasattr(self, "audit"):
            return
        self.weather.fate = None
        report = self.audit.finish(self.cluster.now)
        assert report.violations.leaked_ips == 0
        assert report.violations.leaked_enis == 0
        assert not report.violated, report.as_json()


EngineUnderFaults.TestCase.settings = settings(
    max_examples=50, stateful_step_count=40, derandomize=True, deadline=None
)
test_engine_under_faults = EngineUnderFaults.TestCase
