import json

import pytest
from rft_job import handler
from rft_job.properties import PropertyError

from tests.job.events import HYPER, KMS_KEY_ARN, VPC_CONFIG, create_event, properties, update_event


def job_count(bedrock):
    return len(bedrock.list_model_customization_jobs()["modelCustomizationJobSummaries"])


@pytest.fixture
def created(bedrock, context):
    """The response to creating the GSM8K job with the default properties."""
    return handler.on_event(create_event(), context)


def test_update_without_job_defining_changes_keeps_the_job(bedrock, context, created):
    new = properties(
        RoleArn="arn:aws:iam::123456789012:role/OtherRole",
        Tags=json.dumps({"project": "bedrock-rft", "owner": "ml-team"}),
        JobNamePrefix="renamed",
    )
    result = handler.on_event(update_event(created["PhysicalResourceId"], new, properties()), context)
    assert result == created
    assert job_count(bedrock) == 1


def test_reordered_or_respelled_hyperparameters_are_no_change(bedrock, context, created):
    respelled = {k: str(v) for k, v in reversed(list(HYPER.items()))}
    new = properties(HyperParameters=json.dumps(respelled, indent=2))
    result = handler.on_event(update_event(created["PhysicalResourceId"], new, properties()), context)
    assert result["PhysicalResourceId"] == created["PhysicalResourceId"]
    assert job_count(bedrock) == 1


@pytest.mark.parametrize(
    "change",
    [
        {"TrainingDataUri": "s3://gsm-rft-data/rft-data/train-v2.jsonl"},
        {"ValidationDataUri": ""},
        {"HyperParameters": json.dumps({**HYPER, "learningRate": 1e-5})},
        {"GraderLambdaArn": "arn:aws:lambda:us-east-1:123456789012:function:OtherReward"},
        # A running job keeps the key and network it started with: setting either needs a new job.
        {"CustomModelKmsKeyId": KMS_KEY_ARN},
        {"VpcConfig": VPC_CONFIG},
    ],
)
def test_job_defining_change_launches_a_replacement(bedrock, context, created, change):
    result = handler.on_event(
        update_event(created["PhysicalResourceId"], properties(**change), properties()), context
    )
    new_name = result["PhysicalResourceId"]
    assert new_name != created["PhysicalResourceId"]
    assert result["Data"]["JobName"] == new_name == result["Data"]["CustomModelName"]
    assert job_count(bedrock) == 2
    new_job = bedrock.get_model_customization_job(jobIdentifier=new_name)
    assert new_job["jobArn"] == result["Data"]["JobArn"]
    assert new_job["status"] == "InProgress"


def test_replacement_then_delete_of_the_old_id_leaves_only_the_new_job_running(bedrock, context, created):
    old_name = created["PhysicalResourceId"]
    new = properties(TrainingDataUri="s3://gsm-rft-data/rft-data/train-v2.jsonl")
    new_name = handler.on_event(update_event(old_name, new, properties()), context)["PhysicalResourceId"]
    handler.on_event(
        {**create_event(properties()), "RequestType": "Delete", "PhysicalResourceId": old_name}, context
    )
    assert bedrock.get_model_customization_job(jobIdentifier=old_name)["status"] == "Stopped"
    assert bedrock.get_model_customization_job(jobIdentifier=new_name)["status"] == "InProgress"


def test_rollback_to_the_running_jobs_properties_keeps_it(bedrock, context, created):
    """A failed update (here: rejected properties) is rolled back by an Update whose *old*
    properties are the failed ones; the job's definition tag shows it already matches."""
    failed = properties(HyperParameters=json.dumps({**HYPER, "batchSize": 8}))
    with pytest.raises(PropertyError):
        handler.on_event(update_event(created["PhysicalResourceId"], failed, properties()), context)

    rollback = update_event(created["PhysicalResourceId"], properties(), failed, request_id="req-rollback")
    assert handler.on_event(rollback, context) == created

    other = properties(TrainingDataUri="s3://gsm-rft-data/rft-data/train-v2.jsonl")
    rollback = update_event(created["PhysicalResourceId"], properties(), other, request_id="req-rollback-2")
    assert handler.on_event(rollback, context) == created
    assert job_count(bedrock) == 1


def test_update_of_a_vanished_job_still_succeeds_with_what_is_known(bedrock, context):
    gone = "gsmrftstack-0123456789ab"
    result = handler.on_event(update_event(gone, properties(), properties()), context)
    assert result == {
        "PhysicalResourceId": gone,
        "Data": {"JobArn": "", "JobName": gone, "CustomModelName": gone},
    }
    assert job_count(bedrock) == 0


def test_invalid_new_properties_fail_the_update_without_aws_calls(stubbed, context, bedrock_calls):
    bad = properties(HyperParameters='{"reasoningEffort": "max"}')
    with pytest.raises(PropertyError, match="reasoningEffort is 'max'; use one of low, medium, high"):
        handler.on_event(update_event("gsmrftstack-0123456789ab", bad, properties()), context)
    assert bedrock_calls == []


def test_changing_the_key_or_the_vpc_replaces_a_job_that_has_them(bedrock, context):
    governed = properties(CustomModelKmsKeyId=KMS_KEY_ARN, VpcConfig=VPC_CONFIG)
    first = handler.on_event(create_event(governed), context)
    other_vpc = json.dumps({"subnetIds": ["subnet-0fedcba9876543210"], "securityGroupIds": ["sg-0abc1234"]})
    for change in ({"VpcConfig": other_vpc}, {"CustomModelKmsKeyId": None}):
        new = properties(**{**governed, **change})
        result = handler.on_event(update_event(first["PhysicalResourceId"], new, governed), context)
        assert result["PhysicalResourceId"] != first["PhysicalResourceId"]
    # Same key and VPC, respelled JSON: the same job.
    respelled = properties(
        CustomModelKmsKeyId=KMS_KEY_ARN, VpcConfig=json.dumps(json.loads(VPC_CONFIG), indent=2)
    )
    kept = handler.on_event(update_event(first["PhysicalResourceId"], respelled, governed), context)
    assert kept["PhysicalResourceId"] == first["PhysicalResourceId"]
