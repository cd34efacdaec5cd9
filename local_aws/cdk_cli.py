"""Runs the project's pinned CDK CLI (`npx --no-install cdk`) against the emulator.

The demo deploys with `--method=direct --no-previous-parameters` (CreateStack/UpdateStack with every
parameter given explicitly: the fewest API calls, so the shortest demo). The CLI's default method,
change sets, works as well; tests/integration deploys two stacks side by side with it.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from local_aws import client_env, settings

DEPLOY_FLAGS = (
    "--method=direct",
    "--no-previous-parameters",
    "--require-approval=never",
    "--progress=events",
)
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_FAILURE_MARKERS = (
    "❌",
    "failed",
    "Error",
    "ERROR",
    "error:",
    "FAILED",
    "Acknowledge with",
    "finished with errors",
)
# Noise from the machine's npm configuration or Node's version banner, never the reason for a failure.
_NOISE = ("npm warn", "!!", "b'!!")


@dataclass(frozen=True)
class CdkResult:
    args: tuple[str, ...]
    returncode: int
    output: str
    seconds: float

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def failure_reason(self, limit: int = 12) -> str:
        """The CLI's own error lines (deduplicated), or the tail of its output when it printed none."""
        lines = [line.strip() for line in self.output.splitlines() if line.strip()]
        lines = [line for line in lines if not line.startswith(_NOISE)]
        picked: list[str] = []
        for line in lines:
            if any(marker in line for marker in _FAILURE_MARKERS) and line not in picked:
                picked.append(line)
        return "\n".join((picked or lines)[-limit:]) or f"cdk exited with code {self.returncode}"


class CdkCli:
    """One CDK app (project folder, optional `--app`) deployed to one emulator."""

    def __init__(
        self,
        *,
        endpoint: str,
        project_dir: Path = settings.PROJECT_ROOT,
        app: str | None = None,
        output_dir: Path | None = None,
        cdk_home: Path | None = None,
        log_path: Path | None = None,
        timeout_s: float = 600.0,
    ) -> None:
        self.project_dir = project_dir
        self.app = app
        self.output_dir = output_dir
        self.log_path = log_path
        self.timeout_s = timeout_s
        self.env = client_env.apply(os.environ, endpoint, cdk_home=cdk_home)
        self.env.update({"FORCE_COLOR": "0", "NO_COLOR": "1", "CI": "true"})

    def run(
        self,
        *args: str,
        context: Mapping[str, str] | None = None,
        app: str | None = None,
        without_app: bool = False,
    ) -> CdkResult:
        command = ["npx", "--no-install", "cdk", *args]
        chosen_app = None if without_app else app or self.app
        cwd = self.project_dir
        if without_app:
            # Inside the project (npx finds its node_modules) but away from cdk.json (nothing to synth).
            cwd = settings.PROJECT_ROOT / "build" / "local_aws" / "no-app"
            cwd.mkdir(parents=True, exist_ok=True)
        elif chosen_app:
            command += ["--app", chosen_app]
        if (
            self.output_dir
            and not without_app
            and "--output" not in args
            and not (chosen_app and Path(chosen_app).is_dir())
        ):
            command += ["--output", str(self.output_dir)]
        for key, value in (context or {}).items():
            command += ["--context", f"{key}={value}"]
        started = time.monotonic()
        try:
            process = subprocess.Popen(
                command,
                cwd=cwd,
                env=self.env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        except OSError as error:
            message = f"error: could not run the CDK CLI ({error}); install Node.js, then run `npm ci`"
            return CdkResult(tuple(args), 127, message, time.monotonic() - started)
        try:
            raw, _ = process.communicate(timeout=self.timeout_s)
            returncode = process.returncode
        except subprocess.TimeoutExpired:
            _kill_group(process)
            raw, _ = process.communicate()
            returncode = -1
            raw += f"\nerror: cdk {' '.join(args)} timed out after {self.timeout_s:.0f}s and was stopped\n".encode()
        except BaseException:  # Ctrl-C: the CLI runs in its own session and would not see it
            _kill_group(process)
            raise
        output = _ANSI.sub("", raw.decode(errors="replace"))
        result = CdkResult(tuple(args), returncode, output, time.monotonic() - started)
        self._log(command, result)
        return result

    def bootstrap(self, region: str = settings.REGION) -> CdkResult:
        """`cdk bootstrap aws://ACCOUNT/REGION`, run where there is no cdk.json: given an environment,
        the CLI still synthesizes the app first when it finds one, which costs ~10 s for nothing."""
        return self.run("bootstrap", f"aws://{settings.ACCOUNT_ID}/{region}", without_app=True)

    def deploy(
        self, stack: str, *, context: Mapping[str, str] | None = None, app: str | None = None
    ) -> CdkResult:
        return self.run("deploy", stack, *DEPLOY_FLAGS, context=context, app=app)

    def diff(
        self, stack: str, *, context: Mapping[str, str] | None = None, app: str | None = None
    ) -> CdkResult:
        return self.run("diff", stack, context=context, app=app)

    def destroy(self, stack: str, *, app: str | None = None) -> CdkResult:
        return self.run("destroy", stack, "--force", app=app)

    def synth(self, stack: str, *, output_dir: Path, context: Mapping[str, str] | None = None) -> CdkResult:
        return self.run("synth", stack, "--quiet", "--output", str(output_dir), context=context)

    def _log(self, command: Sequence[str], result: CdkResult) -> None:
        if self.log_path is None:
            return
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("a", encoding="utf-8") as log:
            log.write(
                f"\n$ {' '.join(command)}\n{result.output}\n[exit {result.returncode}, {result.seconds:.1f}s]\n"
            )


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
