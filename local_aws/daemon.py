"""`up` / `down`: the emulator as a background process, found again through a state file.

`up` starts `python -m local_aws serve` in its own session (so it outlives the shell command and a
timeout can end it together with any Lambda it is running), waits until it answers its health
check, and fails with the tail of its log if it dies first. The serve process writes the state file
itself once it listens, so a port chosen by the OS is never guessed.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path

from local_aws import settings


class EmulatorError(RuntimeError):
    """The background emulator could not be started, found or stopped; the message says why."""


@dataclass(frozen=True)
class EmulatorState:
    pid: int
    port: int
    endpoint: str
    log: str

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        staging = path.with_suffix(".tmp")
        staging.write_text(json.dumps(asdict(self), indent=2) + "\n")
        staging.replace(path)


def read_state(path: Path | None = None) -> EmulatorState | None:
    path = path or settings.state_file()
    try:
        return EmulatorState(**json.loads(path.read_text()))
    except (OSError, ValueError, TypeError):
        return None


def healthy(endpoint: str, timeout_s: float = 1.0) -> bool:
    try:
        with urllib.request.urlopen(f"{endpoint}{settings.HEALTH_PATH}", timeout=timeout_s) as response:
            return bool(response.status == 200)
    except (OSError, urllib.error.URLError):
        return False


def _is_our_process(pid: int) -> bool:
    """True if `pid` is alive and is a `local_aws serve` process (a reused pid is left alone)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
    except OSError:
        try:
            os.kill(pid, 0)
        except OSError:
            return False
        return True  # no /proc (macOS): trust the state file
    return b"local_aws" in cmdline and b"serve" in cmdline


def running() -> EmulatorState | None:
    state = read_state()
    if state and _is_our_process(state.pid) and healthy(state.endpoint):
        return state
    return None


def _log_tail(path: Path, lines: int = 25) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def start(port: int = 0, timeout_s: float = 30.0) -> tuple[EmulatorState, bool]:
    """Start the background emulator; returns (state, started_now). Reuses one that already runs."""
    existing = running()
    if existing:
        if port and existing.port != port:
            raise EmulatorError(
                f"An emulator already runs on port {existing.port} (pid {existing.pid}); "
                "stop it with `make local-down` first."
            )
        return existing, False
    state_path, log_path = settings.state_file(), settings.log_file()
    state_path.unlink(missing_ok=True)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("w", encoding="utf-8") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "local_aws", "serve", "--port", str(port)],
            cwd=settings.PROJECT_ROOT,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise EmulatorError(
                f"The emulator exited with code {process.returncode} while starting. "
                f"Last lines of {log_path}:\n{_log_tail(log_path)}"
            )
        state = read_state(state_path)
        if state and state.pid == process.pid and healthy(state.endpoint):
            return state, True
        time.sleep(0.1)
    _terminate(process.pid, timeout_s=5)
    raise EmulatorError(
        f"The emulator did not answer within {timeout_s:.0f}s and was stopped. "
        f"Last lines of {log_path}:\n{_log_tail(log_path)}"
    )


def stop(timeout_s: float = 10.0) -> EmulatorState | None:
    """Stop the background emulator; returns its state, or None when none was running."""
    state = read_state()
    if state is None:
        return None
    if _is_our_process(state.pid):
        _terminate(state.pid, timeout_s=timeout_s)
    settings.state_file().unlink(missing_ok=True)
    return state


def _alive(pid: int) -> bool:
    """Running (an exited process waiting to be reaped counts as gone)."""
    try:
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False
    except ChildProcessError:
        pass  # started by an earlier `up`, so not our child
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return fields[0] != "Z"
    except (OSError, IndexError):
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _terminate(pid: int, *, timeout_s: float) -> None:
    """SIGTERM, then SIGKILL to the process group (it leads one: it was started in a new session)."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not _alive(pid):
            return
        time.sleep(0.1)
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        return
