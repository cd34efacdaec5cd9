"""CloudFormation custom-resource events as the Provider framework delivers them: every property a
string, structured values as JSON text."""

import json
from typing import Any

STACK_ID = (
    "arn:aws:cloudformation:us-east-1:123456789012:stack/GsmRftStack/0a1b2c3d-4e5f-6789-abcd-ef0123456789"
)
LOGICAL_ID = "RftPipelineJob1A2B3C4D"
NOVA = "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-2-lite-v1:0:256k"
ROLE_ARN = "arn:aws:iam::123456789012:role/GsmRftStack-BedrockServiceRole"
GRADER_ARN = "arn:aws:lambda:us-east-1:123456789012:function:GsmRftStack-RewardFunction"
KMS_KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
VPC_CONFIG = json.dumps(
    {
        "subnetIds": ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"],
        "securityGroupIds": ["sg-0123456789abcdef0"],
    }
)
HYPER = {
    "batchSize": 32,
    "epochCount": 1,
    "evalInterval": 10,
    "inferenceMaxTokens": 4096,
    "learningRate": 5e-5,
    "maxPromptLength": 310,
    "reasoningEffort": "high",
    "trainingSamplePerPrompt": 4,
}


def properties(**overrides: Any) -> dict[str, str]:
    """Valid ResourceProperties for the GSM8K job; keyword arguments replace (None removes) one."""
    props = {
        "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:GsmRftStack-JobProviderframeworkonEvent",
        "JobNamePrefix": "gsmrftstack",
        "BaseModelIdentifier": NOVA,
        "RoleArn": ROLE_ARN,
        "TrainingDataUri": "s3://gsm-rft-data/rft-data/train.jsonl",
        "ValidationDataUri": "s3://gsm-rft-data/rft-data/validation.jsonl",
        "OutputDataUri": "s3://gsm-rft-data/rft-output/",
        "GraderLambdaArn": GRADER_ARN,
        "HyperParameters": json.dumps(HYPER, sort_keys=True),
        "Tags": json.dumps({"project": "bedrock-rft", "task": "gsm8k"}),
    }
    props.update(overrides)
    return {k: v for k, v in props.items() if v is not None}


def create_event(props: dict[str, str] | None = None, request_id: str = "req-create-1") -> dict[str, Any]:
    return {
        "RequestType": "Create",
        "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:provider",
        "ResponseURL": "https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/x",
        "StackId": STACK_ID,
        "RequestId": request_id,
        "LogicalResourceId": LOGICAL_ID,
        "ResourceType": "Custom::BedrockRftJob",
        "ResourceProperties": props if props is not None else properties(),
    }


def update_event(
    physical_id: str, new: dict[str, str], old: dict[str, str], request_id: str = "req-update-1"
) -> dict[str, Any]:
    event = create_event(new, request_id)
    event.update(RequestType="Update", PhysicalResourceId=physical_id, OldResourceProperties=old)
    return event


def delete_event(physical_id: str, props: dict[str, str] | None = None) -> dict[str, Any]:
    event = create_event(props, "req-delete-1")
    event.update(RequestType="Delete", PhysicalResourceId=physical_id)
    return event


def get_job_response(job_name: str, status: str = "InProgress", token: str = "token-1") -> dict[str, Any]:
    """A GetModelCustomizationJob answer valid against botocore's output shape (for Stubber)."""
    return {
        "jobArn": f"arn:aws:bedrock:us-east-1:123456789012:model-customization-job/amazon.nova-2-lite-v1:0:256k/{'a' * 12}",
        "jobName": job_name,
        "outputModelName": job_name,
        "clientRequestToken": token,
        "roleArn": ROLE_ARN,
        "status": status,
        "creationTime": "2026-01-01T00:00:00Z",
        "baseModelArn": NOVA,
        "trainingDataConfig": {"s3Uri": "s3://gsm-rft-data/rft-data/train.jsonl"},
        "validationDataConfig": {"validators": [{"s3Uri": "s3://gsm-rft-data/rft-data/validation.jsonl"}]},
        "outputDataConfig": {"s3Uri": "s3://gsm-rft-data/rft-output/"},
        "customizationType": "REINFORCEMENT_FINE_TUNING",
    }
