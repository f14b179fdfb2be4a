"""Fixtures for tests against a real kube-apiserver + etcd (marker ``k8s``).

``control_plane`` (session) starts both on loopback and yields a
:class:`~.control_plane.ControlPlane`. Without binaries and without Go the
tests skip with one line, except under CI=true, where they fail. When a test
here fails, the end of the run shows the tail of both server logs.
"""

from __future__ import annotations

import os
from collections.abc import Generator, Iterator
from pathlib import Path

import pytest
from kubernetes import client

from .binaries import BinariesError, BinariesUnavailable, locate_binaries, unavailable_reason
from .control_plane import ControlPlane, running_control_plane
from .objects import create_namespace, install_nec_crd
from .process import Process

LOG_TAIL_LINES = 80
FAILED = pytest.StashKey[bool]()
SERVERS = pytest.StashKey[tuple[Process, ...]]()


def _binaries(config: pytest.Config) -> Path:
    """Locate (or build, showing the build's progress) the binaries, else skip or fail."""
    capture = config.pluginmanager.getplugin("capturemanager")
    try:
        with capture.global_and_fixture_disabled():
            return locate_binaries()
    except BinariesError as error:
        pytest.fail(str(error), pytrace=False)
    except BinariesUnavailable as error:
        if _in_ci():
            pytest.fail(f"CI=true, so not skipping: {error}", pytrace=False)
        pytest.skip(str(error))


def _in_ci() -> bool:
    return os.environ.get("CI") == "true"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip the harness's tests up front, with one summary line, when it cannot run here."""
    reason = unavailable_reason()
    if reason is None or _in_ci():
        return  # under CI the fixture fails instead
    for item in items:
        if "control_plane" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.skip(reason=reason))


@pytest.fixture(scope="session")
def control_plane(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ControlPlane]:
    bin_dir = _binaries(request.config)
    with running_control_plane(bin_dir, tmp_path_factory.mktemp("control-plane")) as plane:
        request.config.stash[SERVERS] = (plane.etcd, plane.apiserver)
        yield plane


@pytest.fixture(scope="session")
def nec_crd(control_plane: ControlPlane) -> client.V1CustomResourceDefinition:
    """The NEC CRD from deploy/components/nec-crd/crd-nec.yaml, installed and Established."""
    return install_nec_crd(control_plane.api_client)


@pytest.fixture
def namespace(control_plane: ControlPlane) -> str:
    """A fresh namespace (never deleted: no namespace controller runs)."""
    return create_namespace(control_plane.api_client)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.failed:
        item.config.stash[FAILED] = True
    return report


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    config = terminalreporter.config
    if not config.stash.get(FAILED, False):
        return
    for server in config.stash.get(SERVERS, ()):
        terminalreporter.write_sep("-", f"{server.name} log, last {LOG_TAIL_LINES} lines")
        terminalreporter.write_line(f"(full log: {server.log})")
        terminalreporter.write_line(server.tail(LOG_TAIL_LINES))
