"""Shared fixtures: run ``eni-tuner`` in-process on trace text written to tmp files."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from tuner.cli import cli


@pytest.fixture
def write(tmp_path: Path) -> Callable[[str, str], Path]:
    def _write(name: str, text: str) -> Path:
        path = tmp_path / name
        path.write_text(text.strip() + "\n", encoding="utf-8")
        return path

    return _write


@pytest.fixture
def simulate_json() -> Callable[..., dict[str, Any]]:
    def _run(trace: Path, *args: str) -> dict[str, Any]:
        result = CliRunner().invoke(cli, ["simulate", str(trace), *args, "-o", "json"])
        assert result.exit_code == 0, result.output + str(result.exception)
        document: dict[str, Any] = json.loads(result.stdout)
        return document

    return _run
