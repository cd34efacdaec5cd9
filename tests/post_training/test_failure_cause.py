"""Which failure ended a workflow, read from its history: retried and caught-shard failures did not."""

from __future__ import annotations

import json

import boto3
from moto import mock_aws

from rft.post_training import Failure, find_execution, root_failure
from tests.cli.helpers import JOB_NAME, REGION

from .workflow import entered, event, exited, failed_history, job_arn, lambda_cause, start, state_machine


def shard_iteration(first: int, failed: bool) -> list[dict]:
    """One inline Map iteration of AnswerShard; `failed`: its task fails and the Catch reports the shard."""
    events = [event(first, "MapIterationStarted", mapIterationStartedEventDetails={"name": "AnswerShards"})]
    events.append(entered(first + 1, "TaskStateEntered", "AnswerShard"))
    if failed:
        details = {"error": "Lambda.Unknown", "cause": lambda_cause("Task timed out", "Sandbox.Timedout")}
        events.append(event(first + 2, "TaskFailed", taskFailedEventDetails=details))
    else:
        events.append(event(first + 2, "TaskSucceeded"))
    events.append(exited(first + 3, "TaskStateExited", "AnswerShard"))
    events.append(event(first + 4, "MapIterationSucceeded", mapIterationSucceededEventDetails={"index": 0}))
    return events


def test_the_retried_attempt_is_not_the_cause() -> None:
    found = root_failure(failed_history())
    assert found == Failure(
        "StartDeployment",
        "ValidationException",
        "You have reached the quota of custom model deployments for this account",
    )


def test_a_shard_caught_inside_its_iteration_is_not_the_cause_of_a_later_failure() -> None:
    events = [entered(1, "MapStateEntered", "AnswerShards"), *shard_iteration(2, failed=True)]
    events += shard_iteration(7, failed=False)
    events += [exited(12, "MapStateExited", "AnswerShards"), entered(13, "TaskStateEntered", "WriteReport")]
    events.append(
        event(14, "TaskFailed", taskFailedEventDetails={"error": "S3.AccessDenied", "cause": "no PutObject"})
    )
    assert root_failure(events) == Failure("WriteReport", "S3.AccessDenied", "no PutObject")
    # and with nothing failing after the Map, a caught shard is no cause at all
    assert root_failure(events[:13]) is None


def test_a_failed_iteration_is_the_cause() -> None:
    events = [entered(1, "MapStateEntered", "AnswerShards"), *shard_iteration(2, failed=True)]
    events[-1] = event(6, "MapIterationFailed", mapIterationFailedEventDetails={"index": 0})
    found = root_failure(events)
    assert found is not None
    assert (found.state, found.error, found.cause) == ("AnswerShard", "Lambda.Unknown", "Task timed out")


def test_a_long_cause_is_cut_and_whitespace_folded() -> None:
    events = [
        entered(1, "TaskStateEntered", "PlanShards"),
        event(2, "TaskFailed", taskFailedEventDetails={"error": "E", "cause": "word\n  " * 200}),
    ]
    found = root_failure(events)
    assert (
        found is not None
        and len(found.cause) == 400
        and found.cause.endswith("…")
        and "\n" not in found.cause
    )


@mock_aws
def test_executions_are_matched_by_job_arn_else_job_name_and_others_are_skipped() -> None:
    machine = state_machine()
    sfn = boto3.client("stepfunctions", region_name=REGION)
    sfn.start_execution(stateMachineArn=machine, name="by-hand", input="{}")
    by_name = sfn.start_execution(
        stateMachineArn=machine, name="name-only", input=json.dumps({"detail": {"jobName": JOB_NAME}})
    )["executionArn"]
    start(machine, JOB_NAME, job_arn("gsmrftstack-job-0123456789ab-rerun"), name="same-name-other-arn")

    assert find_execution(sfn, machine, JOB_NAME)["executionArn"].endswith("same-name-other-arn")  # newest
    assert find_execution(sfn, machine, JOB_NAME, job_arn())["executionArn"] == by_name
    assert find_execution(sfn, machine, "another-job", job_arn("another-job")) is None
