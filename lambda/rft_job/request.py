"""The requests that launch an RFT job, built without touching AWS: `CreateModelCustomizationJob` for
Nova, `POST /v1/fine_tuning/jobs` for open-weight models.

Kept pure so the exact request can be asserted in tests (moto drops `customizationConfig`) and
reused by anything else that launches RFT jobs.
"""

from typing import Any

from rft_job.naming import JobNames
from rft_job.properties import DEFINITION_TAG_KEY, JobProperties

CUSTOMIZATION_TYPE = "REINFORCEMENT_FINE_TUNING"
# The open-weight job's metadata: the definition hash (same key as Nova's tag), the job name this
# request gave it (how a retry finds it) and the stack.
JOB_NAME_METADATA_KEY = "rft:job-name"
STACK_METADATA_KEY = "rft:stack"


def create_job_request(props: JobProperties, names: JobNames) -> dict[str, Any]:
    """Keyword arguments for `bedrock.create_model_customization_job`."""
    request: dict[str, Any] = {
        "jobName": names.job_name,
        "customModelName": names.custom_model_name,
        "clientRequestToken": names.client_request_token,
        "roleArn": props.role_arn,
        "baseModelIdentifier": props.base_model_identifier,
        "customizationType": CUSTOMIZATION_TYPE,
        "trainingDataConfig": {"s3Uri": props.training_data_uri},
        "outputDataConfig": {"s3Uri": props.output_data_uri},
        "customizationConfig": {
            "rftConfig": {
                "graderConfig": {"lambdaGrader": {"lambdaArn": props.grader_lambda_arn}},
                "hyperParameters": dict(props.hyper_parameters),
            }
        },
        "jobTags": _tag_list({**props.tags, DEFINITION_TAG_KEY: props.fingerprint()}),
        "customModelTags": _tag_list(props.tags),
    }
    if props.custom_model_kms_key_id:
        request["customModelKmsKeyId"] = props.custom_model_kms_key_id
    if props.vpc_config:
        request["vpcConfig"] = props.vpc_config
    if props.validation_data_uri:
        request["validationDataConfig"] = {"validators": [{"s3Uri": props.validation_data_uri}]}
    return request


def _tag_list(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"key": key, "value": value} for key, value in sorted(tags.items())]


def create_mantle_job_request(
    props: JobProperties,
    names: JobNames,
    stack_name: str,
    training_file: str,
    validation_file: str | None = None,
) -> dict[str, Any]:
    """The body of `POST /v1/fine_tuning/jobs` (page `fine-tuning-openai-job-create`): method
    `reinforcement` with a grader of type `lambda` naming the reward function. No `suffix`: the docs
    say it is not supported."""
    request: dict[str, Any] = {
        "model": props.base_model_identifier,
        "training_file": training_file,
        "method": {
            "type": "reinforcement",
            "reinforcement": {
                "grader": {"type": "lambda", "lambda": {"function": props.grader_lambda_arn}},
                "hyperparameters": dict(props.hyper_parameters),
            },
        },
        "metadata": {
            DEFINITION_TAG_KEY: props.fingerprint(),
            JOB_NAME_METADATA_KEY: names.job_name,
            STACK_METADATA_KEY: stack_name,
        },
    }
    if validation_file:
        request["validation_file"] = validation_file
    return request
