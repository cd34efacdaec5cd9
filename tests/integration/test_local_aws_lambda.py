"""The Docker-free Lambda executor, driven through the Lambda API of a running emulator."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from local_aws.lambda_executor import FunctionPackage, LambdaExecutor
from tests.integration.conftest import ClientFactory, zip_files

PYTHON_HANDLER = """
import os, boto3
from greeting import greet

def handler(event, context):
    boto3.client("s3").create_bucket(Bucket=event["bucket"])
    print("created", event["bucket"])
    return {
        "message": greet(os.environ["GREETING"], event["name"]),
        "function": context.function_name,
        "remaining_ok": 0 < context.get_remaining_time_in_millis() <= 10_000,
    }
"""

NODE_HANDLER = """
const { S3 } = require('@aws-sdk/client-s3');
exports.handler = async (event) => {
  const s3 = new S3({});
  await s3.putObject({ Bucket: event.bucket, Key: 'from-node', Body: 'hi' });
  const listed = await s3.listObjectsV2({ Bucket: event.bucket });
  return { keys: (listed.Contents || []).map((o) => o.Key) };
};
"""


def _running(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _create(
    aws: ClientFactory, role_arn: str, name: str, runtime: str, files: dict[str, str], **extra: Any
) -> None:
    aws("lambda").create_function(
        FunctionName=name,
        Runtime=runtime,
        Role=role_arn,
        Handler=extra.pop("Handler", "app.handler"),
        Code={"ZipFile": zip_files(files)},
        **extra,
    )


def _invoke(aws: ClientFactory, name: str, event: Any) -> tuple[Any, str | None]:
    response = aws("lambda").invoke(FunctionName=name, Payload=json.dumps(event).encode())
    return json.loads(response["Payload"].read()), response.get("FunctionError")


def test_python_function_runs_with_its_layer_environment_and_the_emulator(
    aws: ClientFactory, role_arn: str
) -> None:
    layer = aws("lambda").publish_layer_version(
        LayerName="greeting",
        Content={"ZipFile": zip_files({"python/greeting.py": "def greet(g, n):\n    return f'{g}, {n}!'\n"})},
    )["LayerVersionArn"]
    _create(
        aws,
        role_arn,
        "py-greeter",
        "python3.13",
        {"app.py": PYTHON_HANDLER},
        Layers=[layer],
        Timeout=10,
        Environment={"Variables": {"GREETING": "hello"}},
    )

    result, error = _invoke(aws, "py-greeter", {"name": "Ada", "bucket": "made-by-python"})

    assert error is None
    assert result == {"message": "hello, Ada!", "function": "py-greeter", "remaining_ok": True}
    # The function's own AWS call reached the emulator.
    assert "made-by-python" in [b["Name"] for b in aws("s3").list_buckets()["Buckets"]]


def test_node_function_uses_the_sdk_with_virtual_hosted_s3_names(aws: ClientFactory, role_arn: str) -> None:
    aws("s3").create_bucket(Bucket="node-bucket")
    _create(
        aws,
        role_arn,
        "node-fn",
        "nodejs22.x",
        {"index.js": NODE_HANDLER},
        Handler="index.handler",
        Timeout=10,
    )

    result, error = _invoke(aws, "node-fn", {"bucket": "node-bucket"})

    assert error is None
    assert result == {"keys": ["from-node"]}


def test_a_raising_handler_reports_lambdas_error_shape_and_keeps_its_log(
    aws: ClientFactory, role_arn: str
) -> None:
    _create(
        aws,
        role_arn,
        "py-raises",
        "python3.13",
        {"app.py": "def handler(e, c):\n    raise KeyError('boom')\n"},
    )

    response = aws("lambda").invoke(FunctionName="py-raises", Payload=b"{}", LogType="Tail")
    body = json.loads(response["Payload"].read())

    assert response["FunctionError"] == "Unhandled"
    assert body["errorType"] == "KeyError"
    assert "boom" in body["errorMessage"]
    assert body["requestId"]


def test_a_hung_handler_is_stopped_at_its_timeout_with_anything_it_started(tmp_path: Path) -> None:
    # The executor on its own, with a short start-up grace, so the test takes a second.
    executor = LambdaExecutor(endpoint="http://localhost:9", port=9, workdir=tmp_path, startup_grace_s=0.5)
    code = (
        "import pathlib, subprocess, time\n"
        "def handler(event, context):\n"
        "    child = subprocess.Popen(['sleep', '600'])\n"
        "    pathlib.Path(event['pidfile']).write_text(str(child.pid))\n"
        "    time.sleep(600)\n"
    )
    package = FunctionPackage(
        name="hangs",
        arn="arn:aws:lambda:us-east-1:123456789012:function:hangs",
        runtime="python3.13",
        handler="app.handler",
        code_sha256="hangs",
        code_zip=zip_files({"app.py": code}),
        timeout_s=0.5,
    )

    started = time.monotonic()
    pidfile = tmp_path / "child.pid"
    invocation = executor.invoke(package, json.dumps({"pidfile": str(pidfile)}))

    assert invocation.function_error == "Unhandled"
    assert json.loads(invocation.payload)["errorType"] == "Sandbox.Timedout"
    assert time.monotonic() - started < 10
    child = int(pidfile.read_text())
    assert not _running(child), "the handler's child process outlived the timeout"


def test_an_unsupported_runtime_fails_the_invocation_not_the_server(
    aws: ClientFactory, role_arn: str
) -> None:
    _create(aws, role_arn, "java-fn", "java21", {"App.class": ""}, Handler="App::handle")

    body, error = _invoke(aws, "java-fn", {})

    assert error == "Unhandled"
    assert "java21" in body["errorMessage"]


@pytest.mark.parametrize("runtime", ["python3.13", "nodejs22.x"])
def test_a_missing_handler_names_the_module(aws: ClientFactory, role_arn: str, runtime: str) -> None:
    name = f"missing-{runtime.replace('.', '-')}"
    files = {"other.py": ""} if runtime.startswith("python") else {"other.js": ""}
    _create(aws, role_arn, name, runtime, files, Handler="absent.handler")

    body, error = _invoke(aws, name, {})

    assert error == "Unhandled"
    assert "absent" in json.dumps(body)
