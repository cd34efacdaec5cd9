"""Bedrock in moto: customization jobs keep their RFT configuration and can be found by ARN.

moto drops `customizationConfig` (so neither the grader nor the hyperparameters of a job can be
checked), prefixes an ARN base model with another ARN, and only finds jobs by name. Real Bedrock
also rejects an RFT job whose grader Lambda or training data does not exist; so does this.

No model runs offline, so bedrock-runtime's Converse (an LLM judge's call) is answered at once with
an error that says so, instead of moto's NotImplementedError traceback in the log.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote

from moto.awslambda.models import lambda_backends
from moto.bedrock import models as bedrock_models
from moto.bedrock.responses import BedrockResponse
from moto.bedrockruntime.responses import BedrockRuntimeResponse
from moto.core.exceptions import JsonRESTError
from moto.s3.models import s3_backends

from local_aws.moto_patches.registry import replace

RFT = "REINFORCEMENT_FINE_TUNING"


def job_name_from_identifier(identifier: str) -> str:
    """Bedrock's jobIdentifier is the job name or its ARN (`...:model-customization-job/<name>`)."""
    identifier = unquote(identifier)
    return (
        identifier.rsplit("model-customization-job/", 1)[-1] if identifier.startswith("arn:") else identifier
    )


class RftValidationError(JsonRESTError):
    """Bedrock's ValidationException with the specific reason (moto's own replaces it with a generic one)."""

    code = 400

    def __init__(self, message: str) -> None:
        super().__init__("ValidationException", message)


def _check_rft_request(params: dict[str, Any], account_id: str, region: str) -> None:
    """What real Bedrock would reject for an RFT job: no grader, a grader or data that does not exist."""
    if params.get("customizationType") != RFT:
        return
    grader = (
        ((params.get("customizationConfig") or {}).get("rftConfig") or {}).get("graderConfig") or {}
    ).get("lambdaGrader") or {}
    arn = grader.get("lambdaArn")
    if not arn:
        raise RftValidationError(
            "customizationConfig.rftConfig.graderConfig.lambdaGrader.lambdaArn is required for "
            f"customizationType {RFT}"
        )
    try:
        lambda_backends[account_id][region].get_function(arn)
    except Exception:
        raise RftValidationError(f"The grader Lambda function {arn} does not exist") from None
    uri = (params.get("trainingDataConfig") or {}).get("s3Uri", "")
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    try:
        found = s3_backends[account_id]["aws"].get_object(bucket, key)
    except Exception:
        found = None
    if found is None:
        raise RftValidationError(f"The training data {uri} does not exist or is not readable")


class ConverseNotServed(JsonRESTError):
    """501: not one of the status codes AWS SDKs retry, so a judge fails fast and says why."""

    code = 501

    def __init__(self, action: str) -> None:
        super().__init__(
            "NotImplementedException",
            f"the local_aws emulator does not serve bedrock-runtime {action}: no model runs offline",
        )


def _not_served(action: str) -> Any:
    def answer(self: BedrockRuntimeResponse) -> str:
        raise ConverseNotServed(action)

    return answer


def patch() -> None:
    replace(BedrockRuntimeResponse, "converse", _not_served("Converse"))
    replace(BedrockRuntimeResponse, "converse_stream", _not_served("ConverseStream"))
    original_create = BedrockResponse.create_model_customization_job

    def create_model_customization_job(self: BedrockResponse) -> str:
        params = json.loads(self.body or "{}")
        backend = self.bedrock_backend
        _check_rft_request(params, backend.account_id, backend.region_name)
        result = original_create(self)
        job = backend.model_customization_jobs[params["jobName"]]
        job.customization_config = params.get("customizationConfig")
        if str(params.get("baseModelIdentifier", "")).startswith("arn:"):
            job.base_model_arn = params["baseModelIdentifier"]  # moto prefixes an ARN with another
        return result

    original_to_dict = bedrock_models.ModelCustomizationJob.to_dict

    def to_dict(self: Any) -> dict[str, Any]:
        result = original_to_dict(self)
        if getattr(self, "customization_config", None):
            result["customizationConfig"] = self.customization_config
        return result

    original_get = bedrock_models.BedrockBackend.get_model_customization_job
    original_stop = bedrock_models.BedrockBackend.stop_model_customization_job

    def get_job(self: Any, job_identifier: str) -> Any:
        return original_get(self, job_name_from_identifier(job_identifier))

    def stop_job(self: Any, job_identifier: str) -> None:
        return original_stop(self, job_name_from_identifier(job_identifier))

    replace(BedrockResponse, "create_model_customization_job", create_model_customization_job)
    replace(bedrock_models.ModelCustomizationJob, "to_dict", to_dict)
    replace(bedrock_models.BedrockBackend, "get_model_customization_job", get_job)
    replace(bedrock_models.BedrockBackend, "stop_model_customization_job", stop_job)
