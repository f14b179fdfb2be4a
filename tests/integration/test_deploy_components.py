"""deploy/components beyond the overlays: the PrometheusRule and the dashboards'
ConfigMaps carry exactly what dashboards/ holds (generated, so they never drift), the
NetworkPolicy lets only Prometheus reach the exporter's port, and the switch that ends
tke-observe's dry run removes that flag and nothing else. Every combination builds
with the pinned kustomize and validates (kubernetes-validate, strict)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from support.dashboard_queries import DASHBOARDS, RULES
from support.manifests import DEPLOY, OVERLAYS, find, render, with_components

KUBERNETES = "1.37.0"
COMPONENTS = ("prometheus-rule", "grafana-dashboards", "network-policy")
Objects = list[dict[str, Any]]


@pytest.fixture(scope="module")
def everything(tmp_path_factory: pytest.TempPathFactory) -> Objects:
    return render(with_components(tmp_path_factory.mktemp("k"), "tke-observe", *COMPONENTS))


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_overlay_builds_with_every_component(tmp_path: Path, overlay: str) -> None:
    objects = render(with_components(tmp_path, overlay, *COMPONENTS))
    kinds = {o["kind"] for o in objects}
    assert {"PrometheusRule", "NetworkPolicy", "ConfigMap"} <= kinds
    for obj in objects:
        if not obj["apiVersion"].startswith("monitoring.coreos.com/"):
            kubernetes_validate.validate(obj, KUBERNETES, strict=True)


def test_the_prometheus_rule_is_the_rules_file(everything: Objects) -> None:
    rule = find(everything, "PrometheusRule", "eni-pool")
    assert rule["apiVersion"] == "monitoring.coreos.com/v1"
    assert rule["metadata"]["namespace"] == "eni-pool"
    assert rule["spec"] is not None  # the old documented one-liner made spec: null
    assert rule["spec"]["groups"] == yaml.safe_load(RULES.read_text())["groups"]


def test_the_documented_prometheus_rule_command_has_a_spec() -> None:
    """docs/operations.md pipes `python -m dashboards.prometheus_rule` to kubectl."""
    docs = (DEPLOY.parent / "docs" / "operations.md").read_text()
    assert "python -m dashboards.prometheus_rule | kubectl apply -f -" in docs
    run = subprocess.run(
        [sys.executable, "-m", "dashboards.prometheus_rule"],
        capture_output=True, text=True, check=True, cwd=DEPLOY.parent,
    )  # fmt: skip
    rule = yaml.safe_load(run.stdout)
    assert rule["kind"] == "PrometheusRule" and rule["spec"]["groups"]


def test_another_runbook_base_changes_only_the_runbook_urls() -> None:
    base = "https://wiki.example/eni-pool/operations"
    run = subprocess.run(
        [sys.executable, "-m", "dashboards.prometheus_rule", "--kind", "rules",
         "--runbook-base", base],
        capture_output=True, text=True, check=True, cwd=DEPLOY.parent,
    )  # fmt: skip
    mine = yaml.safe_load(run.stdout)["groups"]
    theirs = yaml.safe_load(RULES.read_text())["groups"]
    for group, original in zip(mine, theirs, strict=True):
        for rule, before in zip(group["rules"], original["rules"], strict=True):
            if "alert" in rule:
                url = rule["annotations"].pop("runbook_url")
                assert url == base + "#" + before["annotations"].pop("runbook_url").split("#")[1]
            assert rule == before
    bad = subprocess.run(
        [sys.executable, "-m", "dashboards.prometheus_rule", "--runbook-base", "docs/x.md"],
        capture_output=True, text=True, check=False, cwd=DEPLOY.parent,
    )  # fmt: skip
    assert bad.returncode == 2 and "absolute" in bad.stderr.splitlines()[-1]


def test_one_labelled_configmap_per_dashboard(everything: Objects) -> None:
    maps = {o["metadata"]["name"]: o for o in everything if "grafana_dashboard" in
            o["metadata"].get("labels", {})}  # fmt: skip
    assert len(maps) == len(DASHBOARDS)
    files = {}
    for config in maps.values():
        assert config["metadata"]["labels"]["grafana_dashboard"] == "1"
        assert config["metadata"]["annotations"]["grafana_folder"] == "eni-pool"
        assert not re.search(r"-[a-z0-9]{10}$", config["metadata"]["name"])  # no hash suffix
        ((name, text),) = config["data"].items()
        files[name] = text
    assert files == {p.name: p.read_text() for p in DASHBOARDS}
    for text in files.values():
        json.loads(text)


def test_the_network_policy_admits_only_prometheus_to_the_metrics_port(
    everything: Objects,
) -> None:
    policy = find(everything, "NetworkPolicy", "eni-exporter")
    deployment = find(everything, "Deployment", "eni-exporter")
    pod = deployment["spec"]["template"]
    spec = policy["spec"]
    assert policy["metadata"]["namespace"] == deployment["metadata"]["namespace"]
    assert spec["podSelector"]["matchLabels"].items() <= pod["metadata"]["labels"].items()
    assert spec["policyTypes"] == ["Ingress"]  # egress to the API server stays open
    (rule,) = spec["ingress"]
    ports = {p["name"] for p in pod["spec"]["containers"][0]["ports"]}
    assert [p["port"] for p in rule["ports"]] == ["metrics"] and "metrics" in ports
    assert rule["from"] == [
        {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}},
        {
            "namespaceSelector": {},
            "podSelector": {"matchLabels": {"app.kubernetes.io/name": "prometheus"}},
        },
    ]


def _tuner_args(objects: Objects) -> list[str]:
    cronjob = find(objects, "CronJob", "eni-tuner")
    args: list[str] = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0][
        "args"
    ]
    return args


def test_tuner_writes_switches_off_the_dry_run_and_nothing_else(tmp_path: Path) -> None:
    dry = _tuner_args(render(DEPLOY / "overlays" / "tke-observe"))
    wet = _tuner_args(render(with_components(tmp_path / "a", "tke-observe", "tuner-writes")))
    assert "--dry-run" in dry and "--dry-run" not in wet
    assert [a for a in dry if a != "--dry-run"] == wet


def test_tuner_writes_refuses_an_overlay_without_the_dry_run(tmp_path: Path) -> None:
    """Its JSON patch tests that args[1] is --dry-run before removing it."""
    with pytest.raises(AssertionError, match="kustomize build"):
        render(with_components(tmp_path / "b", "simulated-provider", "tuner-writes"))


@pytest.mark.parametrize(
    "components",
    [
        ("tuner-schedules",),
        ("tuner-schedules", "tuner-writes"),
        ("tuner-writes", "tuner-schedules"),
    ],
)
def test_tuner_schedules_keeps_the_dry_run_of_tke_observe_until_tuner_writes(
    tmp_path: Path, components: tuple[str, ...]
) -> None:
    """tuner-schedules turns apply into apply --schedule (without --max-step, which
    --schedule refuses) and nothing else: tke-observe's --dry-run stays until
    tuner-writes, in whichever order the two are listed."""
    dry = _tuner_args(render(DEPLOY / "overlays" / "tke-observe"))
    got = _tuner_args(render(with_components(tmp_path / "a", "tke-observe", *components)))
    assert ("--dry-run" in got) is ("tuner-writes" not in components)
    expected = [("--schedule" if a.startswith("--max-step") else a) for a in dry]
    assert [a for a in got if a != "--dry-run"] == [a for a in expected if a != "--dry-run"]


def test_tuner_schedules_on_a_writing_overlay(tmp_path: Path) -> None:
    plain = _tuner_args(render(DEPLOY / "overlays" / "simulated-provider"))
    got = _tuner_args(render(with_components(tmp_path / "a", "simulated-provider",
                                             "tuner-schedules")))  # fmt: skip
    assert got == [("--schedule" if a.startswith("--max-step") else a) for a in plain]
    assert "--dry-run" not in got


def test_generated_component_files_are_current() -> None:
    from dashboards import build

    assert build.main(["--check"]) == 0
