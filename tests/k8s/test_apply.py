"""`eni-tuner apply` against the real API server: dry run, one patch with both keys,
retry on a concurrent edit, opt-out, guardrails, and a second run that changes nothing."""

from __future__ import annotations

import json
import ssl
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from kubernetes import client, watch

from tuner import apply as applying
from tuner.cli import cli

from .control_plane import ControlPlane
from .objects import NEC_GROUP, NEC_PLURAL, NEC_VERSION, create_nec, create_node, unique_name

pytestmark = pytest.mark.k8s
MIN = "tke.cloud.tencent.com/route-eni-ip-min-warm-target"
MAX = "tke.cloud.tencent.com/route-eni-ip-max-warm-target"


def quiet_rows(node: str, hours: int = 30) -> list[str]:
    rows = []
    for j in range(hours * 6):
        t = 600.0 * j + 17.0
        rows += [f"{t:.1f},{node},start", f"{t + 1800.0:.1f},{node},stop"]
    return rows


@pytest.fixture
def nodes(
    control_plane: ControlPlane, nec_crd: object, tmp_path: Path
) -> Iterator[tuple[list[str], Path]]:
    """Four quiet nodes with NECs at 5/5 and a trace of 30 h of their churn."""
    api = control_plane.api_client
    names = [unique_name("tn") for _ in range(4)]
    rows: list[str] = []
    for name in names:
        create_node(api, name, eni_ip=5, cpu="4")
        create_nec(api, name, {MIN: "5", MAX: "5"})
        rows += quiet_rows(name)
    rows.sort(key=lambda r: float(r.split(",")[0]))
    trace = tmp_path / "history.csv"
    trace.write_text("time,node,event\n" + "\n".join(rows) + "\n")
    yield names, trace


def nec(api: client.ApiClient, name: str) -> dict[str, Any]:
    got: dict[str, Any] = client.CustomObjectsApi(api).get_cluster_custom_object(
        NEC_GROUP, NEC_VERSION, NEC_PLURAL, name
    )
    return got


def apply_cli(plane: ControlPlane, trace: Path, *args: str) -> list[dict[str, Any]]:
    result = CliRunner().invoke(
        cli,
        [
            "apply",
            "--trace",
            str(trace),
            "--kubeconfig",
            str(plane.kubeconfig),
            *args,
            "-o",
            "json",
        ],
    )
    assert result.exit_code == 0, result.output + repr(result.exception)
    document: list[dict[str, Any]] = json.loads(result.stdout)
    return document


def test_dry_run_changes_nothing(
    control_plane: ControlPlane, nodes: tuple[list[str], Path]
) -> None:
    names, trace = nodes
    before = {n: nec(control_plane.api_client, n)["metadata"]["resourceVersion"] for n in names}
    done = {
        c["node"]: c for c in apply_cli(control_plane, trace, "--dry-run", "--min-history", "1")
    }
    assert all(done[n]["outcome"] == "would-change" for n in names)
    assert done[names[0]]["after"] == {"min_warm": 1, "max_warm": 1}
    after = {n: nec(control_plane.api_client, n)["metadata"]["resourceVersion"] for n in names}
    assert after == before


def test_apply_writes_both_keys_in_one_patch_records_and_is_idempotent(
    control_plane: ControlPlane, nodes: tuple[list[str], Path]
) -> None:
    api = control_plane.api_client
    names, trace = nodes
    opted_out = names[3]
    client.CustomObjectsApi(api).patch_cluster_custom_object(
        NEC_GROUP, NEC_VERSION, NEC_PLURAL, opted_out,
        {"metadata": {"annotations": {applying.OPT_OUT: "true"}}},
    )  # fmt: skip
    start = nec(api, names[0])["metadata"]["resourceVersion"]
    seen: list[dict[str, Any]] = []
    stream = watch.Watch()

    def collect() -> None:
        for event in stream.stream(
            client.CustomObjectsApi(api).list_cluster_custom_object, NEC_GROUP, NEC_VERSION,
            NEC_PLURAL, resource_version=start, field_selector=f"metadata.name={names[0]}",
            timeout_seconds=5,
        ):  # fmt: skip
            seen.append(event)

    watcher = threading.Thread(target=collect)
    watcher.start()
    done = {c["node"]: c for c in apply_cli(control_plane, trace, "--min-history", "1",
                                            "--max-changes", "2")}  # fmt: skip
    watcher.join()
    changed = [n for n in names if done[n]["outcome"] == "changed"]
    assert len(changed) == 2  # the cap
    assert done[opted_out]["outcome"].startswith("skipped: opted out")
    assert sum(done[n]["outcome"] == "skipped: change cap reached" for n in names) == 1
    # Both keys arrive in one write: one MODIFIED event that carries both.
    modified = [e for e in seen if e["type"] == "MODIFIED"]
    if names[0] in changed:
        assert len(modified) == 1
        notes = modified[0]["object"]["metadata"]["annotations"]
        assert (notes[MIN], notes[MAX]) == ("1", "1")
        previous = json.loads(notes[applying.PREVIOUS])
        assert (previous["min_warm"], previous["max_warm"], previous["by"]) == (5, 5, "eni-tuner")
    for name in changed:
        events = (
            client.CoreV1Api(api)
            .list_namespaced_event("default", field_selector=f"involvedObject.name={name}")
            .items
        )
        assert [e.reason for e in events] == ["WarmTargetsTuned"]
    assert nec(api, opted_out)["metadata"]["annotations"][MIN] == "5"
    # Next run: the capped node now; then nothing at all.
    again = {c["node"]: c for c in apply_cli(control_plane, trace, "--min-history", "1")}
    assert sum(again[n]["outcome"] == "changed" for n in names) == 1
    versions = {n: nec(api, n)["metadata"]["resourceVersion"] for n in names}
    last = {c["node"]: c for c in apply_cli(control_plane, trace, "--min-history", "1")}
    assert {last[n]["outcome"] for n in names[:3]} == {"unchanged"}
    assert {n: nec(api, n)["metadata"]["resourceVersion"] for n in names} == versions


def test_guardrails_step_and_history(
    control_plane: ControlPlane, nodes: tuple[list[str], Path]
) -> None:
    names, trace = nodes
    done = {c["node"]: c for c in apply_cli(control_plane, trace, "--min-history", "48")}
    assert all(done[n]["outcome"].endswith("h of history (need 48 h)") for n in names)
    done = {c["node"]: c for c in apply_cli(control_plane, trace, "--min-history", "1",
                                            "--max-step", "2")}  # fmt: skip
    assert done[names[0]]["after"] == {"min_warm": 3, "max_warm": 3}  # 5 -> 1, two at a time


def test_a_concurrent_edit_is_retried_not_lost(
    control_plane: ControlPlane, nodes: tuple[list[str], Path]
) -> None:
    api = control_plane.api_client
    names, trace = nodes
    target = names[0]

    class EditedMeanwhile(client.CustomObjectsApi):
        """Reads the NEC, then someone else edits it before our patch arrives."""

        edits = 0

        def get_cluster_custom_object(self, *args: Any, **kwargs: Any) -> Any:
            obj = super().get_cluster_custom_object(*args, **kwargs)
            if self.edits == 0:
                self.edits += 1
                super().patch_cluster_custom_object(
                    NEC_GROUP, NEC_VERSION, NEC_PLURAL, target,
                    {"metadata": {"annotations": {"team": "payments"}}},
                )  # fmt: skip
            return obj

    from tuner.analysis import AnalysisSettings, recommend
    from tuner.history import load_history

    recs = [r for r in recommend(load_history(trace), AnalysisSettings()) if r.node == target]
    guard = applying.Guardrails(min_history_hours=1)
    planned = applying.plan(recs, applying.list_necs(api), guard, applying.Mode.ROUTE_ENI)
    done = applying.write(api, planned, {target: recs[0]}, guard, applying.Mode.ROUTE_ENI,
                          dry_run=False, custom=EditedMeanwhile(api))  # fmt: skip
    assert done[0].outcome == "changed" and done[0].retries == 1  # 409, read again, patched
    notes = nec(api, target)["metadata"]["annotations"]
    assert notes["team"] == "payments"  # the other edit survives
    assert (notes[MIN], notes[MAX]) == ("1", "1")


def test_selector_matches_nec_labels(
    control_plane: ControlPlane, nodes: tuple[list[str], Path]
) -> None:
    api = control_plane.api_client
    names, trace = nodes
    client.CustomObjectsApi(api).patch_cluster_custom_object(
        NEC_GROUP, NEC_VERSION, NEC_PLURAL, names[1], {"metadata": {"labels": {"pool": "batch"}}}
    )
    done = {c["node"]: c for c in apply_cli(control_plane, trace, "--min-history", "1",
                                            "--selector", "pool=batch", "--dry-run")}  # fmt: skip
    assert done[names[1]]["outcome"] == "would-change"
    assert {done[n]["outcome"] for n in names if n != names[1]} == {"skipped: not selected"}


class FaultyProxy:
    """Plain HTTP on loopback in front of the API server, answering 500 to every PATCH
    of one path, the way an API server or its admission webhook fails now and then."""

    def __init__(self, plane: ControlPlane, failing_path: str, workdir: Path) -> None:
        context = ssl.create_default_context(cafile=str(plane.ca_file))
        token = plane.admin_token

        class Handler(BaseHTTPRequestHandler):
            def _forward(self) -> None:
                body = self._body()
                if self.command == "PATCH" and self.path.split("?")[0] == failing_path:
                    self._reply(500, b'{"kind":"Status","message":"injected failure"}')
                    return
                headers = {k: v for k, v in self.headers.items()
                           if k.lower() in ("content-type", "accept")}  # fmt: skip
                headers.setdefault("Content-Type", "application/json")  # not urllib's default
                headers["Authorization"] = f"Bearer {token}"
                request = urllib.request.Request(
                    plane.server + self.path, data=body, method=self.command, headers=headers
                )
                try:
                    with urllib.request.urlopen(request, context=context, timeout=30) as reply:
                        self._reply(reply.status, reply.read())
                except urllib.error.HTTPError as error:
                    with error:
                        self._reply(error.code, error.read())

            def _body(self) -> bytes | None:
                if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                    chunks = []
                    while size := int(self.rfile.readline().split(b";")[0], 16):
                        chunks.append(self.rfile.read(size))
                        self.rfile.readline()
                    self.rfile.readline()
                    return b"".join(chunks)
                length = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(length) if length else None

            def _reply(self, code: int, body: bytes) -> None:
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _forward

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        port = self.server.server_address[1]
        self.kubeconfig = workdir / "proxied-kubeconfig"
        self.kubeconfig.write_text(json.dumps({
            "apiVersion": "v1", "kind": "Config", "current-context": "proxied",
            "clusters": [{"name": "proxied", "cluster": {"server": f"http://127.0.0.1:{port}"}}],
            "users": [{"name": "admin", "user": {"token": token}}],
            "contexts": [{"name": "proxied", "context": {"cluster": "proxied", "user": "admin"}}],
        }))  # fmt: skip

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_one_node_failing_does_not_stop_the_others_and_exits_4(
    control_plane: ControlPlane, nodes: tuple[list[str], Path], tmp_path: Path
) -> None:
    """Before: the 500 went up through `write` and ended the run with a traceback,
    after some nodes had changed and before the record of what changed was printed."""
    api = control_plane.api_client
    names, trace = nodes
    failing = names[1]
    proxy = FaultyProxy(
        control_plane, f"/apis/{NEC_GROUP}/{NEC_VERSION}/{NEC_PLURAL}/{failing}", tmp_path
    )
    try:
        run = subprocess.run(
            [sys.executable, "-c", "from tuner.cli import main; main()", "apply",
             "--trace", str(trace), "--kubeconfig", str(proxy.kubeconfig),
             "--min-history", "1", "-o", "json"],
            capture_output=True, text=True, timeout=300,
        )  # fmt: skip
    finally:
        proxy.close()
    assert run.returncode == 4, run.stderr
    done = {c["node"]: c for c in json.loads(run.stdout)}
    assert done[failing]["outcome"].startswith("failed: Kubernetes API answered 500")
    written = [n for n in names if n != failing]
    assert all(done[n]["outcome"] == "changed" for n in written)
    for name in written:
        annotations = nec(api, name)["metadata"]["annotations"]
        assert (annotations[MIN], annotations[MAX]) == ("1", "1")
        assert applying.PREVIOUS in annotations
    assert nec(api, failing)["metadata"]["annotations"][MAX] == "5"
    core = client.CoreV1Api(api)
    tuned = {
        e.involved_object.name
        for e in core.list_namespaced_event("default").items
        if e.reason == "WarmTargetsTuned"
    }
    assert set(written) <= tuned and failing not in tuned
    lines = run.stderr.splitlines()
    about = [line for line in lines if failing in line]
    assert len(about) == 2, lines  # why it failed, then the summary
    assert "500" in about[0] and "injected failure" in about[0]
    assert (
        lines[-1]
        == f"error: 1 NEC write(s) failed ({failing} (route-eni)); 3 other pool(s) changed"
    )
