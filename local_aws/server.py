"""The emulator: moto's server app, patched, plus two routes of its own, served from a thread.

Usable in-process (tests use it as a fixture) or from the background process that `python -m
local_aws up` starts. One emulator per process: moto's backends are process-global.
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from moto.awslambda.models import lambda_backends
from moto.core.exceptions import JsonRESTError
from moto.moto_api._internal.models import moto_api_backend
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from werkzeug.serving import BaseWSGIServer, make_server

from local_aws import custom_resources, moto_patches, settings
from local_aws.custom_resources import RESPONSE_PATH, CustomResourceRuntime, ResponseInbox
from local_aws.lambda_executor import LambdaExecutor
from local_aws.mantle import app as mantle_app
from local_aws.mantle.grader import EmulatorGrader
from local_aws.mantle.service import MantleService
from local_aws.moto_patches.bedrock_deployments import complete_job

log = logging.getLogger("local_aws")

LOOPBACK = "127.0.0.1"
SERVICE_TOKEN_EXTRA_CAP_S = 20.0

StartResponse = Callable[[str, list[tuple[str, str]]], Any]

_active_lock = threading.Lock()
_active: Emulator | None = None


class LocalRoutes:
    """Answers the emulator's own paths and hands every other request to moto."""

    def __init__(
        self, moto_app: Any, inbox: ResponseInbox, mantle: mantle_app.MantleApp | None = None
    ) -> None:
        self.moto_app = moto_app
        self.inbox = inbox
        self.mantle = mantle

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == settings.HEALTH_PATH:
            return _reply(start_response, "200 OK", {"status": "ok"})
        if path == settings.COMPLETE_JOB_PATH and environ.get("REQUEST_METHOD") == "POST":
            return self._complete_job(environ, start_response)
        if path.startswith(RESPONSE_PATH):
            token = path[len(RESPONSE_PATH) :]
            length = int(environ.get("CONTENT_LENGTH") or 0)
            self.inbox.deliver(token, environ["wsgi.input"].read(length) if length else b"")
            return _reply(start_response, "200 OK", {})
        if self.mantle is not None and mantle_app.handles(path):
            return self.mantle(environ, start_response)
        return self.moto_app(environ, start_response)  # type: ignore[no-any-return]

    @staticmethod
    def _complete_job(environ: dict[str, Any], start_response: StartResponse) -> list[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        try:
            request = json.loads(environ["wsgi.input"].read(length) or b"{}")
            job = complete_job(settings.ACCOUNT_ID, settings.REGION, str(request.get("jobIdentifier", "")))
        except JsonRESTError as error:
            return _reply(
                start_response, f"{error.code} Error", {"error": error.error_type, "message": error.message}
            )
        except ValueError as error:
            return _reply(
                start_response, "400 Bad Request", {"error": "ValidationException", "message": str(error)}
            )
        return _reply(start_response, "200 OK", json.loads(json.dumps(job, default=str)))


def _reply(start_response: StartResponse, status: str, body: dict[str, Any]) -> list[bytes]:
    data = json.dumps(body).encode()
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
    return [data]


class Emulator:
    """AWS on a loopback port: `with Emulator() as aws: ... aws.endpoint ...`."""

    def __init__(self, port: int = 0, *, workdir: Path | None = None) -> None:
        self.requested_port = port
        self._own_workdir = workdir is None
        self.workdir = workdir or Path(tempfile.mkdtemp(prefix="local_aws-"))
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self._executor: LambdaExecutor | None = None
        self._started = False
        self.port = 0
        # Bedrock's OpenAI-compatible fine-tuning API (local_aws/mantle), on the same port.
        self.mantle = MantleService(EmulatorGrader())

    @property
    def endpoint(self) -> str:
        # `localhost`, not 127.0.0.1: moto reads the host of an S3 URL as a bucket name when it is an IP.
        return f"http://localhost:{self.port}"

    def start(self) -> Emulator:
        global _active
        with _active_lock:
            if _active is not None:
                raise RuntimeError(f"A local_aws emulator already runs in this process at {_active.endpoint}")
            _active = self
        self._started = True
        try:
            moto_patches.apply()
            moto_api_backend.reset()
            inbox = ResponseInbox()
            self.mantle = MantleService(EmulatorGrader())
            app = LocalRoutes(
                DomainDispatcherApplication(create_backend_app), inbox, mantle_app.MantleApp(self.mantle)
            )
            self._server = make_server(
                LOOPBACK, self.requested_port, app, threaded=True, request_handler=MotoRequestHandler
            )
            self.port = self._server.server_port
            self.workdir.mkdir(parents=True, exist_ok=True)
            self._executor = LambdaExecutor(endpoint=self.endpoint, port=self.port, workdir=self.workdir)
            moto_patches.install(moto_patches.PatchRuntime(executor=self._executor, endpoint=self.endpoint))
            custom_resources.install_runtime(
                CustomResourceRuntime(endpoint=self.endpoint, inbox=inbox, invoke=_invoke_service_token)
            )
            server = self._server
            self._thread = threading.Thread(
                target=lambda: server.serve_forever(poll_interval=0.05), name="local_aws", daemon=True
            )
            self._thread.start()
        except BaseException:
            self.stop()
            raise
        log.info("local_aws emulator listening on %s", self.endpoint)
        return self

    def stop(self) -> None:
        """Stop serving and put moto back as it was (no-op unless started)."""
        global _active
        if not self._started:
            return
        self._started = False
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        if self._executor is not None:
            self._executor.close()
            self._executor = None
        moto_patches.install(None)
        custom_resources.install_runtime(None)
        moto_api_backend.reset()
        moto_patches.restore()
        if self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)
        with _active_lock:
            if _active is self:
                _active = None

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _invoke_service_token(account_id: str, region: str, service_token: str, event_json: str) -> str:
    """Run a custom resource's function synchronously; describe its failure, if any, in one line."""
    try:
        fn = lambda_backends[account_id][region].get_function(service_token)
    except Exception:
        return f"its ServiceToken function {service_token} does not exist"
    # The framework function waits for the handler it invokes: give it more time than any handler.
    invocation = moto_patches.run_function(fn, event_json, extra_cap_s=SERVICE_TOKEN_EXTRA_CAP_S)
    return invocation.error_message
