"""Lambda in moto: run the real code locally, and keep what templates say about layers and logs.

moto without Docker answers invocations with canned replies and drops `Layers`, `Architectures` and
`LoggingConfig` from CloudFormation templates; its layer versions have no physical id (so `Ref`
yields the Python object) and outlive their stack.
"""

from __future__ import annotations

import base64
import logging
import threading
from dataclasses import dataclass
from typing import Any

from moto.awslambda.models import LambdaFunction, LayerVersion, lambda_backends

from local_aws.lambda_executor import FunctionPackage, Invocation, LambdaExecutor, LayerArchive
from local_aws.moto_patches.registry import replace

log = logging.getLogger("local_aws.moto")
lambda_log = logging.getLogger("local_aws.lambda")


@dataclass
class PatchRuntime:
    executor: LambdaExecutor
    endpoint: str = ""  # where state machine tasks send their AWS calls


_runtime: PatchRuntime | None = None


def install(runtime: PatchRuntime | None) -> None:
    """Connect invocations to the running emulator's executor (None: no emulator)."""
    global _runtime
    _runtime = runtime


def function_package(fn: LambdaFunction) -> FunctionPackage:
    backend = lambda_backends[fn.account_id][fn.region]
    layers = []
    for layer in fn.layers:
        version = backend.layers_versions_by_arn(layer["Arn"])
        if version is None:
            raise ValueError(f"Layer {layer['Arn']} of {fn.function_name} no longer exists")
        layers.append(LayerArchive(version.arn, version.code_sha_256, version.code_bytes))
    return FunctionPackage(
        name=fn.function_name,
        arn=fn.function_arn,
        runtime=fn.run_time or "",
        handler=fn.handler or "",
        code_sha256=fn.code_sha_256,
        code_zip=fn.code_bytes,
        layers=tuple(layers),
        environment=dict(fn.environment_vars or {}),
        timeout_s=float(fn.timeout or 3),
        memory_mb=int(fn.memory_size or 128),
        log_group=fn.logs_group_name,
    )


def run_function(fn: LambdaFunction, event_json: str, *, extra_cap_s: float = 0.0) -> Invocation:
    """Invoke `fn` locally, and file its output where Lambda would (its log group) and in our log."""
    if _runtime is None:
        raise RuntimeError("local_aws: Lambda invoked while no emulator is running")
    invocation = _runtime.executor.invoke(function_package(fn), event_json, extra_cap_s=extra_cap_s)
    outcome = f"failed ({invocation.error_message})" if invocation.function_error else "ok"
    lambda_log.info(
        "invoke %s: %s in %.2fs\n%s", fn.function_name, outcome, invocation.seconds, _indent(invocation.logs)
    )
    try:
        fn.logs_backend.ensure_log_group(fn.logs_group_name)
        fn.save_logs(invocation.logs or "(no output)")
    except Exception as error:  # logs are a convenience; never fail the invocation
        log.debug("could not store logs of %s: %s", fn.function_name, error)
    return invocation


def _indent(text: str) -> str:
    lines = text.rstrip().splitlines()[-200:]
    return "\n".join(f"    | {line}" for line in lines) if lines else "    | (no output)"


def _invoke(self: LambdaFunction, body: str, request_headers: Any, response_headers: Any) -> bytes:
    event_json = body if body else "{}"
    if isinstance(event_json, bytes):
        event_json = event_json.decode()
    invocation_type = request_headers.get("x-amz-invocation-type", "RequestResponse")
    if invocation_type == "Event":
        threading.Thread(target=run_function, args=(self, event_json), daemon=True).start()
        return b""
    if invocation_type == "DryRun":
        return b""
    invocation = run_function(self, event_json)
    if invocation.function_error:
        response_headers["x-amz-function-error"] = invocation.function_error
    tail = invocation.logs.encode()[-4096:]
    response_headers["x-amz-log-result"] = base64.b64encode(tail).decode()
    response_headers["x-amz-executed-version"] = "$LATEST"
    return invocation.payload


def _apply_template_extras(fn: LambdaFunction, properties: dict[str, Any]) -> None:
    if properties.get("Layers"):
        fn.layers = fn._get_layers_data(properties["Layers"])
    if properties.get("Architectures"):
        fn.architectures = properties["Architectures"]
    log_group = (properties.get("LoggingConfig") or {}).get("LogGroup")
    if log_group:
        fn.logs_group_name = log_group


def patch() -> None:
    original_create = LambdaFunction.create_from_cloudformation_json.__func__  # type: ignore[attr-defined]
    original_update = LambdaFunction.update_from_cloudformation_json.__func__  # type: ignore[attr-defined]

    def create(
        cls: type,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kw: Any,
    ) -> LambdaFunction:
        fn = original_create(cls, resource_name, cloudformation_json, account_id, region_name, **kw)
        _apply_template_extras(fn, cloudformation_json.get("Properties") or {})
        return fn

    # moto passes these by keyword: the parameter names must stay moto's.
    def update(
        cls: type,
        original_resource: LambdaFunction,
        new_resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
    ) -> LambdaFunction:
        fn = original_update(
            cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name
        )
        _apply_template_extras(fn, cloudformation_json.get("Properties") or {})
        return fn

    replace(LambdaFunction, "create_from_cloudformation_json", classmethod(create))
    replace(LambdaFunction, "update_from_cloudformation_json", classmethod(update))
    replace(LambdaFunction, "invoke", _invoke)

    original_layer_create = LayerVersion.create_from_cloudformation_json.__func__  # type: ignore[attr-defined]

    def create_layer(
        cls: type,
        resource_name: str,
        cloudformation_json: dict[str, Any],
        account_id: str,
        region_name: str,
        **kw: Any,
    ) -> LayerVersion:
        layer = original_layer_create(cls, resource_name, cloudformation_json, account_id, region_name, **kw)
        layer.compatible_architectures = (cloudformation_json.get("Properties") or {}).get(
            "CompatibleArchitectures", []
        )
        return layer

    def delete_layer(self: LayerVersion, account_id: str, region: str) -> None:
        lambda_backends[account_id][region].delete_layer_version(self.name, str(self.version))

    replace(LayerVersion, "create_from_cloudformation_json", classmethod(create_layer))
    replace(LayerVersion, "cloudformation_name_type", staticmethod(lambda: "LayerName"))
    replace(LayerVersion, "physical_resource_id", property(lambda self: self.arn))
    replace(LayerVersion, "delete", delete_layer)
