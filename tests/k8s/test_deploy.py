"""deploy/ against the real API server (v1.37): every overlay passes a server-side
dry-run apply with strict field validation, tke-observe (its ServiceMonitor
included) applies for real, the pods pass the namespace's Pod Security "restricted"
level, and the exporter's and tuner's ServiceAccounts can do exactly what their roles
allow.

No Prometheus Operator runs here, so a minimal ServiceMonitor CRD (any spec) stands in
for its own; the ServiceMonitor's fields are checked by tests/integration/test_deploy.py instead.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client
from kubernetes.dynamic import DynamicClient

from support.manifests import DEPLOY, find, render, with_components

from .control_plane import ControlPlane
from .objects import (
    NEC_GROUP,
    NEC_PLURAL,
    NEC_VERSION,
    create_nec,
    create_node,
    unique_name,
)

pytestmark = pytest.mark.k8s
NAMESPACE = "eni-pool"
MANAGER = "eni-pool-tests"
MIN_WARM = "tke.cloud.tencent.com/route-eni-ip-min-warm-target"
MAX_WARM = "tke.cloud.tencent.com/route-eni-ip-max-warm-target"
SERVICE_MONITOR_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "servicemonitors.monitoring.coreos.com"},
    "spec": {
        "group": "monitoring.coreos.com",
        "scope": "Namespaced",
        "names": {
            "kind": "ServiceMonitor",
            "listKind": "ServiceMonitorList",
            "plural": "servicemonitors",
            "singular": "servicemonitor",
        },
        "versions": [
            {
                "name": "v1",
                "served": True,
                "storage": True,
                "schema": {
                    "openAPIV3Schema": {
                        "type": "object",
                        "properties": {
                            "spec": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}
                        },
                    }
                },
            }
        ],
    },
}


def apply(api: client.ApiClient, objects: list[dict[str, Any]], dry_run: bool = False) -> None:
    """Server-side apply in order (CRDs and the namespace first), strict field validation."""
    dynamic = DynamicClient(api)
    first = ("CustomResourceDefinition", "Namespace")
    for obj in sorted(objects, key=lambda o: o["kind"] not in first):
        resource = dynamic.resources.get(api_version=obj["apiVersion"], kind=obj["kind"])
        dynamic.server_side_apply(
            resource,
            body=obj,
            field_manager=MANAGER,
            force_conflicts=True,
            dry_run="All" if dry_run else None,
            query_params=[("fieldValidation", "Strict")],
        )


def established(api: client.ApiClient, name: str, timeout_s: float = 30.0) -> None:
    extensions = client.ApiextensionsV1Api(api)
    deadline = time.monotonic() + timeout_s
    while True:
        conditions = extensions.read_custom_resource_definition(name).status.conditions or []
        if any(c.type == "Established" and c.status == "True" for c in conditions):
            return
        assert time.monotonic() < deadline, f"CRD {name} not Established in {timeout_s:.0f}s"
        time.sleep(0.1)


@pytest.fixture(scope="module")
def deployed(
    control_plane: ControlPlane,
    nec_crd: client.V1CustomResourceDefinition,
    tmp_path_factory: pytest.TempPathFactory,
) -> list[dict[str, Any]]:
    """tke-observe (with its ServiceMonitor), applied for real; the rendered objects."""
    api = control_plane.api_client
    apply(api, [SERVICE_MONITOR_CRD])
    established(api, SERVICE_MONITOR_CRD["metadata"]["name"])
    objects = render(DEPLOY / "overlays" / "tke-observe")
    apply(api, objects)
    return objects


def test_tke_observe_applies_and_is_there(
    control_plane: ControlPlane, deployed: list[dict[str, Any]]
) -> None:
    dynamic = DynamicClient(control_plane.api_client)
    for obj in deployed:
        resource = dynamic.resources.get(api_version=obj["apiVersion"], kind=obj["kind"])
        namespace = obj["metadata"].get("namespace")
        live = resource.get(name=obj["metadata"]["name"], namespace=namespace)
        assert live.metadata.name == obj["metadata"]["name"]
    apply(control_plane.api_client, deployed)  # idempotent: a second apply changes nothing


@pytest.mark.parametrize("overlay", ["tke-observe", "simulated-demo", "simulated-provider"])
def test_overlay_passes_server_side_dry_run(
    control_plane: ControlPlane, deployed: list[dict[str, Any]], overlay: str
) -> None:
    apply(control_plane.api_client, render(DEPLOY / "overlays" / overlay), dry_run=True)


def test_core_components_pass_server_side_dry_run(
    control_plane: ControlPlane, deployed: list[dict[str, Any]], tmp_path: Path
) -> None:
    """The NetworkPolicy, the dashboards' ConfigMaps and the tuner's write switch (the
    PrometheusRule's CRD belongs to the operator, which does not run here)."""
    components = ("network-policy", "grafana-dashboards", "tuner-writes")
    objects = render(with_components(tmp_path / "k", "tke-observe", *components))
    assert {"NetworkPolicy", "ConfigMap"} <= {o["kind"] for o in objects}
    apply(control_plane.api_client, objects, dry_run=True)


def test_dry_run_rejects_an_unknown_field(
    control_plane: ControlPlane, deployed: list[dict[str, Any]]
) -> None:
    deployment = find(render(DEPLOY / "overlays" / "tke-observe"), "Deployment", "eni-exporter")
    deployment["spec"]["template"]["spec"]["containers"][0]["readOnlyRootFilesystem"] = True
    with pytest.raises(client.ApiException) as refused:
        apply(control_plane.api_client, [deployment], dry_run=True)
    # v1.37 answers a server-side apply with an undeclared field with 500, not 400
    assert "readOnlyRootFilesystem: field not declared in schema" in str(refused.value.body)


@pytest.mark.parametrize(
    "kind, name",
    [("Deployment", "eni-exporter"), ("CronJob", "eni-tuner"), ("CronJob", "eni-tuner-switch")],
)
def test_pods_pass_pod_security_restricted(
    control_plane: ControlPlane, deployed: list[dict[str, Any]], kind: str, name: str
) -> None:
    obj = find(deployed, kind, name)
    template = (
        obj["spec"]["template"]
        if kind == "Deployment"
        else (obj["spec"]["jobTemplate"]["spec"]["template"])
    )
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": unique_name(name), "namespace": NAMESPACE, **template["metadata"]},
        "spec": template["spec"],
    }
    core = client.CoreV1Api(control_plane.api_client)
    core.create_namespaced_pod(NAMESPACE, pod, dry_run="All")
    pod["spec"]["containers"][0]["securityContext"]["allowPrivilegeEscalation"] = True
    with pytest.raises(client.ApiException) as refused:  # the namespace does enforce it
        core.create_namespaced_pod(NAMESPACE, pod, dry_run="All")
    assert refused.value.status == 403 and "restricted" in str(refused.value.body)


# --- RBAC -------------------------------------------------------------------------------

Check = tuple[str, str, str, str | None]  # verb, group, resource, namespace (None: all)
N = NEC_GROUP
EXPORTER_ALLOWED: list[Check] = [
    *((v, "", r, None) for r in ("nodes", "pods") for v in ("get", "list", "watch")),
    *((v, N, NEC_PLURAL, None) for v in ("get", "list", "watch")),
    ("create", "", "events", "default"),
    *((v, "coordination.k8s.io", "leases", NAMESPACE) for v in ("get", "create", "update")),
]
EXPORTER_DENIED: list[Check] = [
    *((v, N, NEC_PLURAL, None) for v in ("create", "update", "patch", "delete")),
    ("patch", "", "nodes", None),
    ("create", "", "pods", NAMESPACE),
    ("delete", "", "pods", None),
    ("get", "", "secrets", NAMESPACE),
    ("list", "", "configmaps", NAMESPACE),
    ("create", "", "events", NAMESPACE),
    ("delete", "coordination.k8s.io", "leases", NAMESPACE),
    ("create", "coordination.k8s.io", "leases", "default"),
]
TUNER_ALLOWED: list[Check] = [
    *((v, N, NEC_PLURAL, None) for v in ("get", "list", "patch")),
    ("create", "", "events", "default"),
]
TUNER_DENIED: list[Check] = [
    *((v, N, NEC_PLURAL, None) for v in ("watch", "create", "update", "delete")),
    ("get", "", "pods", None),
    ("list", "", "pods", None),
    ("get", "", "nodes", None),
    ("list", "", "nodes", None),
    ("watch", "", "nodes", None),
    ("patch", "", "nodes", None),
    ("get", "", "secrets", NAMESPACE),
    ("create", "coordination.k8s.io", "leases", NAMESPACE),
    ("create", "", "events", NAMESPACE),
]


@contextlib.contextmanager
def as_account(plane: ControlPlane, account: str) -> Iterator[client.ApiClient]:
    request = client.AuthenticationV1TokenRequest(
        spec=client.V1TokenRequestSpec(expiration_seconds=600)
    )
    core = client.CoreV1Api(plane.api_client)
    token = core.create_namespaced_service_account_token(account, NAMESPACE, request).status.token
    with contextlib.closing(plane.client_for_token(token)) as api:
        yield api


def allowed(api: client.ApiClient, check: Check) -> bool:
    verb, group, resource, namespace = check
    attributes = client.V1ResourceAttributes(
        verb=verb, group=group, resource=resource, namespace=namespace
    )
    review = client.V1SelfSubjectAccessReview(
        spec=client.V1SelfSubjectAccessReviewSpec(resource_attributes=attributes)
    )
    result = client.AuthorizationV1Api(api).create_self_subject_access_review(review)
    return bool(result.status.allowed)


def eventually(check: Callable[[], bool], what: str, timeout_s: float = 10.0) -> None:
    """The API server's RBAC and token caches catch up within moments of a change."""
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, what
        time.sleep(0.1)


@pytest.mark.parametrize(
    "account, allow, deny",
    [
        ("eni-exporter", EXPORTER_ALLOWED, EXPORTER_DENIED),
        ("eni-tuner", TUNER_ALLOWED, TUNER_DENIED),
    ],
)
def test_service_account_can_do_exactly_what_its_roles_allow(
    control_plane: ControlPlane,
    deployed: list[dict[str, Any]],
    account: str,
    allow: list[Check],
    deny: list[Check],
) -> None:
    with as_account(control_plane, account) as api:
        for check in allow:
            eventually(lambda c=check: allowed(api, c), f"{account} may not {check}")  # type: ignore[misc]
        refused = [check for check in deny if allowed(api, check)]
        assert refused == [], f"{account} may do more than its roles say"


def test_real_requests_as_the_service_accounts(
    control_plane: ControlPlane, deployed: list[dict[str, Any]]
) -> None:
    node = unique_name("node")
    create_nec(control_plane.api_client, node, {"tke.cloud.tencent.com/x": "1"})
    nec = (NEC_GROUP, NEC_VERSION, NEC_PLURAL)
    patch = {"metadata": {"annotations": {"tke.cloud.tencent.com/x": "2"}}}
    with as_account(control_plane, "eni-tuner") as api:
        custom, core = client.CustomObjectsApi(api), client.CoreV1Api(api)
        eventually(
            lambda: _ok(lambda: custom.patch_cluster_custom_object(*nec, node, patch)),
            "tuner cannot patch a NEC",
        )
        assert _status(lambda: core.list_pod_for_all_namespaces()) == 403
        assert _status(lambda: custom.delete_cluster_custom_object(*nec, node)) == 403
    with as_account(control_plane, "eni-exporter") as api:
        custom, core = client.CustomObjectsApi(api), client.CoreV1Api(api)
        eventually(lambda: _ok(lambda: core.list_node()), "exporter cannot list nodes")
        assert custom.get_cluster_custom_object(*nec, node)["metadata"]["annotations"] == {
            "tke.cloud.tencent.com/x": "2"
        }
        assert _status(lambda: custom.patch_cluster_custom_object(*nec, node, patch)) == 403
        assert _status(lambda: core.list_secret_for_all_namespaces()) == 403


def _status(call: Callable[[], object]) -> int:
    try:
        call()
    except client.ApiException as error:
        return int(error.status)
    return 200


def _ok(call: Callable[[], object]) -> bool:
    status = _status(call)
    if status not in (200, 401, 403):
        raise AssertionError(f"unexpected HTTP {status}")
    return status == 200


def test_crd_component_matches_the_harness(nec_crd: client.V1CustomResourceDefinition) -> None:
    """The harness installs the CRD from the component the simulated-demo overlay uses."""
    crds = [
        o
        for o in render(DEPLOY / "overlays" / "simulated-demo")
        if o["kind"] == "CustomResourceDefinition"
    ]
    assert [c["metadata"]["name"] for c in crds] == [nec_crd.metadata.name]
    assert Path(DEPLOY / "components" / "nec-crd" / "crd-nec.yaml").exists()


def test_cronjob_args_run_as_the_tuner_account(
    control_plane: ControlPlane, deployed: list[dict[str, Any]], tmp_path: Path
) -> None:
    """The CronJob's own flags, with its ServiceAccount's token: `eni-tuner apply` runs,
    lists the selected Nodes and, as deployed (--dry-run), writes nothing; with the
    tuner-writes component it patches NECs within --max-step and records Events. Only
    the history source differs: a trace file instead of --prometheus-url."""
    api = control_plane.api_client
    names = [unique_name("cron") for _ in range(2)]
    rows = []
    for name in names:
        create_node(api, name, eni_ip=5, cpu="4", labels={"kubernetes.io/os": "linux"})
        create_nec(api, name, {MIN_WARM: "5", MAX_WARM: "5"})
        for j in range(30 * 6):  # 30 h of one short-lived pod every 10 minutes
            rows += [f"{600.0 * j + 17},{name},start", f"{600.0 * j + 1817},{name},stop"]
    trace = tmp_path / "history.csv"
    trace.write_text(
        "time,node,event\n" + "\n".join(sorted(rows, key=lambda r: float(r.split(",")[0]))) + "\n"
    )
    with as_account(control_plane, "eni-tuner") as tuner_api:
        nec_list = client.CustomObjectsApi(tuner_api).list_cluster_custom_object
        eventually(lambda: _ok(lambda: nec_list(NEC_GROUP, NEC_VERSION, NEC_PLURAL)), "no RBAC")
        kubeconfig = _kubeconfig(control_plane, tuner_api, tmp_path / "tuner.kubeconfig")

    def tune(objects: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
        container = find(objects, "CronJob", "eni-tuner")["spec"]["jobTemplate"]["spec"][
            "template"
        ]["spec"]["containers"][0]
        args = [
            f"--trace={trace}" if a.startswith("--prometheus-url=") else a
            for a in container["args"]
        ]
        run = subprocess.run(
            [sys.executable, "-c", "from tuner.cli import main; main()",
             *container["command"][1:], *args, f"--kubeconfig={kubeconfig}"],
            capture_output=True, text=True, check=False, timeout=300,
        )  # fmt: skip
        assert run.returncode == 0, run.stderr[-3000:]
        changes = {c["node"]: c for c in json.loads(run.stdout) if c["node"] in names}
        assert set(changes) == set(names), run.stdout
        return changes

    custom = client.CustomObjectsApi(api)
    for name, change in tune(deployed).items():  # as deployed: a dry run
        assert change["outcome"] == "would-change", change
        notes = custom.get_cluster_custom_object(NEC_GROUP, NEC_VERSION, NEC_PLURAL, name)[
            "metadata"
        ]["annotations"]
        assert (notes[MIN_WARM], notes[MAX_WARM]) == ("5", "5")
    changes = tune(render(with_components(tmp_path / "k", "tke-observe", "tuner-writes")))
    for name in names:
        assert changes[name]["outcome"] == "changed", changes[name]
        notes = custom.get_cluster_custom_object(NEC_GROUP, NEC_VERSION, NEC_PLURAL, name)[
            "metadata"
        ]["annotations"]
        assert (notes[MIN_WARM], notes[MAX_WARM]) == ("3", "3")  # 5 -> 1 wanted, --max-step=2
    events = (
        client.CoreV1Api(api)
        .list_namespaced_event("default", field_selector=f"involvedObject.name={names[0]}")
        .items
    )
    assert events, "the tuner recorded no Event"


def test_switch_cronjob_args_run_as_the_tuner_account(
    control_plane: ControlPlane, deployed: list[dict[str, Any]], tmp_path: Path
) -> None:
    """The switch CronJob's own flags, with the tuner's token: the pair of the block in
    force is written and an Event recorded (NEC get/list/patch and Events suffice)."""
    api = control_plane.api_client
    name = unique_name("sw")
    schedule = '[{"from_hour":0,"to_hour":24,"min_warm":2,"max_warm":7}]'
    create_nec(api, name, {MIN_WARM: "5", MAX_WARM: "5", "eni-pool.io/warm-schedule": schedule})
    container = find(deployed, "CronJob", "eni-tuner-switch")["spec"]["jobTemplate"]["spec"][
        "template"
    ]["spec"]["containers"][0]
    with as_account(control_plane, "eni-tuner") as tuner_api:
        nec_list = client.CustomObjectsApi(tuner_api).list_cluster_custom_object
        eventually(lambda: _ok(lambda: nec_list(NEC_GROUP, NEC_VERSION, NEC_PLURAL)), "no RBAC")
        kubeconfig = _kubeconfig(control_plane, tuner_api, tmp_path / "tuner.kubeconfig")
    command = [sys.executable, "-c", "from tuner.cli import main; main()"]
    run = subprocess.run([*command, *container["command"][1:], *container["args"],
                          f"--kubeconfig={kubeconfig}"],
                         capture_output=True, text=True, check=False, timeout=120)  # fmt: skip
    # other tests' NECs may hold invalid schedules (exit 2); this one is switched
    assert run.returncode in (0, 2), run.stderr[-3000:]
    mine = [c for c in json.loads(run.stdout) if c["node"] == name]
    assert [c["outcome"] for c in mine] == ["changed: block 00:00-24:00"], run.stdout
    notes = client.CustomObjectsApi(api).get_cluster_custom_object(
        NEC_GROUP, NEC_VERSION, NEC_PLURAL, name
    )["metadata"]["annotations"]
    assert (notes[MIN_WARM], notes[MAX_WARM]) == ("2", "7")
    found = client.CoreV1Api(api).list_namespaced_event(
        "default", field_selector=f"involvedObject.name={name}"
    )
    assert [e.reason for e in found.items] == ["WarmScheduleSwitched"]


def _kubeconfig(plane: ControlPlane, api: client.ApiClient, path: Path) -> Path:
    token = api.configuration.api_key["authorization"]
    cluster = {"server": plane.server, "certificate-authority": str(plane.ca_file)}
    path.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "current-context": "tuner",
                "clusters": [{"name": "harness", "cluster": cluster}],
                "users": [{"name": "eni-tuner", "user": {"token": token}}],
                "contexts": [
                    {"name": "tuner", "context": {"cluster": "harness", "user": "eni-tuner"}}
                ],
            }
        )
    )
    return path
