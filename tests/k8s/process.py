"""A server process of the harness: started, polled until ready, stopped, its log kept."""

from __future__ import annotations

import ctypes
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

START_TIMEOUT_S = 90.0
LOG_TAIL_LINES = 60


class ControlPlaneError(Exception):
    """etcd or kube-apiserver did not start; the message carries its log tail."""


@dataclass
class Process:
    """A server process; its stdout and stderr are appended to one log file."""

    name: str
    argv: list[str]
    log: Path
    popen: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.popen = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                preexec_fn=_die_with_parent,
            )

    def stop(self) -> None:
        if self.popen is not None and self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait()

    def kill(self) -> None:
        """Stop at once (SIGKILL), as when the machine under it dies."""
        if self.popen is not None and self.popen.poll() is None:
            self.popen.kill()
            self.popen.wait()

    def wait_until(self, what: str, ready: Callable[[], bool]) -> None:
        """Poll ready() until it holds; fail fast with the log tail if the process exits."""
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.popen is None or self.popen.poll() is not None:
                code = None if self.popen is None else self.popen.returncode
                raise ControlPlaneError(f"{self.name} exited with {code}; {self._log_excerpt()}")
            if ready():
                return
            time.sleep(0.1)
        raise ControlPlaneError(
            f"{self.name}: {what} not ready within {START_TIMEOUT_S:.0f}s; {self._log_excerpt()}"
        )

    def tail(self, lines: int = LOG_TAIL_LINES) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    def _log_excerpt(self) -> str:
        return f"log {self.log}:\n{self.tail()}"


def spawn(name: str, argv: list[str], workdir: Path, started: list[Process]) -> Process:
    """Start a server and record it in started, so that it is stopped even if startup fails."""
    process = Process(name, argv, workdir / f"{name}.log")
    process.start()
    started.append(process)
    return process


def _die_with_parent() -> None:
    """Runs in the child: the kernel sends it SIGTERM if the test process dies."""
    pr_set_pdeathsig = 1
    ctypes.CDLL(None).prctl(pr_set_pdeathsig, signal.SIGTERM)
