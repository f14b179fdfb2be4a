"""deploy/ renders with the pinned kustomize, validates against the Kubernetes 1.37
schemas (kubernetes-validate, strict: unknown fields fail), and holds the properties
operators rely on: hardened pods, probes, downward API, the tuner's guardrails, the
CRD only where it belongs, and least-privilege RBAC. tests/k8s/test_deploy.py applies
the same output to a real API server."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest

from support.manifests import DEPLOY, OVERLAYS, find, render, with_components

KUBERNETES = "1.37.0"  # the harness' kube-apiserver is v1.37.2
OPERATOR_GROUP = "monitoring.coreos.com/"
"""The Prometheus Operator's kinds have no schema in kubernetes-validate; their fields
are checked by the tests that make them (here and in test_deploy_components.py)."""
NEC_GROUP = "networking.tke.cloud.tencent.com"
Objects = list[dict[str, Any]]


@pytest.fixture(scope="module", params=OVERLAYS)
def overlay(request: pytest.FixtureRequest) -> tuple[str, Objects]:
    return request.param, render(DEPLOY / "overlays" / request.param)


def pod_specs(objects: Objects) -> dict[str, dict[str, Any]]:
    specs = {}
    for obj in objects:
        if obj["kind"] == "Deployment":
            specs[obj["metadata"]["name"]] = obj["spec"]["template"]["spec"]
        elif obj["kind"] == "CronJob":
            specs[obj["metadata"]["name"]] = obj["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return specs


def test_overlays_validate_against_the_pinned_kubernetes(overlay: tuple[str, Objects]) -> None:
    for obj in overlay[1]:
        if not obj["apiVersion"].startswith(OPERATOR_GROUP):
            kubernetes_validate.validate(obj, KUBERNETES, strict=True)


def test_validation_can_fail() -> None:
    deployment = find(render(DEPLOY / "overlays" / "tke-observe"), "Deployment", "eni-exporter")
    deployment["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["httpGet"]["prot"] = 1
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES, strict=True)


def test_the_nec_crd_is_never_applied_on_tke(overlay: tuple[str, Objects]) -> None:
    name, objects = overlay
    crds = [o["metadata"]["name"] for o in objects if o["kind"] == "CustomResourceDefinition"]
    assert crds == ([] if name == "tke-observe" else [f"nodeeniconfigs.{NEC_GROUP}"])


def test_pods_are_hardened(overlay: tuple[str, Objects]) -> None:
    for name, spec in pod_specs(overlay[1]).items():
        assert spec["securityContext"]["runAsNonRoot"] is True, name
        assert spec["securityContext"]["runAsUser"] != 0, name
        assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, name
        for container in spec["containers"]:
            context = container["securityContext"]
            assert context["readOnlyRootFilesystem"] is True, name
            assert context["allowPrivilegeEscalation"] is False, name
            assert context["capabilities"] == {"drop": ["ALL"]}, name
            resources = container["resources"]
            assert {"cpu", "memory"} <= set(resources["requests"]), name
            assert "memory" in resources["limits"], name
            env = {e["name"]: e for e in container["env"]}
            for var, field in (
                ("POD_NAMESPACE", "metadata.namespace"),
                ("POD_NAME", "metadata.name"),
            ):
                assert env[var]["valueFrom"]["fieldRef"]["fieldPath"] == field, name
            # numba caches compiled code; the only writable place is the /tmp volume
            assert env["NUMBA_CACHE_DIR"]["value"].startswith("/tmp/"), name
            assert {"name": "tmp", "mountPath": "/tmp"} in container["volumeMounts"], name


def test_exporter_probes_ports_and_scrape_annotations(overlay: tuple[str, Objects]) -> None:
    objects = overlay[1]
    deployment = find(objects, "Deployment", "eni-exporter")
    pod = deployment["spec"]["template"]
    container = pod["spec"]["containers"][0]
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "metrics"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "metrics"}
    assert container["ports"] == [{"name": "metrics", "containerPort": 9808}]
    listen = [a for a in container["args"] if a.startswith("--listen=")]
    assert listen == ["--listen=0.0.0.0:9808"]
    service = find(objects, "Service", "eni-exporter")
    assert service["spec"]["ports"][0]["targetPort"] == "metrics"
    labels = pod["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= labels.items()
    assert deployment["spec"]["selector"]["matchLabels"].items() <= labels.items()
    for annotated in (pod, service):
        notes = annotated["metadata"]["annotations"]
        assert notes["prometheus.io/scrape"] == "true" and notes["prometheus.io/port"] == "9808"


def test_exporter_mode_per_overlay(overlay: tuple[str, Objects]) -> None:
    name, objects = overlay
    args = find(objects, "Deployment", "eni-exporter")["spec"]["template"]["spec"]["containers"][0][
        "args"
    ]
    if name == "tke-observe":
        assert args[:2] == ["run", "--provider=tke-observe"]
    elif name == "simulated-provider":
        assert args[:2] == ["run", "--provider=simulated"]
    else:
        assert args[:2] == ["simulate", "--nodes=50"]
    assert "--no-leader-elect" not in args


def test_exporter_replicas_and_disruption_budget(overlay: tuple[str, Objects]) -> None:
    """Cluster mode: two replicas electing one acting replica, rolled one at a time,
    at least one kept through voluntary disruptions. `simulate`: one replica (each would
    simulate a cluster of its own), and no budget (one of one would block drains)."""
    name, objects = overlay
    deployment = find(objects, "Deployment", "eni-exporter")
    budgets = [o for o in objects if o["kind"] == "PodDisruptionBudget"]
    if name == "simulated-demo":
        assert deployment["spec"]["replicas"] == 1 and budgets == []
        return
    assert deployment["spec"]["replicas"] == 2
    assert deployment["spec"]["strategy"] == {
        "type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}
    }  # fmt: skip
    (budget,) = budgets
    assert budget["spec"]["minAvailable"] == 1
    assert budget["metadata"]["namespace"] == deployment["metadata"]["namespace"]
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert budget["spec"]["selector"]["matchLabels"].items() <= labels.items()
    spread = deployment["spec"]["template"]["spec"]["topologySpreadConstraints"]
    assert [c["topologyKey"] for c in spread] == ["kubernetes.io/hostname"]


def test_tuner_cronjob_runs_apply_with_guardrails(overlay: tuple[str, Objects]) -> None:
    name, objects = overlay
    cronjob = find(objects, "CronJob", "eni-tuner")
    assert cronjob["spec"]["concurrencyPolicy"] == "Forbid"
    assert cronjob["spec"].get("suspend", False) is (name == "simulated-demo")
    container = pod_specs(objects)["eni-tuner"]["containers"][0]
    assert container["command"] == ["eni-tuner"]
    args = container["args"]
    core = [a for a in args if a != "--dry-run"]
    assert core[0] == "apply" and core[-2:] == ["-o", "json"]
    # tke-observe reports and writes nothing until the user opts in (tuner-writes)
    assert ("--dry-run" in args) is (name == "tke-observe")
    flags = dict(a.split("=", 1) for a in args if a.startswith("--") and a != "--dry-run")
    assert flags == {
        "--prometheus-url": "$(PROMETHEUS_URL)",
        "--max-step": "2",
        "--min-history": "24",
        "--max-changes": "20",
    }
    config = find(objects, "ConfigMap", "eni-tuner")
    reference = container["env"][0]["valueFrom"]["configMapKeyRef"]
    assert reference == {"name": config["metadata"]["name"], "key": "PROMETHEUS_URL"}
    assert config["data"]["PROMETHEUS_URL"].startswith("http://")


def test_switch_cronjob_every_five_minutes_one_at_a_time(overlay: tuple[str, Objects]) -> None:
    name, objects = overlay
    cronjob = find(objects, "CronJob", "eni-tuner-switch")
    spec = cronjob["spec"]
    assert spec["schedule"] == "*/5 * * * *" and spec["concurrencyPolicy"] == "Forbid"
    assert spec.get("suspend", False) is (name == "simulated-demo")  # no NEC to switch there
    assert spec["jobTemplate"]["spec"]["activeDeadlineSeconds"] < 300  # done before the next
    pod = pod_specs(objects)["eni-tuner-switch"]
    assert pod["serviceAccountName"] == "eni-tuner"
    args = pod["containers"][0]["args"]
    assert args[0] == "switch" and args[-2:] == ["-o", "json"]
    assert not [a for a in args if a.startswith(("--min-history", "--max-changes", "--now"))]


def test_tuner_schedules_component_stores_schedules(tmp_path: Path) -> None:
    objects = render(with_components(tmp_path, "tke-observe", "tuner-schedules"))
    args = pod_specs(objects)["eni-tuner"]["containers"][0]["args"]
    assert args[0] == "apply" and "--schedule" in args and args[-3:] == ["-o", "json", "--dry-run"]
    flags = dict(a.split("=", 1) for a in args if a.startswith("--") and "=" in a)
    assert flags == {"--prometheus-url": "$(PROMETHEUS_URL)", "--min-history": "24",
                     "--max-changes": "20"}  # fmt: skip
    for obj in objects:
        if not obj["apiVersion"].startswith(OPERATOR_GROUP):
            kubernetes_validate.validate(obj, KUBERNETES, strict=True)


def rules_of(objects: Objects, kind: str, name: str) -> set[tuple[str, str, str]]:
    role = find(objects, kind, name)
    return {
        (group, resource, verb)
        for rule in role["rules"]
        for group in rule["apiGroups"]
        for resource in rule["resources"]
        for verb in rule["verbs"]
    }


def test_rbac_is_least_privilege(overlay: tuple[str, Objects]) -> None:
    name, objects = overlay
    read = ("get", "list", "watch")
    assert rules_of(objects, "ClusterRole", "eni-pool-exporter") == {
        *(("", r, v) for r in ("nodes", "pods") for v in read),
        *((NEC_GROUP, "nodeeniconfigs", v) for v in read),
    }
    records = [o for o in objects if o["metadata"]["name"] == "eni-pool-exporter-records"]
    if name == "simulated-provider":  # the acting engine's own annotations on NEC objects
        assert rules_of(objects, "ClusterRole", "eni-pool-exporter-records") == {
            (NEC_GROUP, "nodeeniconfigs", "patch")
        }
        binding = find(objects, "ClusterRoleBinding", "eni-pool-exporter-records")
        assert binding["subjects"] == [
            {"kind": "ServiceAccount", "name": "eni-exporter", "namespace": "eni-pool"}
        ]
    else:
        assert records == []
    assert rules_of(objects, "Role", "eni-pool-exporter-leases") == {
        ("coordination.k8s.io", "leases", v) for v in ("get", "create", "update")
    }
    assert rules_of(objects, "ClusterRole", "eni-pool-tuner") == {
        *((NEC_GROUP, "nodeeniconfigs", v) for v in ("get", "list", "patch")),
    }
    for role in ("eni-pool-exporter-events", "eni-pool-tuner-events"):
        assert rules_of(objects, "Role", role) == {("", "events", "create")}
        assert find(objects, "Role", role)["metadata"]["namespace"] == "default"
    assert find(objects, "Role", "eni-pool-exporter-leases")["metadata"]["namespace"] == "eni-pool"
    kinds = {o["kind"] for o in objects}
    assert "Secret" not in kinds


def test_tke_observe_is_scraped_out_of_the_box() -> None:
    """The ServiceMonitor comes with the overlay; the annotations stay for the rest."""
    objects = render(DEPLOY / "overlays" / "tke-observe")
    monitor = find(objects, "ServiceMonitor", "eni-exporter")
    assert monitor["spec"]["jobLabel"] == "app.kubernetes.io/name"
    service = find(objects, "Service", "eni-exporter")
    assert service["metadata"]["annotations"]["prometheus.io/scrape"] == "true"


@pytest.mark.parametrize("overlay", ["simulated-demo", "simulated-provider"])
def test_servicemonitor_component_selects_the_service(tmp_path: Path, overlay: str) -> None:
    objects = render(with_components(tmp_path / "k", overlay, "servicemonitor"))
    monitor = find(objects, "ServiceMonitor", "eni-exporter")
    service = find(objects, "Service", "eni-exporter")
    assert monitor["apiVersion"] == "monitoring.coreos.com/v1"
    assert (
        monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    )
    assert monitor["spec"]["endpoints"][0]["port"] == service["spec"]["ports"][0]["name"]
    # job = the Service's app.kubernetes.io/name, which the EniExporter* alerts expect
    assert service["metadata"]["labels"][monitor["spec"]["jobLabel"]] == "eni-exporter"


def test_dockerfile_is_multi_stage_pinned_and_non_root() -> None:
    text = (DEPLOY.parent / "Dockerfile").read_text()
    base = re.search(r"^ARG PYTHON_IMAGE=(\S+)$", text, re.M)
    assert base is not None
    # an exact patch release (python:3.11.11-...) or a digest, never a moving tag
    assert re.fullmatch(r"python:\d+\.\d+\.\d+-slim-\w+(@sha256:[0-9a-f]{64})?", base.group(1))
    assert len(re.findall(r"^FROM \$\{PYTHON_IMAGE\}", text, re.M)) == 2
    assert "pip install --no-index" in text
    users = re.findall(r"^USER (\d+):(\d+)$", text, re.M)
    assert users == [("65532", "65532")]
    for spec in pod_specs(render(DEPLOY / "overlays" / "tke-observe")).values():
        assert spec["securityContext"]["runAsUser"] == 65532


def test_dockerfile_copies_every_package_the_wheel_holds() -> None:
    """The image builds its wheel from what the Dockerfile copies: a package left out
    (kube_adapter was) installs a program that dies on its first import."""
    text = (DEPLOY.parent / "Dockerfile").read_text()
    pyproject = tomllib.loads((DEPLOY.parent / "pyproject.toml").read_text())
    packages = [
        p.rstrip("*") for p in pyproject["tool"]["setuptools"]["packages"]["find"]["include"]
    ]
    copied = set(re.findall(r"^COPY (\w+)/ \1/$", text, re.M))
    assert packages and set(packages) <= copied, sorted(set(packages) - copied)
