"""The dashboard panels that only cluster mode feeds, on real data.

`eni-exporter simulate` publishes neither NEC refusals, nor time outside the band, nor
the tke-observe shadow and pods without a slot, so
tests/integration/test_dashboard_queries.py only checks that those panels parse. Here
`eni-exporter run --provider tke-observe` watches the real API server, a node gets a
refused NEC annotation, the real Prometheus scrapes it with the rules loaded, and each
of those panels must return numbers; so must EniPoolConfigRefused's expression for a
refusal seen for the first time.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import pytest
import requests
from kubernetes import client

from support.dashboard_queries import CLUSTER_ONLY, RULES, alerting_rules, panel_queries, substitute
from support.prom import prometheus

from .control_plane import ControlPlane
from .exporters import PREFIX, exporter, scrape, within
from .objects import (
    NEC_GROUP,
    NEC_PLURAL,
    NEC_VERSION,
    create_nec,
    create_node,
    create_pod,
    unique_name,
)

pytestmark = [pytest.mark.k8s, pytest.mark.prometheus]


def query(url: str, expr: str) -> list[dict[str, Any]]:
    body = requests.get(f"{url}/api/v1/query", params={"query": expr}, timeout=10).json()
    assert body["status"] == "success", f"{expr}: {body.get('error')}"
    result: list[dict[str, Any]] = body["data"]["result"]
    return result


def test_cluster_mode_panels_and_refusal_alert_have_data(
    control_plane: ControlPlane, nec_crd: object, namespace: str, tmp_path: Path
) -> None:
    api = control_plane.api_client
    node = unique_name("node")
    create_node(api, node, eni_ip=12, cpu="8")
    create_nec(
        api,
        node,
        {
            PREFIX + "route-eni-ip-min-warm-target": "1",
            PREFIX + "route-eni-ip-max-warm-target": "2",
            # the schedule dashboard's block in force (published in tke-observe too)
            "eni-pool.io/warm-schedule": '[{"from_hour":0,"to_hour":24,"min_warm":1,"max_warm":2}]',
        },
    )
    create_pod(api, namespace, "web", node)
    with exporter(control_plane, tmp_path, "--provider", "tke-observe") as base:
        address = base.removeprefix("http://")
        with prometheus(tmp_path, scrape=address, rules=[RULES]) as url:
            bad = {
                PREFIX + "route-eni-ip-min-warm-target": "3",
                PREFIX + "route-eni-ip-max-warm-target": "x",
            }
            client.CustomObjectsApi(api).patch_cluster_custom_object(
                NEC_GROUP, NEC_VERSION, NEC_PLURAL, node, {"metadata": {"annotations": bad}}
            )
            within(
                2.0,
                lambda: (
                    scrape(base, node).get(("eni_pool_config_rejections_total", "not_integer")) == 1
                ),
                "refusal",
            )
            deadline = time.monotonic() + 30
            while not query(url, f'eni_pool_config_rejections_total{{node="{node}"}}'):
                assert time.monotonic() < deadline, "Prometheus did not scrape the refusal"
                time.sleep(0.5)
            # a valid change after that scrape: the "Warm target changes" annotation's data
            good = {PREFIX + "route-eni-ip-min-warm-target": "2",
                    PREFIX + "route-eni-ip-max-warm-target": "3"}  # fmt: skip
            client.CustomObjectsApi(api).patch_cluster_custom_object(
                NEC_GROUP, NEC_VERSION, NEC_PLURAL, node, {"metadata": {"annotations": good}}
            )

            values = {"cluster": ".*", "node": node, "mode": "route-eni",
                      "__rate_interval": "1m", "__range": "1h"}  # fmt: skip
            cluster_only = [q for q in panel_queries() if any(m in q.expr for m in CLUSTER_ONLY)]
            assert cluster_only
            for panel in cluster_only:  # rates need two scrapes: allow a few
                deadline = time.monotonic() + 30
                while True:
                    series = query(url, substitute(panel.expr, values))
                    numbers = [float(s["value"][1]) for s in series]
                    if any(math.isfinite(n) for n in numbers):
                        break
                    assert time.monotonic() < deadline, f"{panel.where}: no data"
                    time.sleep(0.5)

            refused = next(r for r in alerting_rules() if r["alert"] == "EniPoolConfigRefused")
            firing = query(url, refused["expr"])
            assert [(s["metric"]["node"], s["metric"]["reason"]) for s in firing] == [
                (node, "not_integer")
            ]
