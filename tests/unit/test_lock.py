"""requirements.lock pins every dependency, the image and CI install from it, and the
environment the tests run in is the locked one."""

from __future__ import annotations

import re
import tomllib
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _key(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name.lower())


def pins() -> dict[str, str]:
    found = {}
    for line in (ROOT / "requirements.lock").read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, version = line.split(";", 1)[0].split("==")
            found[_key(name.strip())] = version.strip()
    return found


def test_every_dependency_and_extra_is_pinned_to_one_version() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    wanted = [*project["dependencies"], *project["optional-dependencies"]["test"],
              *project["optional-dependencies"]["dashboards"]]  # fmt: skip
    locked = pins()
    for requirement in wanted:
        name = _key(re.split(r"[<>=!~;\[ ]", requirement, maxsplit=1)[0])
        assert name in locked, f"{name} is not in requirements.lock"
    assert len(locked) > len(wanted)  # their own dependencies too


def test_the_environment_is_the_locked_one() -> None:
    """hack/install-test-deps.sh installs the lock: what runs here is what it pins."""
    drift = {}
    for name, version in pins().items():
        installed = metadata.version(name)
        if installed != version:
            drift[name] = f"locked {version}, installed {installed}"
    assert drift == {}, "run hack/install-test-deps.sh (pip install -r requirements.lock)"


def test_the_image_and_ci_install_from_the_lock() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert "COPY pyproject.toml README.md requirements.lock" in dockerfile
    assert "--constraint requirements.lock" in dockerfile
    script = (ROOT / "hack/install-test-deps.sh").read_text(encoding="utf-8")
    assert "pip install -q --disable-pip-version-check -r requirements.lock" in script
    ci = (ROOT / ".ci/run").read_text(encoding="utf-8")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    command = "hack/install-test-deps.sh && python3 -m pytest"
    assert command in ci and command in readme
    assert "uv pip compile pyproject.toml --extra test --extra dashboards" in readme


def test_the_build_backend_reads_the_license_string() -> None:
    """`pip install -e .` (the README's first command) builds with the newest setuptools
    the requirement allows, but a pinned or offline index may give the oldest: before
    77, setuptools refuses `license = "Apache-2.0"` (a PEP 639 SPDX string), and the
    requirement said >=69 (found by an adversarial review, session 6)."""
    toml = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert isinstance(toml["project"]["license"], str)
    requires = [r for r in toml["build-system"]["requires"] if r.startswith("setuptools")]
    assert requires == ["setuptools>=77"]
