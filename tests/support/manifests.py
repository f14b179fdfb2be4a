"""deploy/ rendered by the pinned kustomize (hack/kustomize.sh builds or reuses it)."""

from __future__ import annotations

import functools
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
OVERLAYS = ("tke-observe", "simulated-demo", "simulated-provider")
SCRIPT = REPO / "hack" / "kustomize.sh"


@functools.cache
def kustomize() -> str:
    """The kustomize binary; built on first use where Go is, else skip (fail under CI)."""
    result = subprocess.run([SCRIPT], capture_output=True, text=True, check=False)
    if result.returncode == 0:
        return result.stdout.strip()
    if "Go is not installed" in result.stderr:
        message = f"no kustomize and no Go to build it: {result.stderr.strip()}"
        if os.environ.get("CI") == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    pytest.fail(f"{SCRIPT} failed (exit {result.returncode}): {result.stderr[-2000:]}")


def render(directory: Path) -> list[dict[str, Any]]:
    """`kustomize build directory` as a list of objects."""
    result = subprocess.run(
        [kustomize(), "build", str(directory)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, f"kustomize build {directory}: {result.stderr}"
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def with_components(tmp: Path, overlay: str, *components: str) -> Path:
    """A kustomization in tmp: an overlay plus components of deploy/components."""
    tmp.mkdir(parents=True, exist_ok=True)
    (tmp / "kustomization.yaml").write_text(
        yaml.safe_dump(
            {
                "apiVersion": "kustomize.config.k8s.io/v1beta1",
                "kind": "Kustomization",
                "resources": [os.path.relpath(DEPLOY / "overlays" / overlay, tmp)],
                "components": [os.path.relpath(DEPLOY / "components" / c, tmp) for c in components],
            }
        )
    )
    return tmp


def find(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    for obj in objects:
        if obj["kind"] == kind and obj["metadata"]["name"].startswith(name):
            return obj
    raise AssertionError(f"no {kind} {name}")
