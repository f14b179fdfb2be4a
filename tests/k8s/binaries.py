"""Where the kube-apiserver and etcd binaries of the harness come from.

In order: the directory named by ENI_POOL_K8S_BIN_DIR; else the cache directory
that hack/k8s-binaries.sh fills, keyed by the versions pinned in
hack/k8s-build/*/go.mod; else, if Go is installed, that script builds them.

Errors: BinariesUnavailable (nothing to run and no Go to build with: the
caller may skip) and BinariesError (a wrong ENI_POOL_K8S_BIN_DIR or a failed
build: always a failure).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
BUILD_SCRIPT = REPO_ROOT / "hack" / "k8s-binaries.sh"
BUILD_MODULES = REPO_ROOT / "hack" / "k8s-build"
BIN_DIR_ENV = "ENI_POOL_K8S_BIN_DIR"
NAMES = ("kube-apiserver", "etcd")


class BinariesUnavailable(Exception):
    """The binaries are not there and Go is not installed to build them."""


class BinariesError(Exception):
    """ENI_POOL_K8S_BIN_DIR lacks the binaries, or building them failed."""


def pinned_version(go_mod: Path, module: str) -> str:
    """The version at which go_mod requires module."""
    pattern = rf"^\s*(?:require\s+)?{re.escape(module)}\s+(v\S+)"
    match = re.search(pattern, go_mod.read_text(), re.MULTILINE)
    if match is None:
        raise BinariesError(f"{go_mod} does not require {module}")
    return match.group(1)


def cache_dir() -> Path:
    """The directory hack/k8s-binaries.sh builds into for the pinned versions."""
    kube = pinned_version(BUILD_MODULES / "kube-apiserver" / "go.mod", "k8s.io/kubernetes")
    etcd = pinned_version(BUILD_MODULES / "etcd" / "go.mod", "go.etcd.io/etcd/server/v3")
    cache_home = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache_home / "eni-pool" / "k8s" / f"{kube}-etcd-{etcd}"


def unavailable_reason() -> str | None:
    """Why the binaries can neither be found nor built here, or None if they can."""
    if os.environ.get(BIN_DIR_ENV) or _complete(cache_dir()) or _go_installed():
        return None
    return (
        f"no kube-apiserver/etcd in {cache_dir()} and no Go to build them; "
        f"run hack/k8s-binaries.sh where Go is, or set {BIN_DIR_ENV}"
    )


def locate_binaries() -> Path:
    """A directory holding executable kube-apiserver and etcd; may build them (minutes)."""
    configured = os.environ.get(BIN_DIR_ENV)
    if configured:
        if not _complete(Path(configured)):
            raise BinariesError(f"{BIN_DIR_ENV}={configured} lacks kube-apiserver or etcd")
        return Path(configured)
    if _complete(cache_dir()):
        return cache_dir()
    reason = unavailable_reason()
    if reason is not None:
        raise BinariesUnavailable(reason)
    built = subprocess.run([BUILD_SCRIPT], stdout=subprocess.PIPE, text=True, check=False)
    if built.returncode != 0 or not _complete(Path(built.stdout.strip())):
        raise BinariesError(f"{BUILD_SCRIPT} failed (exit {built.returncode}); see its output")
    return Path(built.stdout.strip())


def _go_installed() -> bool:
    return shutil.which("go") is not None or Path("/usr/local/go/bin/go").exists()


def _complete(directory: Path) -> bool:
    return all(os.access(directory / name, os.X_OK) for name in NAMES)
