"""`eni-tuner apply` asks the Kubernetes API first: a refusing or unreachable API
server is one line and exit 4 within seconds, before any history is read."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from support.prom import free_port

from .control_plane import ControlPlane, altered_kubeconfig

pytestmark = pytest.mark.k8s
TUNER = [sys.executable, "-c", "from tuner.cli import main; main()"]


@pytest.fixture
def history_server() -> Iterator[tuple[str, socket.socket]]:
    """A listening socket standing where Prometheus would be: apply must not call it."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        listener.setblocking(False)
        yield f"http://127.0.0.1:{listener.getsockname()[1]}", listener


def called(listener: socket.socket) -> bool:
    try:
        connection, _ = listener.accept()
    except BlockingIOError:
        return False
    connection.close()
    return True


def apply(config: Path, url: str) -> tuple[subprocess.CompletedProcess[str], float]:
    began = time.monotonic()
    done = subprocess.run(
        [*TUNER, "apply", "--prometheus-url", url, "--kubeconfig", str(config)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    return done, time.monotonic() - began


def test_a_refusing_api_server_is_exit_4_before_any_history_is_read(
    control_plane: ControlPlane, tmp_path: Path, history_server: tuple[str, socket.socket]
) -> None:
    url, listener = history_server
    done, _ = apply(altered_kubeconfig(control_plane, tmp_path, token="not-a-token"), url)
    assert done.returncode == 4, done.stderr
    assert done.stderr.startswith("error: Kubernetes API") and "401" in done.stderr
    assert len(done.stderr.splitlines()) == 1, done.stderr
    assert not called(listener)


def test_an_unreachable_api_server_is_exit_4_quickly_before_any_history_is_read(
    control_plane: ControlPlane, tmp_path: Path, history_server: tuple[str, socket.socket]
) -> None:
    url, listener = history_server
    closed = f"https://127.0.0.1:{free_port()}"
    done, seconds = apply(altered_kubeconfig(control_plane, tmp_path, server=closed), url)
    assert done.returncode == 4, done.stderr
    assert done.stderr.startswith("error: cannot reach the Kubernetes API")
    assert closed in done.stderr
    assert len(done.stderr.splitlines()) == 1, done.stderr
    assert seconds < 30
    assert not called(listener)
