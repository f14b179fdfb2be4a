"""kube_adapter.events: one Event body for both programs."""

from __future__ import annotations

from datetime import UTC, datetime

from kube_adapter.events import EventType, NecEvent, event_body


def test_an_event_points_at_its_nec_and_says_who_and_why() -> None:
    now = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    event = NecEvent("node-1", "uid-1", "WarmTargetRefused", "x is not an integer",
                     EventType.WARNING, "eni-exporter")  # fmt: skip
    body = event_body(event, now)
    assert body["metadata"] == {"generateName": "node-1.", "namespace": "default"}
    assert body["involvedObject"] == {
        "apiVersion": "networking.tke.cloud.tencent.com/v1",
        "kind": "NodeENIConfig",
        "name": "node-1",
        "uid": "uid-1",
    }
    assert (body["reason"], body["message"], body["type"]) == (
        "WarmTargetRefused", "x is not an integer", "Warning"
    )  # fmt: skip
    assert body["source"] == {"component": "eni-exporter"}
    assert body["firstTimestamp"] == body["lastTimestamp"] == "2026-01-02T03:04:05+00:00"
    assert body["count"] == 1


def test_the_body_is_a_valid_core_v1_event() -> None:
    from kubernetes import client

    body = event_body(NecEvent("n", "u", "WarmTargetsTuned", "m", EventType.NORMAL, "eni-tuner"),
                      datetime.now(UTC))  # fmt: skip
    event = client.CoreV1Event.model_validate(body)
    assert event.involved_object.kind == "NodeENIConfig" and event.type == "Normal"
