"""The harness is a real API server: CRDs, watches, 410 Gone, 409 Conflict and RBAC
behave as in a cluster, and the object helpers produce what TKE's VPC-CNI shows."""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

import pytest
from kubernetes import client, watch

from pool_engine.config import MAX_WARM_KEY, MIN_WARM_KEY, Mode

from .control_plane import ControlPlane
from .objects import (
    DIRECT_ENI,
    ENI_IP,
    NEC_GROUP,
    NEC_PLURAL,
    NEC_VERSION,
    create_nec,
    create_node,
    create_pod,
    unique_name,
)

pytestmark = pytest.mark.k8s

MIN_WARM = MIN_WARM_KEY[Mode.ROUTE_ENI]
MAX_WARM = MAX_WARM_KEY[Mode.ROUTE_ENI]
NEC = (NEC_GROUP, NEC_VERSION, NEC_PLURAL)
T = TypeVar("T")


def _eventually(call: Callable[[], T], timeout_s: float = 10.0) -> T:
    """call() once the API server's informer-fed caches (authn, RBAC) have caught up."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return call()
        except client.ApiException as error:
            if error.status not in (401, 403) or time.monotonic() > deadline:
                raise
        time.sleep(0.1)


def _first_watch_event(list_call: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """The first event of a watch (closing it after); an ERROR event raises ApiException."""
    stream = watch.Watch().stream(list_call, *args, timeout_seconds=5, **kwargs)
    with contextlib.closing(stream):
        return next(stream)


def test_nec_crd_is_established_and_serves_nec_objects(
    control_plane: ControlPlane, nec_crd: client.V1CustomResourceDefinition
) -> None:
    conditions = {c.type: c.status for c in nec_crd.status.conditions}
    assert conditions["Established"] == "True"
    assert nec_crd.status.accepted_names.short_names == ["nec"]

    custom = client.CustomObjectsApi(control_plane.api_client)
    name = unique_name("node")
    create_nec(control_plane.api_client, name, {MIN_WARM: "1", MAX_WARM: "3"}, {"any": {"x": 1}})
    nec = custom.get_cluster_custom_object(*NEC, name)
    assert nec["metadata"]["annotations"] == {MIN_WARM: "1", MAX_WARM: "3"}
    assert nec["spec"] == {"any": {"x": 1}}  # unknown fields are kept


def test_watch_sees_added_modified_deleted(
    control_plane: ControlPlane, nec_crd: client.V1CustomResourceDefinition
) -> None:
    custom = client.CustomObjectsApi(control_plane.api_client)
    name = unique_name("node")
    since = custom.list_cluster_custom_object(*NEC)["metadata"]["resourceVersion"]
    events: queue.Queue[tuple[str, str]] = queue.Queue()

    def consume() -> None:
        for event in watch.Watch().stream(
            custom.list_cluster_custom_object,
            *NEC,
            resource_version=since,
            field_selector=f"metadata.name={name}",
            timeout_seconds=20,
        ):
            events.put((event["type"], event["object"]["metadata"]["annotations"][MIN_WARM]))
            if event["type"] == "DELETED":
                return

    watcher = threading.Thread(target=consume)
    watcher.start()
    create_nec(control_plane.api_client, name, {MIN_WARM: "1", MAX_WARM: "3"})
    custom.patch_cluster_custom_object(*NEC, name, {"metadata": {"annotations": {MIN_WARM: "2"}}})
    custom.delete_cluster_custom_object(*NEC, name)

    seen = [events.get(timeout=10) for _ in range(3)]
    watcher.join()
    assert seen == [("ADDED", "1"), ("MODIFIED", "2"), ("DELETED", "2")]


def test_watch_from_compacted_resource_version_gets_410_gone(
    control_plane: ControlPlane, namespace: str
) -> None:
    # Events are not in the API server's watch cache (its default), so a watch
    # at an old resourceVersion is served by etcd and meets etcd's compaction.
    core = client.CoreV1Api(control_plane.api_client)
    subject = client.V1ObjectReference(kind="Pod", name="probe", namespace=namespace)
    first = core.create_namespaced_event(
        namespace,
        client.CoreV1Event(
            metadata=client.V1ObjectMeta(name="probe"), involved_object=subject, reason="Probe"
        ),
    )
    # Two later writes: a watch must start below the compacted revision (if it
    # starts exactly there, the API server answers 500 "PrevKv=nil", not 410).
    for message in ("second write", "third write"):
        core.patch_namespaced_event("probe", namespace, {"message": message})
    old = first.metadata.resource_version
    assert _first_watch_event(core.list_namespaced_event, namespace, resource_version=old)

    control_plane.compact_etcd()
    with pytest.raises(client.ApiException) as gone:
        _first_watch_event(core.list_namespaced_event, namespace, resource_version=old)
    assert gone.value.status == 410


def test_watch_resumed_after_apiserver_restart_gets_410_gone(
    control_plane: ControlPlane, nec_crd: client.V1CustomResourceDefinition
) -> None:
    # What an informer meets after an API server rollout: the new watch cache
    # starts at the current revision, so older resourceVersions are gone.
    custom = client.CustomObjectsApi(control_plane.api_client)
    name = unique_name("node")
    last_seen = create_nec(control_plane.api_client, name, {MIN_WARM: "1", MAX_WARM: "3"})
    custom.patch_cluster_custom_object(*NEC, name, {"metadata": {"annotations": {MIN_WARM: "2"}}})

    control_plane.restart_apiserver()
    with pytest.raises(client.ApiException) as gone:
        _first_watch_event(
            custom.list_cluster_custom_object,
            *NEC,
            resource_version=last_seen["metadata"]["resourceVersion"],
        )
    assert gone.value.status == 410

    relisted = custom.list_cluster_custom_object(*NEC)["metadata"]["resourceVersion"]
    custom.patch_cluster_custom_object(*NEC, name, {"metadata": {"annotations": {MIN_WARM: "3"}}})
    event = _first_watch_event(
        custom.list_cluster_custom_object,
        *NEC,
        resource_version=relisted,
        field_selector=f"metadata.name={name}",
    )
    assert event["type"] == "MODIFIED"


def test_merge_patch_with_stale_resource_version_gets_409_conflict(
    control_plane: ControlPlane, nec_crd: client.V1CustomResourceDefinition
) -> None:
    custom = client.CustomObjectsApi(control_plane.api_client)
    name = unique_name("node")
    stale = create_nec(control_plane.api_client, name, {MIN_WARM: "1", MAX_WARM: "3"})
    custom.patch_cluster_custom_object(*NEC, name, {"metadata": {"annotations": {MIN_WARM: "2"}}})

    def patch_max_warm(resource_version: str) -> Any:
        body = {"metadata": {"resourceVersion": resource_version, "annotations": {MAX_WARM: "4"}}}
        return custom.patch_cluster_custom_object(
            *NEC, name, body, _content_type="application/merge-patch+json"
        )

    with pytest.raises(client.ApiException) as conflict:
        patch_max_warm(stale["metadata"]["resourceVersion"])
    assert conflict.value.status == 409

    current = custom.get_cluster_custom_object(*NEC, name)["metadata"]["resourceVersion"]
    assert patch_max_warm(current)["metadata"]["annotations"] == {MIN_WARM: "2", MAX_WARM: "4"}


def test_service_account_token_gets_only_what_its_cluster_role_grants(
    control_plane: ControlPlane, namespace: str, nec_crd: client.V1CustomResourceDefinition
) -> None:
    core = client.CoreV1Api(control_plane.api_client)
    rbac = client.RbacAuthorizationV1Api(control_plane.api_client)
    account, role = "tuner", unique_name("nec-tuner")
    core.create_namespaced_service_account(
        namespace, client.V1ServiceAccount(metadata=client.V1ObjectMeta(name=account))
    )
    rules = [
        client.V1PolicyRule(api_groups=[""], resources=["nodes"], verbs=["get", "list"]),
        client.V1PolicyRule(api_groups=[NEC_GROUP], resources=[NEC_PLURAL], verbs=["patch"]),
    ]
    rbac.create_cluster_role(
        client.V1ClusterRole(metadata=client.V1ObjectMeta(name=role), rules=rules)
    )
    rbac.create_cluster_role_binding(
        client.V1ClusterRoleBinding(
            metadata=client.V1ObjectMeta(name=role),
            role_ref=client.V1RoleRef(
                api_group="rbac.authorization.k8s.io", kind="ClusterRole", name=role
            ),
            subjects=[
                client.RbacV1Subject(kind="ServiceAccount", name=account, namespace=namespace)
            ],
        )
    )
    request = client.AuthenticationV1TokenRequest(
        spec=client.V1TokenRequestSpec(expiration_seconds=600)
    )
    token = core.create_namespaced_service_account_token(account, namespace, request).status.token
    node = unique_name("node")
    create_nec(control_plane.api_client, node, {MIN_WARM: "1", MAX_WARM: "3"})

    with contextlib.closing(control_plane.client_for_token(token)) as as_tuner:
        tuner_core, tuner_custom = client.CoreV1Api(as_tuner), client.CustomObjectsApi(as_tuner)
        _eventually(tuner_core.list_node)
        patch = {"metadata": {"annotations": {MIN_WARM: "2"}}}
        tuner_custom.patch_cluster_custom_object(*NEC, node, patch)

        refused: list[Callable[[], Any]] = [
            lambda: tuner_core.list_namespaced_pod(namespace),
            lambda: tuner_core.patch_node(node, {"metadata": {"labels": {"x": "y"}}}),
            lambda: tuner_custom.delete_cluster_custom_object(*NEC, node),
        ]
        for call in refused:
            with pytest.raises(client.ApiException) as denied:
                call()
            assert denied.value.status == 403


def test_nodes_and_pods_carry_the_eni_resources(
    control_plane: ControlPlane, namespace: str
) -> None:
    core = client.CoreV1Api(control_plane.api_client)
    node = unique_name("node")
    created = create_node(control_plane.api_client, node, eni_ip=27, direct_eni=0)
    assert created.status.allocatable[ENI_IP] == "27"
    assert created.status.capacity[DIRECT_ENI] == "0"

    create_pod(control_plane.api_client, namespace, "web", node, pod_ip="10.0.3.7")
    create_pod(control_plane.api_client, namespace, "batch", node, phase="Pending")
    pods = core.list_namespaced_pod(namespace, field_selector=f"spec.nodeName={node}").items
    by_name = {pod.metadata.name: pod for pod in pods}
    assert by_name["web"].status.phase == "Running"
    assert by_name["web"].status.pod_ip == "10.0.3.7"
    assert by_name["batch"].status.phase == "Pending"
    assert by_name["web"].spec.containers[0].resources.requests == {ENI_IP: "1"}
