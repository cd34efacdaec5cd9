"""The job resource with `Backend: mantle`: the data read from S3 (moto), the job launched on a loopback
OpenAI-compatible endpoint that verifies every SigV4 signature, and the shared behaviour of the
handler (idempotent create, replacement only on a definition change, rollback, Delete) on it."""

from __future__ import annotations

import json
from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws
from rft_job import handler, mantle
from rft_job.jobs import JobLaunchError
from rft_job.mantle import MantleId
from rft_job.properties import DEFINITION_TAG_KEY, PropertyError, parse_properties
from rft_job.request import JOB_NAME_METADATA_KEY, STACK_METADATA_KEY

from tests.job.events import STACK_ID, create_event, delete_event, properties, update_event
from tests.mantle.server import MantleServer, mantle_server

REGION = "us-west-2"
BUCKET = "cdk-hnb659fds-assets-123456789012-us-west-2"
TRAIN_KEY, VALIDATION_KEY = "0123abcd.jsonl", "4567ef01.jsonl"
GRADER = "arn:aws:lambda:us-west-2:123456789012:function:GsmRftStack-RewardFunction"
HYPER = {"n_epochs": 1, "batch_size": 4, "learning_rate_multiplier": 1.0, "compute_multiplier": "auto"}
TRAIN = b"".join(
    json.dumps({"messages": [{"role": "user", "content": f"q{i}"}], "reference_answer": str(i)}).encode()
    + b"\n"
    for i in range(120)
)
VALIDATION = TRAIN[:300]


def mantle_properties(**overrides: object) -> dict[str, str]:
    """Valid properties of the open-weight GSM8K job; keyword arguments replace (None removes) one."""
    defaults = {
        "Backend": "mantle",
        "BaseModelIdentifier": "openai.gpt-oss-20b",
        "RoleArn": None,
        "OutputDataUri": None,
        "TrainingDataUri": f"s3://{BUCKET}/{TRAIN_KEY}",
        "ValidationDataUri": f"s3://{BUCKET}/{VALIDATION_KEY}",
        "GraderLambdaArn": GRADER,
        "HyperParameters": json.dumps(HYPER, sort_keys=True),
    }
    return properties(**{**defaults, **overrides})


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[MantleServer]:
    """The endpoint, the region and moto's S3 with the two data assets; under mock_aws the function's
    credentials are moto's, so the server knows that secret only."""
    with mock_aws(), mantle_server(secrets={"FOOBARKEY": "FOOBARSECRET"}, region=REGION) as server:
        monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_MANTLE", server.url)
        monkeypatch.setenv("AWS_REGION", REGION)
        monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
        mantle.mantle_client.cache_clear()
        mantle.s3_client.cache_clear()
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        s3.put_object(Bucket=BUCKET, Key=TRAIN_KEY, Body=TRAIN)
        s3.put_object(Bucket=BUCKET, Key=VALIDATION_KEY, Body=VALIDATION)
        yield server
        assert server.rejected_signatures == 0
    mantle.mantle_client.cache_clear()
    mantle.s3_client.cache_clear()


@pytest.fixture
def created(server, context):
    return handler.on_event(create_event(mantle_properties()), context)


def only_job(server: MantleServer) -> dict:
    [job] = server.state.jobs.values()
    return job


def test_create_uploads_the_assets_and_launches_the_job_with_the_grader(server, context, created):
    job = only_job(server)
    name = created["Data"]["JobName"]
    assert created["PhysicalResourceId"] == f"{name}/{job['id']}"
    assert created["Data"] == {
        "JobName": name,
        "JobId": job["id"],
        "TrainingFileId": job["training_file"],
        "ValidationFileId": job["validation_file"],
    }
    files = server.state.files
    assert server.state.contents[job["training_file"]] == TRAIN
    assert server.state.contents[job["validation_file"]] == VALIDATION
    assert files[job["training_file"]]["filename"] == f"{name}-train.jsonl"
    assert files[job["validation_file"]]["filename"] == f"{name}-validation.jsonl"
    assert {f["purpose"] for f in files.values()} == {"fine-tune"}
    [request] = server.calls("POST", "/v1/fine_tuning/jobs")
    props = parse_properties(mantle_properties())
    assert request.json() == {
        "model": "openai.gpt-oss-20b",
        "training_file": job["training_file"],
        "validation_file": job["validation_file"],
        "method": {
            "type": "reinforcement",
            "reinforcement": {
                "grader": {"type": "lambda", "lambda": {"function": GRADER}},
                "hyperparameters": HYPER,
            },
        },
        "metadata": {
            DEFINITION_TAG_KEY: props.fingerprint(),
            JOB_NAME_METADATA_KEY: name,
            STACK_METADATA_KEY: STACK_ID.split("/")[1],
        },
    }


def test_create_makes_no_bedrock_call(server, context, bedrock_calls):
    handler.on_event(create_event(mantle_properties()), context)
    assert bedrock_calls == []


def test_no_validation_set_uploads_and_sends_none(server, context):
    result = handler.on_event(create_event(mantle_properties(ValidationDataUri="")), context)
    assert "validation_file" not in server.calls("POST", "/v1/fine_tuning/jobs")[0].json()
    assert len(server.state.files) == 1 and "ValidationFileId" not in result["Data"]


def test_retry_of_the_same_request_reuses_the_job(server, context, created):
    again = handler.on_event(create_event(mantle_properties()), context)
    assert again == created
    assert len(server.state.jobs) == 1 and len(server.state.files) == 2


def test_a_new_request_gets_a_new_job(server, context, created):
    other = handler.on_event(create_event(mantle_properties(), request_id="req-create-2"), context)
    assert other["PhysicalResourceId"] != created["PhysicalResourceId"]
    assert len(server.state.jobs) == 2


def test_metadata_refused_creates_without_it_and_keeps_the_hash_in_the_physical_id(server, context):
    server.unsupported_fields = {"metadata"}
    result = handler.on_event(create_event(mantle_properties()), context)
    job = only_job(server)
    assert job["metadata"] is None and job["validation_file"]
    creates = server.calls("POST", "/v1/fine_tuning/jobs")
    assert len(creates) == 2 and "metadata" in creates[0].json() and "metadata" not in creates[1].json()
    fingerprint = parse_properties(mantle_properties()).fingerprint()
    assert result["PhysicalResourceId"] == f"{result['Data']['JobName']}/{job['id']}/{fingerprint}"


def test_validation_file_refused_creates_without_it_and_deletes_the_upload(server, context):
    server.unsupported_fields = {"validation_file"}
    result = handler.on_event(create_event(mantle_properties()), context)
    job = only_job(server)
    assert job["validation_file"] is None and job["metadata"]
    assert list(server.state.files) == [job["training_file"]]
    assert "ValidationFileId" not in result["Data"]
    assert MantleId.parse(result["PhysicalResourceId"]).fingerprint is None


def test_both_refused_drop_both(server, context):
    server.unsupported_fields = {"metadata", "validation_file"}
    handler.on_event(create_event(mantle_properties()), context)
    assert len(server.calls("POST", "/v1/fine_tuning/jobs")) == 3
    job = only_job(server)
    assert job["metadata"] is None and job["validation_file"] is None


def test_a_400_about_something_else_is_not_retried_and_cleans_up(server, context):
    server.fail(
        "POST",
        "/v1/fine_tuning/jobs",
        400,
        body={
            "error": {
                "message": "Model foo is not available",
                "param": "model",
                "type": "invalid_request_error",
            }
        },
    )
    with pytest.raises(JobLaunchError) as raised:
        handler.on_event(create_event(mantle_properties()), context)
    message = str(raised.value)
    assert message.startswith("Could not launch open-weight RFT job 'gsmrftstack-")
    assert "400 invalid_request_error: Model foo is not available" in message
    assert "openai.gpt-oss-20b and qwen.qwen3-32b in us-west-2" in message
    assert len(server.calls("POST", "/v1/fine_tuning/jobs")) == 1
    assert server.state.files == {} and len(server.calls("DELETE")) == 2


def test_access_denied_names_the_permissions(server, context):
    server.fail("POST", "/v1/files", 403, body={"message": "not authorized"})
    with pytest.raises(JobLaunchError, match=r"403 .*bedrock-mantle:CreateFile.*project/default"):
        handler.on_event(create_event(mantle_properties()), context)
    assert server.state.jobs == {}


def test_missing_asset_is_a_clear_error(server, context):
    with pytest.raises(JobLaunchError, match=r"from S3: .*s3:GetObject on the data assets"):
        handler.on_event(
            create_event(mantle_properties(TrainingDataUri=f"s3://{BUCKET}/gone.jsonl")), context
        )
    assert server.calls("POST", "/v1/files") == []


def test_throttled_create_is_retried_by_the_client(server, context, monkeypatch):
    monkeypatch.setattr("rft_mantle.client.time.sleep", lambda _: None)
    mantle.mantle_client.cache_clear()
    server.fail("POST", "/v1/fine_tuning/jobs", 429)
    handler.on_event(create_event(mantle_properties()), context)
    assert len(server.calls("POST", "/v1/fine_tuning/jobs")) == 2 and len(server.state.jobs) == 1


# -- Update ---------------------------------------------------------------------------------------


def test_update_without_a_definition_change_keeps_the_job(server, context, created):
    new = mantle_properties(Tags=json.dumps({"owner": "ml"}), JobNamePrefix="renamed")
    result = handler.on_event(update_event(created["PhysicalResourceId"], new, mantle_properties()), context)
    assert result == created
    assert len(server.state.jobs) == 1


def test_update_of_a_vanished_job_reports_what_the_id_knows(server, context, created):
    server.state.jobs.clear()
    props = mantle_properties()
    result = handler.on_event(update_event(created["PhysicalResourceId"], props, props), context)
    assert result["Data"] == {k: created["Data"][k] for k in ("JobName", "JobId")}


@pytest.mark.parametrize(
    "change",
    [
        {"HyperParameters": json.dumps({**HYPER, "n_epochs": 2})},
        {"BaseModelIdentifier": "qwen.qwen3-32b"},
        {"TrainingDataUri": f"s3://{BUCKET}/{VALIDATION_KEY}"},
        {"GraderLambdaArn": GRADER + "2"},
        {"ValidationDataUri": ""},
    ],
)
def test_a_definition_change_launches_a_replacement(server, context, created, change):
    result = handler.on_event(
        update_event(created["PhysicalResourceId"], mantle_properties(**change), mantle_properties()), context
    )
    assert result["PhysicalResourceId"] != created["PhysicalResourceId"]
    assert len(server.state.jobs) == 2


def test_replacement_then_delete_of_the_old_id_cancels_only_the_old_job(server, context, created):
    new = mantle_properties(HyperParameters=json.dumps({**HYPER, "n_epochs": 2}))
    replaced = handler.on_event(
        update_event(created["PhysicalResourceId"], new, mantle_properties()), context
    )
    handler.on_event(delete_event(created["PhysicalResourceId"], mantle_properties()), context)
    jobs = server.state.jobs
    assert jobs[created["Data"]["JobId"]]["status"] == "cancelled"
    assert jobs[replaced["Data"]["JobId"]]["status"] == "validating_files"
    # The old job's uploads are gone, the new job's stay.
    assert set(server.state.files) == {
        replaced["Data"]["TrainingFileId"],
        replaced["Data"]["ValidationFileId"],
    }


@pytest.mark.parametrize(
    "unsupported", [set(), {"metadata"}], ids=["hash-in-metadata", "hash-in-physical-id"]
)
def test_rollback_to_the_running_jobs_properties_keeps_it(server, context, unsupported):
    server.unsupported_fields = unsupported
    created = handler.on_event(create_event(mantle_properties()), context)
    failed = mantle_properties(HyperParameters=json.dumps({**HYPER, "n_epochs": True}))
    with pytest.raises(PropertyError):
        handler.on_event(update_event(created["PhysicalResourceId"], failed, mantle_properties()), context)
    rollback = handler.on_event(
        update_event(created["PhysicalResourceId"], mantle_properties(), failed), context
    )
    assert rollback == created
    assert len(server.state.jobs) == 1


def test_a_job_whose_metadata_differs_is_replaced_on_a_changed_update(server, context, created):
    only_job(server)["metadata"][DEFINITION_TAG_KEY] = "0" * 32
    old = mantle_properties(HyperParameters=json.dumps({**HYPER, "n_epochs": 3}))
    result = handler.on_event(update_event(created["PhysicalResourceId"], mantle_properties(), old), context)
    assert result["PhysicalResourceId"] != created["PhysicalResourceId"]


# -- Delete ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["validating_files", "queued", "running", "paused-or-new"])
def test_delete_cancels_a_job_that_still_runs_and_deletes_its_files(server, context, created, status):
    only_job(server)["status"] = status
    result = handler.on_event(delete_event(created["PhysicalResourceId"], mantle_properties()), context)
    assert result == {"PhysicalResourceId": created["PhysicalResourceId"]}
    assert only_job(server)["status"] == "cancelled"
    assert server.state.files == {}


@pytest.mark.parametrize("status", ["succeeded", "failed", "cancelled"])
def test_delete_leaves_a_finished_job_and_its_files_alone(server, context, created, status):
    only_job(server)["status"] = status
    handler.on_event(delete_event(created["PhysicalResourceId"], mantle_properties()), context)
    assert only_job(server)["status"] == status
    assert server.calls("POST", r"/v1/fine_tuning/jobs/.*/cancel") == [] and len(server.state.files) == 2


def test_delete_of_a_job_that_is_gone_succeeds(server, context, created):
    server.state.jobs.clear()
    result = handler.on_event(delete_event(created["PhysicalResourceId"], mantle_properties()), context)
    assert result == {"PhysicalResourceId": created["PhysicalResourceId"]}


def test_job_finishing_between_check_and_cancel_is_not_an_error(server, context, created, log_lines):
    server.fail("POST", r"/v1/fine_tuning/jobs/.*/cancel", 400)
    handler.on_event(delete_event(created["PhysicalResourceId"], mantle_properties()), context)
    assert any(line.get("outcome") == "not-running" for line in log_lines())


def test_delete_never_fails_but_says_how_to_cancel(server, context, created, log_lines, monkeypatch):
    monkeypatch.setattr("rft_mantle.client.time.sleep", lambda _: None)
    mantle.mantle_client.cache_clear()
    server.fail("POST", r"/v1/fine_tuning/jobs/.*/cancel", 500, times=10)
    result = handler.on_event(delete_event(created["PhysicalResourceId"], mantle_properties()), context)
    assert result == {"PhysicalResourceId": created["PhysicalResourceId"]}
    errors = [line for line in log_lines() if line["level"] == "ERROR"]
    assert len(errors) == 1 and "POST /v1/fine_tuning/jobs/" in errors[0]["message"]
    assert len(server.state.files) == 2  # not cancelled: the job still needs its files


@pytest.mark.parametrize(
    "physical_id", ["", "req-create-1", "gsmrftstack-0123456789ab", "a/b/c/d", "x/ftjob-1"]
)
def test_delete_of_an_id_that_is_not_our_job_makes_no_call(server, context, physical_id):
    result = handler.on_event(delete_event(physical_id, mantle_properties()), context)
    assert result == {"PhysicalResourceId": physical_id}
    assert server.requests == []


def test_logs_carry_no_sample_text_or_credentials(server, context, log_lines):
    handler.on_event(create_event(mantle_properties()), context)
    text = json.dumps(log_lines())
    assert "q17" not in text and "FOOBARSECRET" not in text and "testing" not in text
    assert any(line.get("job_id") for line in log_lines())


# -- Properties -----------------------------------------------------------------------------------


def test_mantle_properties_need_no_role_or_output():
    props = parse_properties(mantle_properties())
    assert props.is_mantle and props.role_arn == "" and props.output_data_uri == ""
    assert props.definition()["backend"] == "mantle"


def test_mantle_rejects_what_does_not_apply_in_one_message():
    with pytest.raises(PropertyError) as raised:
        parse_properties(
            mantle_properties(
                RoleArn="arn:aws:iam::123456789012:role/R",
                VpcConfig='{"subnetIds": ["subnet-1"], "securityGroupIds": ["sg-1"]}',
                BaseModelIdentifier="arn:aws:bedrock:us-west-2::foundation-model/openai.gpt-oss-20b",
                HyperParameters=json.dumps({"epochCount": 1, "n_epochs": True, "batch_size": None}),
                GraderLambdaArn="",
            )
        )
    message = str(raised.value)
    assert "missing required properties GraderLambdaArn" in message
    assert "RoleArn, VpcConfig do not apply to Backend mantle" in message
    assert "is not a fine-tuning API model id such as openai.gpt-oss-20b" in message
    assert "'epochCount' is not a fine-tuning API name" in message
    assert "n_epochs must be a number or a word, not True" in message
    assert "batch_size must be a number or a word, not None" in message


def test_an_unknown_backend_is_rejected():
    with pytest.raises(PropertyError, match="Backend 'sagemaker' is not one of bedrock, mantle"):
        parse_properties(properties(Backend="sagemaker"))


def test_an_explicit_bedrock_backend_is_the_nova_job_unchanged():
    nova, explicit = parse_properties(properties()), parse_properties(properties(Backend="bedrock"))
    assert explicit.definition() == nova.definition() and "backend" not in nova.definition()
    assert explicit.fingerprint() == nova.fingerprint()
