"""How a pool settles against the cloud's inventory (pool_engine.inventory.compare)."""

from __future__ import annotations

from pool_engine.eni import Eni
from pool_engine.inventory import EniRecord, EniState, Settlement, compare

ATTACHING, DETACHING = EniState.ATTACHING, EniState.DETACHING


def eni(eni_id: str, ips: dict[str, str | None] | None = None, **fields: object) -> Eni:
    return Eni(eni_id, "s", dict(ips or {}), **fields)  # type: ignore[arg-type]


def test_an_unknown_attached_eni_is_adopted_with_its_settled_ips() -> None:
    got = compare([], [EniRecord("e1", "s", ("10.0.0.1",), ("10.0.0.2",))])
    assert got.adopted == (EniRecord("e1", "s", ("10.0.0.1",), ("10.0.0.2",)),)
    assert got.foreign == {"e1": {"10.0.0.2"}} and got.in_progress and got.changes


def test_an_unknown_eni_being_attached_or_detached_waits() -> None:
    got = compare([], [EniRecord("e1", "s", (), ("10.0.0.1",), ATTACHING),
                       EniRecord("e2", "s", (), (), DETACHING)])  # fmt: skip
    assert got.adopted == () and got.in_progress and not got.changes


def test_a_known_eni_agrees_with_the_cloud_ip_by_ip() -> None:
    mine = eni("e1", {"idle": None, "gone-idle": None, "held": "p", "gone-held": "q",
                      "changing": None}, releasing={"doubt-bound", "doubt-gone", "doubt-busy"})  # fmt: skip
    cloud = EniRecord("e1", "s", ("idle", "held", "new", "doubt-bound"),
                      ("changing", "doubt-busy", "foreign"))  # fmt: skip
    got = compare([mine], [cloud])
    assert got.found == (("e1", "new"),)
    assert got.dropped == (("e1", "gone-idle"),)
    assert got.lost == (("e1", "gone-held"),)
    assert got.doubted == (("e1", "changing"),)
    assert got.restored == (("e1", "doubt-bound"),)
    assert got.gone == (("e1", "doubt-gone"),)
    assert got.foreign == {"e1": {"foreign"}} and got.in_progress


def test_a_doubted_release_whose_ip_came_back_on_the_same_eni_happened() -> None:
    # The cloud hands released IPs out again: bound anew, the old release is done.
    mine = eni("e1", {"10.0.0.1": "p"}, releasing={"10.0.0.1"})
    got = compare([mine], [EniRecord("e1", "s", ("10.0.0.1",))])
    assert got.gone == (("e1", "10.0.0.1"),) and got.restored == ()


def test_what_the_engine_has_in_flight_is_left_alone() -> None:
    attaching = eni("pending-eni-1", attached=False, pending=3)
    detaching = eni("e2", attached=False, detaching=True)
    releasing = eni("e3", releasing={"10.0.0.3"})
    binding = eni("e4", {"10.0.0.4": None}, pending=2)
    cloud = [EniRecord("e3", "s"), EniRecord("e4", "s", ("10.0.0.4",), ("a", "b", "c"))]
    got = compare([attaching, detaching, releasing, binding], cloud, {"e2"}, {("e3", "10.0.0.3")})
    # e4's changing IPs may be its two binds in flight, or someone else's while those
    # binds fail: none is credited to them (tests/unit/test_restarts.py, test j)
    assert got == Settlement(foreign={"e3": frozenset(), "e4": {"a", "b", "c"}}, in_progress=True)


def test_enis_the_cloud_no_longer_has_vanish_and_doubted_detaches_settle() -> None:
    gone = eni("e1", {"idle": None, "held": "p"})
    doubted_gone = eni("e2", attached=False, detaching=True)
    doubted_kept = eni("e3", attached=False, detaching=True)
    still_going = eni("e4", attached=False, detaching=True)
    got = compare([gone, doubted_gone, doubted_kept, still_going],
                  [EniRecord("e3", "s"), EniRecord("e4", "s", state=DETACHING)])  # fmt: skip
    assert got.vanished == ("e1", "e2", "e4")
    assert got.reattached == ("e3",)
    assert got.dropped == (("e1", "idle"),) and got.lost == (("e1", "held"),)
    assert got.in_progress


def test_enis_that_count_against_the_limit_without_being_the_pools() -> None:
    """The cloud's attaching ENIs the pool does not know (a predecessor's, before a
    restart) and its own ENI still detaching there count against the node's limit, even
    while an attach of the pool's is in flight: the cloud lists it under a real id the
    pool does not know yet, and it may fail while the attaching ENI is a predecessor's
    (session 12: 4 ENIs on a node of 3; session 5 had credited it to the attach)."""
    cloud = [EniRecord("e1", "s", ("10.0.0.1",)), EniRecord("e9", "s", (), ("x",), ATTACHING)]
    assert compare([eni("e1", {"10.0.0.1": None})], cloud).unseen_enis == 1
    ours = eni("pending-eni-1", attached=False, pending=3)
    assert compare([eni("e1", {"10.0.0.1": None}), ours], cloud).unseen_enis == 1
    leaving = eni("e2", detaching=True, attached=False)
    got = compare([eni("e1", {"10.0.0.1": None}), leaving],
                  [*cloud[:1], EniRecord("e2", "s", state=DETACHING)])  # fmt: skip
    assert got.vanished == ("e2",) and got.unseen_enis == 1
