import json
import re

import pytest
from botocore.stub import ANY
from rft_job import handler
from rft_job.jobs import JobLaunchError, bedrock_client
from rft_job.naming import (
    CLIENT_REQUEST_TOKEN_PATTERN,
    CUSTOM_MODEL_NAME_PATTERN,
    JOB_NAME_PATTERN,
    job_names,
)
from rft_job.properties import DEFINITION_TAG_KEY, PropertyError, parse_properties

from tests.job.events import (
    GRADER_ARN,
    HYPER,
    KMS_KEY_ARN,
    NOVA,
    ROLE_ARN,
    VPC_CONFIG,
    create_event,
    get_job_response,
    properties,
)


def tags_of(bedrock, arn):
    return {t["key"]: t["value"] for t in bedrock.list_tags_for_resource(resourceARN=arn)["tags"]}


def test_create_launches_an_rft_job_and_returns_at_once(bedrock, context):
    result = handler.on_event(create_event(), context)

    name = result["PhysicalResourceId"]
    assert name.startswith("gsmrftstack-")
    assert result["Data"] == {"JobArn": result["Data"]["JobArn"], "JobName": name, "CustomModelName": name}
    job = bedrock.get_model_customization_job(jobIdentifier=name)
    assert job["jobArn"] == result["Data"]["JobArn"]
    assert job["customizationType"] == "REINFORCEMENT_FINE_TUNING"
    assert job["status"] == "InProgress"
    assert job["roleArn"] == ROLE_ARN
    assert job["trainingDataConfig"] == {"s3Uri": "s3://gsm-rft-data/rft-data/train.jsonl"}
    assert job["validationDataConfig"] == {
        "validators": [{"s3Uri": "s3://gsm-rft-data/rft-data/validation.jsonl"}]
    }
    assert job["outputDataConfig"] == {"s3Uri": "s3://gsm-rft-data/rft-output/"}
    assert re.fullmatch(CLIENT_REQUEST_TOKEN_PATTERN, job["clientRequestToken"])
    assert tags_of(bedrock, job["jobArn"]) == {
        "project": "bedrock-rft",
        "task": "gsm8k",
        DEFINITION_TAG_KEY: parse_properties(properties()).fingerprint(),
    }
    model = bedrock.get_custom_model(modelIdentifier=name)
    assert tags_of(bedrock, model["modelArn"]) == {"project": "bedrock-rft", "task": "gsm8k"}


def test_no_validation_set_sends_no_validation_config(bedrock, context):
    name = handler.on_event(create_event(properties(ValidationDataUri="")), context)["PhysicalResourceId"]
    assert "validationDataConfig" not in bedrock.get_model_customization_job(jobIdentifier=name)


def test_long_and_odd_prefixes_still_give_valid_names(bedrock, context):
    event = create_event(properties(JobNamePrefix="My_Very--Long.Stack.Name-" * 6))
    result = handler.on_event(event, context)
    name = result["PhysicalResourceId"]
    assert len(name) <= 63
    assert re.fullmatch(JOB_NAME_PATTERN, name) and re.fullmatch(CUSTOM_MODEL_NAME_PATTERN, name)
    assert bedrock.get_model_customization_job(jobIdentifier=name)["jobName"] == name


def test_retry_of_the_same_request_reuses_name_token_and_job(bedrock, context):
    first = handler.on_event(create_event(), context)
    retry = handler.on_event(create_event(), context)
    other = handler.on_event(create_event(request_id="req-create-2"), context)

    assert retry == first
    assert other["PhysicalResourceId"] != first["PhysicalResourceId"]
    jobs = bedrock.list_model_customization_jobs()["modelCustomizationJobSummaries"]
    assert len(jobs) == 2
    tokens = {
        bedrock.get_model_customization_job(jobIdentifier=r["PhysicalResourceId"])["clientRequestToken"]
        for r in (first, other)
    }
    assert len(tokens) == 2


def test_create_sends_the_exact_rft_request(stubbed, context):
    job_arn = "arn:aws:bedrock:us-east-1:123456789012:model-customization-job/amazon.nova-2-lite-v1:0:256k/abcdef123456"
    stubbed.add_response(
        "create_model_customization_job",
        {"jobArn": job_arn},
        expected_params={
            "jobName": ANY,
            "customModelName": ANY,
            "clientRequestToken": ANY,
            "roleArn": ROLE_ARN,
            "baseModelIdentifier": NOVA,
            "customizationType": "REINFORCEMENT_FINE_TUNING",
            "trainingDataConfig": {"s3Uri": "s3://gsm-rft-data/rft-data/train.jsonl"},
            "validationDataConfig": {
                "validators": [{"s3Uri": "s3://gsm-rft-data/rft-data/validation.jsonl"}]
            },
            "outputDataConfig": {"s3Uri": "s3://gsm-rft-data/rft-output/"},
            "customizationConfig": {
                "rftConfig": {
                    "graderConfig": {"lambdaGrader": {"lambdaArn": GRADER_ARN}},
                    "hyperParameters": {
                        "batchSize": 32,
                        "epochCount": 2,
                        "evalInterval": 10,
                        "inferenceMaxTokens": 4096,
                        "learningRate": 5e-5,
                        "maxPromptLength": 310,
                        "reasoningEffort": "high",
                        "trainingSamplePerPrompt": 4,
                    },
                }
            },
            "jobTags": [
                {"key": "project", "value": "bedrock-rft"},
                {"key": DEFINITION_TAG_KEY, "value": ANY},
                {"key": "task", "value": "gsm8k"},
            ],
            "customModelTags": [
                {"key": "project", "value": "bedrock-rft"},
                {"key": "task", "value": "gsm8k"},
            ],
        },
    )
    # Strings as CloudFormation would deliver them if the numbers had been stringified.
    hyper = json.dumps({**{k: str(v) for k, v in HYPER.items()}, "epochCount": "2"})
    result = handler.on_event(create_event(properties(HyperParameters=hyper)), context)
    assert result["Data"]["JobArn"] == job_arn


def test_create_sends_the_key_and_the_vpc_when_set(stubbed, context):
    job_arn = "arn:aws:bedrock:us-east-1:123456789012:model-customization-job/amazon.nova-2-lite-v1:0:256k/abcdef123456"
    # Every field of the plain request (asserted exactly above), plus the two new ones.
    plain = "jobName customModelName clientRequestToken roleArn baseModelIdentifier customizationType"
    sections = (
        "trainingDataConfig validationDataConfig outputDataConfig customizationConfig jobTags customModelTags"
    )
    expected = {
        **dict.fromkeys(f"{plain} {sections}".split(), ANY),
        "customModelKmsKeyId": KMS_KEY_ARN,
        "vpcConfig": json.loads(VPC_CONFIG),
    }
    # Stubber validates the request against botocore's model: the field names are Bedrock's own.
    stubbed.add_response("create_model_customization_job", {"jobArn": job_arn}, expected_params=expected)
    event = create_event(properties(CustomModelKmsKeyId=KMS_KEY_ARN, VpcConfig=VPC_CONFIG))
    assert handler.on_event(event, context)["Data"]["JobArn"] == job_arn


def test_create_with_key_and_vpc_under_moto(bedrock, context):
    event = create_event(properties(CustomModelKmsKeyId=KMS_KEY_ARN, VpcConfig=VPC_CONFIG))
    name = handler.on_event(event, context)["PhysicalResourceId"]
    job = bedrock.get_model_customization_job(jobIdentifier=name)
    assert job["status"] == "InProgress"
    if "vpcConfig" in job:  # moto keeps it in some versions
        assert job["vpcConfig"] == json.loads(VPC_CONFIG)


def test_a_job_without_key_or_vpc_keeps_its_fingerprint():
    """Stacks deployed before these properties existed: their running job's tag still matches."""
    plain = parse_properties(properties())
    assert "customModelKmsKeyId" not in plain.definition() and "vpcConfig" not in plain.definition()
    assert (
        parse_properties(properties(VpcConfig="", CustomModelKmsKeyId="")).fingerprint()
        == plain.fingerprint()
    )
    governed = parse_properties(properties(CustomModelKmsKeyId=KMS_KEY_ARN, VpcConfig=VPC_CONFIG))
    assert governed.fingerprint() != plain.fingerprint()


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"CustomModelKmsKeyId": "my-key"}, "CustomModelKmsKeyId 'my-key' is not a KMS key ARN"),
        ({"VpcConfig": '{"subnetIds": []}'}, "VpcConfig.subnetIds must be a list of 1-16 ids"),
        ({"VpcConfig": '{"subnets": ["subnet-1"]}'}, "VpcConfig has unknown keys subnets"),
    ],
)
def test_a_bad_key_or_vpc_fails_before_any_aws_call(stubbed, context, bedrock_calls, change, problem):
    with pytest.raises(PropertyError, match=re.escape(problem)):
        handler.on_event(create_event(properties(**change)), context)
    assert bedrock_calls == []


@pytest.mark.parametrize(
    ("code", "status", "hint"),
    [
        ("AccessDeniedException", 403, f"iam:PassRole on {ROLE_ARN}"),
        ("ValidationException", 400, "Check BaseModelIdentifier"),
        ("ServiceQuotaExceededException", 400, "request a quota increase"),
        ("ThrottlingException", 429, "deploy again in a few minutes"),
    ],
)
def test_aws_errors_on_create_raise_an_actionable_message(stubbed, context, code, status, hint):
    stubbed.add_client_error(
        "create_model_customization_job",
        service_error_code=code,
        service_message="Nope.",
        http_status_code=status,
    )
    with pytest.raises(JobLaunchError) as raised:
        handler.on_event(create_event(), context)
    message = str(raised.value)
    assert re.match(
        rf"Could not launch Bedrock RFT job 'gsmrftstack-[0-9a-f]{{12}}': {code}: Nope\. ", message
    )
    assert hint in message


def test_name_taken_by_another_request_fails_clearly(stubbed, context):
    stubbed.add_client_error("create_model_customization_job", service_error_code="ConflictException")
    stubbed.add_response("get_model_customization_job", get_job_response("x", token="someone-else"))
    with pytest.raises(JobLaunchError, match=r"ConflictException: .*name is taken by another request's job"):
        handler.on_event(create_event(), context)


def test_name_taken_by_an_earlier_attempt_of_this_request_is_reused(stubbed, context, bedrock_calls):
    # Learn this request's token from a first, successful launch.
    stubbed.add_response("create_model_customization_job", {"jobArn": "arn:first"})
    first = handler.on_event(create_event(), context)
    token = _sent_token_for(create_event())
    stubbed.add_client_error("create_model_customization_job", service_error_code="ConflictException")
    existing = get_job_response(first["PhysicalResourceId"], token=token)
    stubbed.add_response("get_model_customization_job", existing)

    retry = handler.on_event(create_event(), context)

    assert retry["PhysicalResourceId"] == first["PhysicalResourceId"]
    assert retry["Data"]["JobArn"] == existing["jobArn"]
    assert bedrock_calls == [
        "CreateModelCustomizationJob",
        "CreateModelCustomizationJob",
        "GetModelCustomizationJob",
    ]


def _sent_token_for(event):
    return job_names(
        "gsmrftstack", event["StackId"], event["LogicalResourceId"], event["RequestId"]
    ).client_request_token


def test_invalid_properties_fail_before_any_aws_call(stubbed, context, bedrock_calls):
    with pytest.raises(PropertyError, match="missing required properties TrainingDataUri"):
        handler.on_event(create_event(properties(TrainingDataUri=None)), context)
    assert bedrock_calls == []


def test_event_without_request_identity_is_rejected(stubbed, context):
    event = create_event()
    del event["RequestId"]
    with pytest.raises(ValueError, match="The event has no RequestId"):
        handler.on_event(event, context)


def test_unknown_request_type_is_rejected(context):
    with pytest.raises(ValueError, match="Unsupported RequestType 'Replace'"):
        handler.on_event({**create_event(), "RequestType": "Replace"}, context)


def test_logs_are_structured_json_without_the_event(bedrock, context, log_lines):
    result = handler.on_event(create_event(), context)
    lines = log_lines()
    assert {line["service"] for line in lines} == {"rft-job"}
    launched = next(line for line in lines if line["message"] == "Launched RFT job")
    assert launched["job_name"] == result["PhysicalResourceId"]
    assert launched["request_type"] == "Create"
    assert launched["logical_resource_id"] == "RftPipelineJob1A2B3C4D"
    assert "ResourceProperties" not in json.dumps(lines) and "ServiceToken" not in json.dumps(lines)


def test_client_is_created_once_in_the_environment_region(monkeypatch):
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    bedrock_client.cache_clear()
    assert bedrock_client() is bedrock_client()
    assert bedrock_client().meta.region_name == "eu-west-1"
