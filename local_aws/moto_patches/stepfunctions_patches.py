"""Step Functions in moto: state machines that CloudFormation creates actually run, against the emulator.

moto 5.2.5 can execute Amazon States Language (`moto.stepfunctions.parser`, from LocalStack) when its
config says `{"stepfunctions": {"execute_state_machine": True}}`; stock moto only records executions.
With that switched on, four gaps remain for a CDK-built workflow:

- CloudFormation creates, updates and deletes `AWS::StepFunctions::StateMachine` in the *recording*
  backend, so the API (which then serves the executing backend) cannot see the stack's state machine.
  `StateMachineType`, `LoggingConfiguration`, `TracingConfiguration` and a `Definition` object are
  dropped as well.
- Task states call AWS through `boto_client_for`, which dials `localhost:$MOTO_PORT` (5000) unless it
  runs under `mock_aws`: LambdaInvoke and SnsPublish reached nothing. They now call this emulator, so a
  LambdaInvoke runs the function's real code in the Docker-free executor.
- Wait states and Retry back-off sleep for real: a workflow that polls every 60 s waits 60 s. Both are
  capped at `settings.SFN_WAIT_CAP_S` (an emulator setting, `LOCAL_AWS_SFN_WAIT_CAP_S`, default 1 s),
  never by product configuration; the definition keeps its real values.
- An execution started without a name is named `None` (its ARN ends `:None`, and a second one is
  refused as a duplicate); Step Functions names it with a UUID, and so does this.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import time
import types
import uuid
from typing import Any

import boto3
from botocore.client import BaseClient
from botocore.config import Config
from moto.core.config import default_user_config
from moto.stepfunctions import models as sfn_models
from moto.stepfunctions import parser as sfn_parser
from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import WaitFunction
from moto.stepfunctions.parser.asl.eval.environment import Environment
from moto.stepfunctions.parser.asl.utils import boto_client
from moto.stepfunctions.parser.models import StepFunctionsParserBackend
from moto.stepfunctions.responses import get_backend

from local_aws import settings
from local_aws.moto_patches.registry import replace

_endpoint: str | None = None
MAX_NAME = 80  # Step Functions' limit on a state machine's name


def install(endpoint: str | None) -> None:
    """Where task states send their AWS calls: the running emulator (None: no emulator)."""
    global _endpoint
    _endpoint = endpoint


def _boto_client_for(region: str, service: str, state_credentials: Any = None) -> BaseClient:
    """The parser's client factory, pointed at this emulator with its test credentials."""
    if _endpoint is None:
        raise RuntimeError("local_aws: a state machine task ran while no emulator is running")
    return boto3.client(
        service_name=service,
        region_name=region,
        endpoint_url=_endpoint,
        aws_access_key_id=settings.ACCESS_KEY_ID,
        aws_secret_access_key=settings.SECRET_ACCESS_KEY,
        config=Config(
            parameter_validation=False,
            retries={"max_attempts": 0, "total_max_attempts": 1},
            connect_timeout=60,
            read_timeout=settings.LAMBDA_TIMEOUT_CAP_S + 60,
        ),
    )


def _capped(seconds: float) -> float:
    return max(0.0, min(float(seconds), settings.SFN_WAIT_CAP_S))


def _wait_body(self: WaitFunction, env: Environment) -> None:
    """A Wait state, shortened: wait at most the cap (moto's own loop re-waits whole seconds)."""
    seconds = _capped(self._get_wait_seconds(env=env))
    if seconds > 0:
        env.program_state_event.wait(seconds)


# Retry back-off: `retrier_decl` calls `time.sleep(interval)`; give it a `time` whose sleep is capped.
_capped_time = types.SimpleNamespace(
    **{name: getattr(time, name) for name in dir(time) if not name.startswith("__")}
)
_capped_time.sleep = lambda seconds: time.sleep(_capped(seconds))


def _definition(properties: dict[str, Any]) -> str:
    """DefinitionString as CDK writes it, or a Definition object (both are valid in a template)."""
    if properties.get("DefinitionString"):
        return str(properties["DefinitionString"])
    definition = properties.get("Definition")
    return json.dumps(definition) if definition else ""


def _create(
    cls: type, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kw: Any
) -> Any:
    properties = cloudformation_json["Properties"]
    name = properties.get("StateMachineName") or resource_name
    if len(name) > MAX_NAME and "StateMachineName" not in properties:  # CloudFormation's names fit the limit
        name = f"{name[: MAX_NAME - 13]}-{name[-12:]}"
    return get_backend(account_id, region_name).create_state_machine(
        name,
        _definition(properties),
        properties.get("RoleArn", ""),
        tags=sfn_models.cfn_to_api_tags(properties.get("Tags", [])),
        loggingConfiguration=properties.get("LoggingConfiguration"),
        tracingConfiguration=properties.get("TracingConfiguration"),
        sm_type=properties.get("StateMachineType", "STANDARD"),
    )


def _delete(
    cls: type, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
) -> None:
    get_backend(account_id, region_name).delete_state_machine(resource_name)


# moto passes these by keyword: the parameter names must stay moto's.
def _update(
    cls: type,
    original_resource: Any,
    new_resource_name: str,
    cloudformation_json: Any,
    account_id: str,
    region_name: str,
) -> Any:
    properties = cloudformation_json.get("Properties", {})
    name = properties.get("StateMachineName", original_resource.name)
    if name != original_resource.name:  # a new name replaces the state machine
        replacement = _create(cls, name, cloudformation_json, account_id, region_name)
        _delete(cls, original_resource.arn, cloudformation_json, account_id, region_name)
        return replacement
    backend = get_backend(account_id, region_name)
    state_machine = backend.update_state_machine(
        original_resource.arn,
        definition=_definition(properties) or None,
        role_arn=properties.get("RoleArn"),
        logging_configuration=properties.get("LoggingConfiguration"),
        tracing_configuration=properties.get("TracingConfiguration"),
    )
    backend.tagger.tag_resource(state_machine.arn, sfn_models.cfn_to_api_tags(properties.get("Tags", [])))
    return state_machine


def _modules_using_boto_client() -> list[types.ModuleType]:
    """Every parser module that imported `boto_client_for` by name (the tasks' service integrations)."""
    found = []
    for info in pkgutil.walk_packages(sfn_parser.__path__, prefix=f"{sfn_parser.__name__}."):
        try:
            module = importlib.import_module(info.name)
        except Exception:  # optional integrations may need packages the emulator does not have
            continue
        if getattr(module, "boto_client_for", None) is boto_client.boto_client_for:
            found.append(module)
    return found


_config_before: dict[str, Any] | None = None


def enable_execution() -> None:
    """moto's own switch: the API serves the backend that executes state machines."""
    global _config_before
    _config_before = dict(default_user_config.get("stepfunctions", {}))
    default_user_config["stepfunctions"] = {**_config_before, "execute_state_machine": True}


def disable_execution() -> None:
    global _config_before
    if _config_before is not None:
        default_user_config["stepfunctions"] = _config_before
        _config_before = None


def patch() -> None:
    enable_execution()
    original_start = StepFunctionsParserBackend.start_execution

    def start_execution(self: Any, state_machine_arn: str, name: Any = None, *args: Any, **kw: Any) -> Any:
        return original_start(self, state_machine_arn, name or str(uuid.uuid4()), *args, **kw)

    replace(StepFunctionsParserBackend, "start_execution", start_execution)
    for module in [boto_client, *_modules_using_boto_client()]:
        replace(module, "boto_client_for", _boto_client_for)
    replace(WaitFunction, "_eval_body", _wait_body)
    replace(retrier_decl, "time", _capped_time)
    replace(sfn_models.StateMachine, "create_from_cloudformation_json", classmethod(_create))
    replace(sfn_models.StateMachine, "delete_from_cloudformation_json", classmethod(_delete))
    replace(sfn_models.StateMachine, "update_from_cloudformation_json", classmethod(_update))
