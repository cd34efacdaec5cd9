"""Runs Lambda functions as local subprocesses: the Docker-free executor behind the emulator.

moto can store functions but, without Docker, only returns canned replies when they are invoked.
This module runs the real code instead: Python runtimes with the project's own interpreter, Node.js
runtimes with `node` and the AWS SDK from the project's node_modules (the managed Node runtimes ship
the SDK too). Layers are unzipped beside the code and put on the module search path the way `/opt`
is on Lambda (`python/` for Python, `nodejs/node_modules` for Node). Every process gets the
emulator's endpoint and test credentials, so the code's own AWS calls land on the emulator.

The executor knows nothing about moto: callers hand it a `FunctionPackage` and get an `Invocation`,
which keeps it testable on its own and reusable by anything else that needs "run this zip".
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from local_aws import settings

log = logging.getLogger("local_aws.lambda")


class UnsupportedRuntimeError(ValueError):
    """The function's runtime has no local equivalent (container images, custom runtimes)."""


@dataclass(frozen=True)
class LayerArchive:
    arn: str
    sha256: str
    zip_bytes: bytes


@dataclass(frozen=True)
class FunctionPackage:
    """Everything needed to run one function version locally."""

    name: str
    arn: str
    runtime: str
    handler: str
    code_sha256: str
    code_zip: bytes
    layers: tuple[LayerArchive, ...] = ()
    environment: Mapping[str, str] = field(default_factory=dict)
    timeout_s: float = 3.0
    memory_mb: int = 128
    log_group: str = ""


@dataclass(frozen=True)
class Invocation:
    """The outcome of one invocation, in the shape the Lambda Invoke API reports it."""

    payload: bytes
    function_error: str | None  # "Unhandled" when the function failed, like X-Amz-Function-Error
    logs: str
    request_id: str
    seconds: float

    @property
    def error_message(self) -> str:
        if not self.function_error:
            return ""
        try:
            body = json.loads(self.payload)
        except ValueError:
            return self.payload.decode(errors="replace")
        return f"{body.get('errorType', 'Error')}: {body.get('errorMessage', '')}"


def function_region(arn: str) -> str:
    """The region in a function ARN (`arn:aws:lambda:<region>:...`), else the emulator's default."""
    parts = arn.split(":")
    return parts[3] if len(parts) > 3 and parts[3] else settings.REGION


def runtime_family(runtime: str) -> str:
    if runtime.startswith("python"):
        return "python"
    if runtime.startswith("nodejs"):
        return "node"
    raise UnsupportedRuntimeError(
        f"Runtime '{runtime}' cannot run locally; local_aws runs python* and nodejs* zip functions only."
    )


class LambdaExecutor:
    """Unzips function code once per code hash and runs each invocation in a fresh process."""

    def __init__(
        self,
        *,
        endpoint: str,
        port: int,
        workdir: Path,
        python: str = sys.executable,
        node: str = "node",
        node_modules: Path = settings.NODE_MODULES,
        timeout_cap_s: float = settings.LAMBDA_TIMEOUT_CAP_S,
        startup_grace_s: float = settings.LAMBDA_STARTUP_GRACE_S,
    ) -> None:
        self.endpoint = endpoint
        self.port = port
        self.workdir = workdir
        self.python = python
        self.node = node
        self.node_modules = node_modules
        self.timeout_cap_s = timeout_cap_s
        self.startup_grace_s = startup_grace_s
        self._unzip_lock = threading.Lock()
        self._live: set[subprocess.Popen[bytes]] = set()
        self._live_lock = threading.Lock()

    # -- public --------------------------------------------------------------------------------------
    def invoke(
        self,
        package: FunctionPackage,
        event_json: str,
        request_id: str | None = None,
        *,
        extra_cap_s: float = 0.0,
    ) -> Invocation:
        """Run one invocation. `extra_cap_s` raises the time cap for a function that waits on another
        (a custom-resource framework invoking its handler), so the inner timeout is the one reported."""
        request_id = request_id or str(uuid.uuid4())
        started = time.monotonic()
        try:
            family = runtime_family(package.runtime)
            code_dir = self._unpack("code", package.code_sha256, package.code_zip)
            layer_dirs = [self._unpack("layers", layer.sha256, layer.zip_bytes) for layer in package.layers]
        except (UnsupportedRuntimeError, zipfile.BadZipFile) as error:
            return self._failure(request_id, "Runtime.InvalidEntrypoint", str(error), "", started)

        timeout_s = min(float(package.timeout_s), self.timeout_cap_s + extra_cap_s)
        env = self._environment(package, family, code_dir, layer_dirs, request_id, timeout_s)
        with tempfile.NamedTemporaryFile(
            "w+", suffix=".json", dir=self._dir("results"), delete=False
        ) as result_file:
            result_path = Path(result_file.name)
        try:
            command = self._command(family, package.handler, result_path)
            try:
                returncode, logs, timed_out = self._run(command, event_json, env, code_dir, timeout_s)
            except OSError as error:
                return self._failure(
                    request_id, "Runtime.Unavailable", f"could not start {command[0]}: {error}", "", started
                )
            if timed_out:
                return self._failure(
                    request_id,
                    "Sandbox.Timedout",
                    f"Task timed out after {timeout_s:.2f} seconds",
                    logs,
                    started,
                )
            text = result_path.read_text(encoding="utf-8")
            if not text:
                return self._failure(
                    request_id,
                    "Runtime.ExitError",
                    f"RequestId: {request_id} Error: Runtime exited with error: exit status {returncode}",
                    logs,
                    started,
                )
            outcome = json.loads(text)
        finally:
            result_path.unlink(missing_ok=True)

        seconds = time.monotonic() - started
        if outcome.get("ok"):
            return Invocation(outcome["value"].encode(), None, logs, request_id, seconds)
        error = {**outcome["error"], "requestId": request_id}
        return Invocation(json.dumps(error).encode(), "Unhandled", logs, request_id, seconds)

    # -- internals -----------------------------------------------------------------------------------
    def _dir(self, name: str) -> Path:
        path = self.workdir / name
        path.mkdir(parents=True, exist_ok=True)
        return path

    def _unpack(self, kind: str, sha256: str, zip_bytes: bytes) -> Path:
        """Extract a zip once per content hash; later invocations reuse the folder."""
        key = "".join(ch for ch in sha256 if ch.isalnum())[:64] or uuid.uuid4().hex
        target = self._dir(kind) / key
        with self._unzip_lock:
            if not target.exists():
                staging = target.with_name(f"{key}.partial")
                with zipfile.ZipFile(io.BytesIO(zip_bytes)) as archive:
                    archive.extractall(staging)
                staging.rename(target)
        return target

    def _environment(
        self,
        package: FunctionPackage,
        family: str,
        code_dir: Path,
        layer_dirs: list[Path],
        request_id: str,
        timeout_s: float,
    ) -> dict[str, str]:
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self._dir("home")),
            "LANG": "C.UTF-8",
            "TZ": "UTC",
            **{key: str(value) for key, value in package.environment.items()},
        }
        # Reserved variables: the function's own environment cannot override these on Lambda either.
        env.update(
            {
                "AWS_ENDPOINT_URL": self.endpoint,
                # Bedrock's OpenAI-compatible API (local_aws/mantle) is served on the same port.
                "AWS_ENDPOINT_URL_BEDROCK_MANTLE": self.endpoint,
                "AWS_ACCESS_KEY_ID": settings.ACCESS_KEY_ID,
                "AWS_SECRET_ACCESS_KEY": settings.SECRET_ACCESS_KEY,
                # The function's own region (a us-west-2 stack's functions run in us-west-2), as on Lambda.
                "AWS_REGION": function_region(package.arn),
                "AWS_DEFAULT_REGION": function_region(package.arn),
                "AWS_EC2_METADATA_DISABLED": "true",
                "AWS_LAMBDA_FUNCTION_NAME": package.name,
                "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(package.memory_mb),
                "AWS_LAMBDA_LOG_GROUP_NAME": package.log_group or f"/aws/lambda/{package.name}",
                "AWS_LAMBDA_LOG_STREAM_NAME": f"local/{request_id}",
                "AWS_EXECUTION_ENV": f"AWS_Lambda_{package.runtime}",
                "LAMBDA_TASK_ROOT": str(code_dir),
                "_HANDLER": package.handler,
                "LOCAL_AWS_FUNCTION_ARN": package.arn,
                "LOCAL_AWS_REQUEST_ID": request_id,
                "LOCAL_AWS_TIMEOUT_S": str(timeout_s),
                "LOCAL_AWS_PORT": str(self.port),
            }
        )
        if family == "python":
            paths = [str(code_dir)]
            for layer in layer_dirs:
                paths += [str(p) for p in sorted((layer / "python" / "lib").glob("python3*/site-packages"))]
                paths.append(str(layer / "python"))
            env["PYTHONPATH"] = os.pathsep.join(paths)
            env["PYTHONUNBUFFERED"] = "1"
            env["PYTHONDONTWRITEBYTECODE"] = "1"
        else:
            paths = [str(layer / "nodejs" / "node_modules") for layer in layer_dirs]
            paths.append(str(self.node_modules))
            env["NODE_PATH"] = os.pathsep.join(paths)
            env["AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED"] = "true"
        return env

    def _command(self, family: str, handler: str, result_path: Path) -> list[str]:
        if family == "python":
            return [
                self.python,
                str(settings.RUNTIMES_DIR / "python_bootstrap.py"),
                handler,
                str(result_path),
            ]
        return [
            self.node,
            "--require",
            str(settings.NODE_PRELOAD),
            str(settings.RUNTIMES_DIR / "node_bootstrap.js"),
            handler,
            str(result_path),
        ]

    def _run(
        self, command: list[str], event_json: str, env: dict[str, str], cwd: Path, timeout_s: float
    ) -> tuple[int, str, bool]:
        """Run in its own process group, so a timeout kills the handler and anything it started."""
        process = subprocess.Popen(
            command,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=cwd,
            start_new_session=True,
        )
        with self._live_lock:
            self._live.add(process)
        try:
            output, _ = process.communicate(event_json.encode(), timeout=timeout_s + self.startup_grace_s)
        except subprocess.TimeoutExpired:
            _kill_group(process)
            output, _ = process.communicate()
            return process.returncode, output.decode(errors="replace"), True
        finally:
            if process.poll() is None:
                _kill_group(process)
            with self._live_lock:
                self._live.discard(process)
        return process.returncode, output.decode(errors="replace"), False

    def close(self) -> None:
        """Stop every invocation still running (the emulator is shutting down)."""
        with self._live_lock:
            running = list(self._live)
        for process in running:
            _kill_group(process)

    @staticmethod
    def _failure(request_id: str, error_type: str, message: str, logs: str, started: float) -> Invocation:
        body = {"errorType": error_type, "errorMessage": message, "requestId": request_id}
        log.warning("%s: %s", error_type, message)
        return Invocation(
            json.dumps(body).encode(), "Unhandled", logs, request_id, time.monotonic() - started
        )


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()
