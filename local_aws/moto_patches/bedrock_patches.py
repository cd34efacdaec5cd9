"""Bedrock in moto: customization jobs keep their RFT configuration and can be found by ARN.

moto drops `customizationConfig` (so neither the grader nor the hyperparameters of a job can be
checked), prefixes an ARN base model with another ARN, and only finds jobs by name. Real Bedrock
also rejects an RFT job whose grader Lambda or training data does not exist; so does this.

No model runs offline. bedrock-runtime's Converse answers the replayed model ids by replaying recorded
GSM8K solutions (`local_aws.converse_replay`); so do two stand-ins the post-training evaluation calls:
the base model of an emulated customization job (its id, inference profile id or ARN) replays
`converse_replay.BASE_MODEL_REPLAY`, and an Active custom model deployment (its ARN) replays
`converse_replay.TUNED_MODEL_REPLAY`. Any other model id (an LLM judge's call, say) is answered at
once with an error that says no model runs offline, instead of moto's NotImplementedError traceback.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote

from moto.awslambda.models import lambda_backends
from moto.bedrock import models as bedrock_models
from moto.bedrock.models import bedrock_backends
from moto.bedrock.responses import BedrockResponse
from moto.bedrockruntime.responses import BedrockRuntimeResponse
from moto.core.exceptions import JsonRESTError
from moto.s3.models import s3_backends

from local_aws import converse_replay
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
            f"the local_aws emulator does not serve bedrock-runtime {action}: no model runs offline "
            f"(only the replays of recorded GSM8K solutions, {converse_replay.MODEL_PREFIX}*, answer Converse)",
        )


class ReplayValidationError(JsonRESTError):
    """Converse's ValidationException (400, not retried): a replayed model has no recording for this."""

    code = 400

    def __init__(self, message: str) -> None:
        super().__init__("ValidationException", message)


def _not_served(action: str) -> Any:
    def answer(self: BedrockRuntimeResponse) -> str:
        raise ConverseNotServed(action)

    return answer


INFERENCE_PROFILE_PREFIXES = ("us.", "eu.", "apac.", "global.", "us-gov.", "jp.", "au.", "ca.")


def _foundation_id(model: str) -> str:
    """`amazon.x`, `us.amazon.x`, `arn:...:foundation-model/amazon.x`, `...:inference-profile/us.amazon.x` -> `amazon.x`."""
    for kind in ("foundation-model/", "inference-profile/"):
        if kind in model:
            model = model.rsplit(kind, 1)[-1]
    prefix = next((p for p in INFERENCE_PROFILE_PREFIXES if model.startswith(p)), "")
    return model[len(prefix) :]


def replayed_model(model: str, account_id: str, region: str) -> str | None:
    """The replayed model id that answers `model` on the emulator, or None when nothing does."""
    if converse_replay.is_replayed(model):
        return model
    backend = bedrock_backends[account_id][region]
    if ":custom-model-deployment/" in model:
        from local_aws.moto_patches.bedrock_deployments import find_deployment

        try:
            deployment = find_deployment(backend, model)
        except Exception:
            raise ReplayValidationError(f"The custom model deployment {model} does not exist") from None
        if deployment.status != "Active":
            raise ReplayValidationError(
                f"The custom model deployment {model} is {deployment.status}, not Active"
            )
        return converse_replay.TUNED_MODEL_REPLAY
    wanted = _foundation_id(model)
    bases = {
        _foundation_id(str(job.base_model_arn or "")) for job in backend.model_customization_jobs.values()
    }
    # A customizable variant names its context window (`amazon.nova-2-lite-v1:0:256k`); on-demand calls
    # name the model without it (`us.amazon.nova-2-lite-v1:0`): both stand for the same base model.
    if wanted and any(base == wanted or base.startswith(wanted + ":") for base in bases):
        return converse_replay.BASE_MODEL_REPLAY
    return None


def _converse(self: BedrockRuntimeResponse) -> str:
    """A replayed model's recorded solution; any other model is not served (501)."""
    asked = unquote(str(self._get_param("modelId") or ""))
    model = replayed_model(asked, self.current_account, self.region)
    if model is None:
        raise ConverseNotServed("Converse")
    try:
        return json.dumps(converse_replay.converse(model, json.loads(self.body or "{}")))
    except converse_replay.ReplayRefused as refused:
        raise ReplayValidationError(refused.message) from None


def patch() -> None:
    replace(BedrockRuntimeResponse, "converse", _converse)
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
