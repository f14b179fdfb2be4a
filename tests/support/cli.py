"""The programs as a user runs them: a process of this interpreter, output captured."""

from __future__ import annotations

import subprocess
import sys

TUNER = [sys.executable, "-c", "from tuner.cli import main; main()"]
"""`eni-tuner`, from this checkout's code (as the console script runs it)."""


def run_tuner(*args: str) -> subprocess.CompletedProcess[str]:
    """`eni-tuner ARGS`, text output captured."""
    return subprocess.run([*TUNER, *args], capture_output=True, text=True, timeout=120)
