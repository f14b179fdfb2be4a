"""Cluster objects as TKE's VPC-CNI shows them, made through the real API.

Nodes carry the ENI extended resources in status.capacity/allocatable, Pods are
bound with spec.nodeName and get their status through the status subresource
(no kubelet or scheduler runs), and NEC objects come from the CRD shipped in
deploy/components/nec-crd/crd-nec.yaml.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import yaml
from kubernetes import client

from kube_adapter.nec import GROUP as NEC_GROUP
from kube_adapter.nec import PLURAL as NEC_PLURAL
from kube_adapter.nec import VERSION as NEC_VERSION

from .binaries import REPO_ROOT

ENI_IP = "tke.cloud.tencent.com/eni-ip"
"""Extended resource: bound shared-ENI IPs on a node; a pod requests one."""
DIRECT_ENI = "tke.cloud.tencent.com/direct-eni"
"""Extended resource: bound exclusive ENIs on a node; a pod requests one."""

NEC_CRD_FILE = REPO_ROOT / "deploy" / "components" / "nec-crd" / "crd-nec.yaml"


def unique_name(prefix: str) -> str:
    """A fresh DNS-1123 name; the cluster is shared by the whole session."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def load_nec_crd(path: Path = NEC_CRD_FILE) -> dict[str, Any]:
    crd: dict[str, Any] = yaml.safe_load(path.read_text())
    return crd


def install_nec_crd(
    api_client: client.ApiClient, timeout_s: float = 30.0
) -> client.V1CustomResourceDefinition:
    """Create the NEC CRD unless present and wait until it is Established."""
    api = client.ApiextensionsV1Api(api_client)
    manifest = load_nec_crd()
    name: str = manifest["metadata"]["name"]
    crd = client.V1CustomResourceDefinition.model_validate(manifest)
    try:
        api.create_custom_resource_definition(crd)
    except client.ApiException as error:
        if error.status != 409:
            raise
    deadline = time.monotonic() + timeout_s
    while True:
        current = api.read_custom_resource_definition(name)
        conditions = (current.status and current.status.conditions) or []
        if any(c.type == "Established" and c.status == "True" for c in conditions):
            return current
        if time.monotonic() > deadline:
            raise TimeoutError(f"CRD {name} not Established within {timeout_s:.0f}s")
        time.sleep(0.1)


def create_namespace(api_client: client.ApiClient, prefix: str = "test") -> str:
    name = unique_name(prefix)
    body = client.V1Namespace(metadata=client.V1ObjectMeta(name=name))
    client.CoreV1Api(api_client).create_namespace(body)
    return name


def create_node(
    api_client: client.ApiClient,
    name: str,
    *,
    eni_ip: int = 0,
    direct_eni: int = 0,
    cpu: str = "4",
    memory: str = "8Gi",
    labels: Mapping[str, str] | None = None,
) -> client.V1Node:
    """A Ready Node whose capacity and allocatable advertise the ENI resources.

    eni_ip / direct_eni are the bound slots TKE's agent advertises: shared-ENI
    IPs and exclusive ENIs.
    """
    core = client.CoreV1Api(api_client)
    metadata = client.V1ObjectMeta(name=name, labels=dict(labels or {}))
    core.create_node(client.V1Node(metadata=metadata))
    resources = {"cpu": cpu, "memory": memory, "pods": "110"}
    resources[ENI_IP] = str(eni_ip)
    resources[DIRECT_ENI] = str(direct_eni)
    status = {
        "capacity": resources,
        "allocatable": resources,
        "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady"}],
    }
    node: client.V1Node = core.patch_node_status(name, {"status": status})
    return node


def create_pod(
    api_client: client.ApiClient,
    namespace: str,
    name: str,
    node_name: str,
    *,
    resource: str | None = ENI_IP,
    phase: str = "Running",
    pod_ip: str | None = None,
) -> client.V1Pod:
    """A Pod bound to node_name, in phase, requesting one slot of resource (None: no slot)."""
    core = client.CoreV1Api(api_client)
    slot = {} if resource is None else {resource: "1"}
    container = client.V1Container(
        name="app",
        image="registry.invalid/app:1",
        resources=client.V1ResourceRequirements(requests=slot, limits=slot),
    )
    body = client.V1Pod(
        metadata=client.V1ObjectMeta(name=name),
        spec=client.V1PodSpec(node_name=node_name, containers=[container]),
    )
    core.create_namespaced_pod(namespace, body)
    status: dict[str, Any] = {"phase": phase}
    if pod_ip is not None:
        status["podIP"] = pod_ip
        status["podIPs"] = [{"ip": pod_ip}]
    pod: client.V1Pod = core.patch_namespaced_pod_status(name, namespace, {"status": status})
    return pod


def create_nec(
    api_client: client.ApiClient,
    node_name: str,
    annotations: Mapping[str, str] | None = None,
    spec: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The NEC object of node_name (the CRD must be installed)."""
    body = {
        "apiVersion": f"{NEC_GROUP}/{NEC_VERSION}",
        "kind": "NodeENIConfig",
        "metadata": {"name": node_name, "annotations": dict(annotations or {})},
        "spec": dict(spec or {}),
    }
    nec = client.CustomObjectsApi(api_client).create_cluster_custom_object(
        NEC_GROUP, NEC_VERSION, NEC_PLURAL, body
    )
    return cast(dict[str, Any], nec)


# --- playing kube-scheduler and the kubelet ---------------------------------------------


def create_unscheduled_pod(
    api_client: client.ApiClient, namespace: str, name: str, *, resource: str = ENI_IP
) -> client.V1Pod:
    """A Pod as a controller makes it: no node yet, requesting one slot of ``resource``.
    Its creationTimestamp is the API server's."""
    slot = {resource: "1"}
    container = client.V1Container(
        name="app",
        image="registry.invalid/app:1",
        resources=client.V1ResourceRequirements(requests=slot, limits=slot),
    )
    body = client.V1Pod(metadata=client.V1ObjectMeta(name=name),
                        spec=client.V1PodSpec(containers=[container]))  # fmt: skip
    pod: client.V1Pod = client.CoreV1Api(api_client).create_namespaced_pod(namespace, body)
    return pod


def report_unschedulable(
    api_client: client.ApiClient, namespace: str, name: str, *, resource: str = ENI_IP
) -> None:
    """What kube-scheduler writes when no node has the pod's extended resource free."""
    condition = {
        "type": "PodScheduled",
        "status": "False",
        "reason": "Unschedulable",
        "message": f"0/1 nodes are available: 1 Insufficient {resource}. preemption: "
        "0/1 nodes are available: 1 No preemption victims found for incoming pod.",
        "lastTransitionTime": _now(),
    }
    client.CoreV1Api(api_client).patch_namespaced_pod_status(
        name, namespace, {"status": {"phase": "Pending", "conditions": [condition]}}
    )


def bind(
    api_client: client.ApiClient,
    namespace: str,
    name: str,
    node_name: str,
    *,
    scheduled_after: float | None = None,
) -> None:
    """What kube-scheduler does once the pod fits: POST the pods/binding subresource;
    the API server sets spec.nodeName and PodScheduled True (lastTransitionTime: now).

    ``scheduled_after`` injects time instead of waiting for it: PodScheduled is first
    set True at the pod's creation plus that many seconds, a transition time the
    binding then keeps (the API server leaves a condition's time alone when its status
    does not change), as if the scheduler had bound the pod that much later."""
    core = client.CoreV1Api(api_client)
    if scheduled_after is not None:
        pod = core.read_namespaced_pod(name, namespace)
        created = pod.metadata.creation_timestamp
        at = created + timedelta(seconds=scheduled_after)
        condition = {"type": "PodScheduled", "status": "True", "reason": None, "message": None,
                     "lastTransitionTime": at.strftime("%Y-%m-%dT%H:%M:%SZ")}  # fmt: skip
        core.patch_namespaced_pod_status(name, namespace, {"status": {"conditions": [condition]}})
    target = client.V1ObjectReference(kind="Node", name=node_name)
    binding = client.V1Binding(metadata=client.V1ObjectMeta(name=name), target=target)
    core.create_namespaced_pod_binding(name, namespace, binding, _preload_content=False)


def start_running(api_client: client.ApiClient, namespace: str, name: str, pod_ip: str) -> None:
    """What the kubelet writes once the pod's sandbox has its IP."""
    status = {"phase": "Running", "podIP": pod_ip, "podIPs": [{"ip": pod_ip}]}
    client.CoreV1Api(api_client).patch_namespaced_pod_status(name, namespace, {"status": status})


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
