"""The emulator runs a post-training evaluation workflow: job Completed → rule → state machine → report.

A CDK stack with the workflow shape of ISSUE 13's contract (fixtures/eval_app) is synthesized in
process and deployed through local_aws's CloudFormation engine. Marking its emulated job Completed
puts Bedrock's real event on the default bus; the rule starts the state machine with it; the
LambdaInvoke tasks run their code in the Docker-free executor; the deployment goes Creating →
Active through a Wait (300 s in the definition, capped by the emulator) and a Choice; an inline Map
answers the shards through Converse (a replay: the base model answers with GPT-3 6B's recorded
solutions, the deployment with GPT-3 175B's), retries a broken shard and catches it as failed; the
report lands in the bucket and the summary on the topic, read through an SQS subscription.
The product's own template goes through the same steps in the demo (`test_local_aws_cdk.py`).
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from data_prep import prepare
from local_aws import converse_replay, settings
from local_aws.demo import DEMO_TARGETS, Demo, DemoRecord, Report
from local_aws.server import Emulator
from tests.integration.conftest import ClientFactory, create_job
from tests.integration.fixtures.eval_app import app as eval_app

pytestmark = pytest.mark.slow

JOB = f"{eval_app.JOB_PREFIX}-0123456789ab"
BASE_MODEL = "arn:aws:bedrock:us-east-1::foundation-model/amazon.nova-2-lite-v1:0:256k"
BASE_MODEL_ID = "us.amazon.nova-2-lite-v1:0"  # how on-demand calls name it: an inference profile
BROKEN_SHARD = ("tuned", 1)
QUESTIONS = 6
UNRECORDED = {"id": "unrecorded", "prompt": "What is 2+2?", "answer": "4"}


def _recorded() -> tuple[list[dict[str, Any]], dict[str, dict[str, dict[str, Any]]]]:
    """The first QUESTIONS GSM8K questions as prompts, and each model's recorded row per question."""
    rows = [
        json.loads(line)
        for line in converse_replay.SOLUTIONS.read_text(encoding="utf-8").splitlines()
        if line
    ]
    by_model: dict[str, dict[str, dict[str, Any]]] = {}
    order: list[str] = []
    for row in rows:
        by_model.setdefault(row["model"], {})[row["question"]] = row
        if row["question"] not in order:
            order.append(row["question"])
    prompts = [
        {
            "id": f"q{i}",
            "prompt": f"{q}\n\nReason step by step.",
            "answer": by_model["6b_verification"][q]["gold"],
        }
        for i, q in enumerate(order[:QUESTIONS])
    ]
    return prompts, by_model


PROMPTS, RECORDED = _recorded()


def _wait_for(what: str, probe: Any, timeout_s: float = 240) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture(scope="module")
def stack(emulator: Emulator, aws: ClientFactory) -> Iterator[dict[str, str]]:
    """The fixture stack deployed through the emulator's CloudFormation engine; its outputs."""
    template = eval_app.template(
        {"BASE_MODEL_ID": BASE_MODEL_ID, "BROKEN_SHARD": ":".join(map(str, (JOB, *BROKEN_SHARD)))}
    )
    cfn = aws("cloudformation")
    cfn.create_stack(
        StackName=eval_app.STACK_NAME, TemplateBody=json.dumps(template), Capabilities=["CAPABILITY_IAM"]
    )
    described = cfn.describe_stacks(StackName=eval_app.STACK_NAME)["Stacks"][0]
    assert described["StackStatus"] == "CREATE_COMPLETE", described.get("StackStatusReason")
    outputs = {o["OutputKey"]: o["OutputValue"] for o in described["Outputs"]}
    body = "\n".join(json.dumps(p) for p in [*PROMPTS, UNRECORDED])
    aws("s3").put_object(Bucket=outputs["BucketName"], Key=f"test/{JOB}.jsonl", Body=body.encode())
    yield outputs
    if any(
        s["StackStatus"] != "DELETE_COMPLETE"
        for s in cfn.list_stacks()["StackSummaries"]
        if s["StackName"] == eval_app.STACK_NAME
    ):
        _empty(aws, outputs["BucketName"])
        cfn.delete_stack(StackName=eval_app.STACK_NAME)


def _empty(aws: ClientFactory, bucket: str) -> None:
    s3 = aws("s3")
    for item in s3.list_objects_v2(Bucket=bucket).get("Contents", []):
        s3.delete_object(Bucket=bucket, Key=item["Key"])


@pytest.fixture(scope="module")
def inbox(aws: ClientFactory, stack: dict[str, str]) -> str:
    """An SQS queue subscribed to the stack's topic (raw delivery): what the topic published."""
    sqs = aws("sqs")
    url = sqs.create_queue(QueueName="evaluation-inbox")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    aws("sns").subscribe(
        TopicArn=stack["JobEventsTopicArn"],
        Protocol="sqs",
        Endpoint=arn,
        Attributes={"RawMessageDelivery": "true"},
    )
    return str(url)


def _messages(aws: ClientFactory, url: str) -> list[str]:
    received = aws("sqs").receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    return [m["Body"] for m in received]


def _complete(emulator: Emulator, job: str) -> dict[str, Any]:
    """The emulator's own route: the job completes and Bedrock's event goes to the default bus."""
    request = urllib.request.Request(
        emulator.endpoint + settings.COMPLETE_JOB_PATH,
        data=json.dumps({"jobIdentifier": job}).encode(),
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def run(emulator: Emulator, aws: ClientFactory, stack: dict[str, str], inbox: str) -> dict[str, Any]:
    """Create the job, complete it, and follow the execution the rule starts to its end."""
    create_job(aws, JOB, stack["BucketName"], BASE_MODEL)
    job = _complete(emulator, JOB)
    sfn, machine = aws("stepfunctions"), stack["EvaluationStateMachineArn"]
    started = _wait_for(
        "the rule to start an execution",
        lambda: sfn.list_executions(stateMachineArn=machine)["executions"],
        10,
    )
    arn = started[0]["executionArn"]
    final = _wait_for(
        "the execution to end",
        lambda: (d := sfn.describe_execution(executionArn=arn))["status"] != "RUNNING" and d,
    )
    history = sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
    return {"job": job, "executions": started, "execution": final, "history": history}


def _entered(history: list[dict[str, Any]]) -> list[str]:
    return [e["stateEnteredEventDetails"]["name"] for e in history if "stateEnteredEventDetails" in e]


def test_a_completed_job_starts_the_workflow_with_bedrocks_event(run: dict[str, Any]) -> None:
    assert run["job"]["status"] == "Completed"
    assert ":custom-model/amazon.nova-2-lite-v1:0:256k/" in run["job"]["outputModelArn"]
    assert len(run["executions"]) == 1
    event = json.loads(run["execution"]["input"])
    assert event["source"] == "aws.bedrock"
    assert event["detail-type"] == "Model Customization Job State Change"
    assert event["detail"]["jobStatus"] == "Completed"
    assert event["detail"]["jobName"] == JOB
    assert event["detail"]["outputModelArn"] == run["job"]["outputModelArn"]
    assert event["resources"] == [run["job"]["jobArn"]]
    assert time.strptime(event["time"], "%Y-%m-%dT%H:%M:%SZ")  # ISO-8601, as EventBridge delivers it


def test_the_workflow_succeeds_after_polling_the_deployment_until_active(run: dict[str, Any]) -> None:
    execution, history = run["execution"], run["history"]
    assert execution["status"] == "SUCCEEDED", (execution.get("error"), execution.get("cause"))
    entered = _entered(history)
    assert entered[:4] == ["FindModel", "StartDeployment", "WaitForDeployment", "DeploymentStatus"]
    # Creating on the first poll, Active on a later one: the Choice sent it back to the Wait.
    assert entered.count("DeploymentStatus") >= 2
    assert entered.count("WaitForDeployment") == entered.count("DeploymentStatus")
    assert entered[-3:] == ["WriteReport", "PublishSummary", "Evaluated"]
    assert "PublishFailure" not in entered


def test_wait_states_are_shortened_by_the_emulator(run: dict[str, Any]) -> None:
    history = run["history"]
    entered = [e["timestamp"] for e in history if e["type"] == "WaitStateEntered"]
    exited = [e["timestamp"] for e in history if e["type"] == "WaitStateExited"]
    assert entered and len(entered) == len(exited)
    longest = max((out - into).total_seconds() for into, out in zip(entered, exited, strict=True))
    assert longest < eval_app.WAIT_SECONDS  # the definition says 300 s


def test_the_deployment_is_active_and_the_model_its_output(aws: ClientFactory, run: dict[str, Any]) -> None:
    bedrock = aws("bedrock")
    found = bedrock.list_custom_model_deployments(modelArnEquals=run["job"]["outputModelArn"])
    (summary,) = found["modelDeploymentSummaries"]
    got = bedrock.get_custom_model_deployment(
        customModelDeploymentIdentifier=summary["customModelDeploymentArn"]
    )
    assert got["status"] == "Active"
    assert got["modelDeploymentName"] == f"{JOB}-eval"


def test_a_broken_shard_is_retried_then_reported_failed(run: dict[str, Any]) -> None:
    label, index = BROKEN_SHARD
    failures = [e for e in run["history"] if e["type"] == "LambdaFunctionFailed"]
    broken = [
        e
        for e in failures
        if f"shard {label}:{index} breaks" in e["lambdaFunctionFailedEventDetails"].get("cause", "")
    ]
    assert len(broken) == 1 + eval_app.RETRY_ATTEMPTS  # the first attempt and each retry
    output = json.loads(run["execution"]["output"])
    failed = [r for r in output["results"] if r.get("failed")]
    assert [(r["shard"]["label"], r["shard"]["index"]) for r in failed] == [BROKEN_SHARD]
    assert failed[0]["error"] == "RuntimeError"


def test_the_shards_replay_the_recorded_outputs(
    aws: ClientFactory, stack: dict[str, str], run: dict[str, Any]
) -> None:
    """Base model → GPT-3 6B (verification)'s solutions; the deployment → GPT-3 175B (verification)'s."""
    s3, bucket = aws("s3"), stack["BucketName"]
    stands_for = {"base": "6b_verification", "tuned": "175b_verification"}
    keys = sorted(
        o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=f"rft-eval/{JOB}/shards/")["Contents"]
    )
    shards = (len(PROMPTS) + 1 + eval_app.SHARD_SIZE - 1) // eval_app.SHARD_SIZE
    expected_keys = [
        f"rft-eval/{JOB}/shards/{label}/{i:04d}.jsonl"
        for label in ("base", "tuned")
        for i in range(shards)
        if (label, i) != BROKEN_SHARD
    ]
    assert keys == expected_keys
    question = {p["id"]: p["prompt"].split("\n\nReason", 1)[0] for p in PROMPTS}
    for key in keys:
        label = key.split("/")[-2]
        for row in (
            json.loads(line)
            for line in s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode().splitlines()
        ):
            if row["id"] == UNRECORDED["id"]:
                assert (
                    "no recorded solution" in row["error"] and "correct" not in row
                )  # an error, never scored
            else:
                assert row["response"] == RECORDED[stands_for[label]][question[row["id"]]]["response"]


def test_the_report_lands_in_the_bucket_and_the_summary_on_the_topic(
    aws: ClientFactory, stack: dict[str, str], inbox: str, run: dict[str, Any]
) -> None:
    report = json.loads(
        aws("s3").get_object(Bucket=stack["BucketName"], Key=f"rft-eval/{JOB}/report.json")["Body"].read()
    )
    questions = [p["prompt"].split("\n\nReason", 1)[0] for p in PROMPTS]
    labelled = {
        "base": sum(RECORDED["6b_verification"][q]["is_correct"] for q in questions),
        # the broken shard's questions are not counted at all (neither right nor wrong)
        "tuned": sum(
            RECORDED["175b_verification"][q]["is_correct"]
            for i, q in enumerate(questions)
            if i // eval_app.SHARD_SIZE != BROKEN_SHARD[1]
        ),
    }
    assert {m["model"]: m["correct"] for m in report["models"]} == labelled
    assert [m["errors"] for m in report["models"] if m["model"] == "base"] == [1]  # the unrecorded prompt
    summary = json.loads(run["execution"]["output"])["report"]["summary"]
    assert summary.startswith("replayed outputs, not live models")
    assert summary in _wait_for("the summary on the topic", lambda: _messages(aws, inbox), 10)


def test_a_workflow_failure_is_published_with_its_cause(
    aws: ClientFactory, stack: dict[str, str], inbox: str
) -> None:
    sfn = aws("stepfunctions")
    event = {
        "source": "aws.bedrock",
        "detail": {"jobArn": "arn:aws:bedrock:us-east-1:123456789012:model-customization-job/missing"},
    }
    arn = sfn.start_execution(stateMachineArn=stack["EvaluationStateMachineArn"], input=json.dumps(event))[
        "executionArn"
    ]
    final = _wait_for(
        "the execution to end",
        lambda: (d := sfn.describe_execution(executionArn=arn))["status"] != "RUNNING" and d,
    )
    assert final["status"] == "FAILED"
    assert final["error"] == "EvaluationFailed"
    published = [
        json.loads(m) for m in _wait_for("the failure on the topic", lambda: _messages(aws, inbox), 10)
    ]
    (failure,) = [m for m in published if isinstance(m, dict) and m.get("failed")]
    assert failure["error"] == "ResourceNotFoundException" and "missing" in failure["cause"]


DEMO_JOB = f"{eval_app.JOB_PREFIX}-demo00000000"
DEMO_PROMPTS = 5


def test_the_demo_step_follows_a_workflow_from_completion_to_summary(
    emulator: Emulator, aws: ClientFactory, stack: dict[str, str], run: dict[str, Any], tmp_path: Any
) -> None:
    """`python -m local_aws demo`'s evaluation step, on this stack: what it runs on GsmRftStack's own."""
    prepare("gsm8k", tmp_path / "data")
    test_split = tmp_path / "data" / "test.jsonl"
    recorded, gold = converse_replay.recordings(), {}
    for rows in RECORDED.values():
        gold.update({converse_replay.normalize(q): row["gold"] for q, row in rows.items()})
    prompts = []
    for line in test_split.read_text(encoding="utf-8").splitlines()[:DEMO_PROMPTS]:
        item = json.loads(line)
        user = [m["content"] for m in item["messages"] if m["role"] == "user"][-1]
        prompts.append({"id": item["id"], "prompt": user, "answer": gold[recorded.question_in(user)]})
    body = "\n".join(json.dumps(p) for p in prompts).encode()
    aws("s3").put_object(Bucket=stack["BucketName"], Key=f"test/{DEMO_JOB}.jsonl", Body=body)
    create_job(aws, DEMO_JOB, stack["BucketName"], BASE_MODEL)
    lines: list[str] = []
    demo = Demo(emulator, log_path=tmp_path / "demo.log", report=Report(lines.append), output_dir=tmp_path)
    demo.test_split = test_split
    record = DemoRecord(eval_app.STACK_NAME, outputs={**stack, "JobName": DEMO_JOB})

    demo.evaluate(DEMO_TARGETS["GsmRftStack"], record)  # raises DemoFailure on any failed check
    print("\n".join(lines))  # what the demo prints (shown with `pytest -s`)

    evaluation = record.evaluation
    progress = [line for line in lines if line.lstrip().startswith("... the workflow runs")]
    lines = [line for line in lines if line not in progress]  # a progress line every 30 s of the run
    assert [line.split()[1] for line in lines] == [
        "complete",
        "workflow",
        "model",
        "shards",
        "report",
        "summary",
    ]
    assert all(line.split()[2] == "ok" for line in lines)
    assert evaluation.execution["status"] == "SUCCEEDED"
    _, labeled = label_counts_for(test_split, DEMO_PROMPTS)
    assert evaluation.correct == {
        "base": (labeled["base"], DEMO_PROMPTS),
        "tuned": (labeled["tuned"], DEMO_PROMPTS),
    }
    assert "REPLAY of recorded GSM8K outputs" in lines[3]
    assert evaluation.summary.startswith("replayed outputs") and evaluation.summary in lines[5]
    # The demo cleans up after itself: the deployment (billed while it exists, on AWS) and its inbox.
    assert (
        aws("bedrock").list_custom_model_deployments(modelArnEquals=evaluation.job["outputModelArn"])[
            "modelDeploymentSummaries"
        ]
        == []
    )
    assert not any("demo-inbox" in url for url in aws("sqs").list_queues().get("QueueUrls", []))


def label_counts_for(test_split: Any, prompts: int) -> tuple[int, dict[str, int]]:
    from local_aws.evaluate_demo import label_counts

    count, by_model = label_counts(
        (converse_replay.BASE_MODEL_REPLAY, converse_replay.TUNED_MODEL_REPLAY), test_split, limit=prompts
    )
    return count, {
        "base": by_model[converse_replay.BASE_MODEL_REPLAY],
        "tuned": by_model[converse_replay.TUNED_MODEL_REPLAY],
    }


def test_a_stack_without_the_workflow_is_skipped_in_one_line(emulator: Emulator, tmp_path: Any) -> None:
    lines: list[str] = []
    demo = Demo(emulator, log_path=tmp_path / "demo.log", report=Report(lines.append), output_dir=tmp_path)
    record = DemoRecord("GsmRftStack", outputs={"JobName": "gsmrftstack-0123456789ab"})

    demo.evaluate(DEMO_TARGETS["GsmRftStack"], record)

    assert record.evaluation.skipped == "GsmRftStack has no EvaluationStateMachineArn output"
    (line,) = lines
    assert line.split()[1:3] == ["evaluate", "skip"]


def test_the_stack_is_destroyed_with_its_state_machine_and_rule(
    aws: ClientFactory, stack: dict[str, str], run: dict[str, Any]
) -> None:
    _empty(aws, stack["BucketName"])
    cfn = aws("cloudformation")
    cfn.delete_stack(StackName=eval_app.STACK_NAME)
    status = [
        s["StackStatus"] for s in cfn.list_stacks()["StackSummaries"] if s["StackName"] == eval_app.STACK_NAME
    ]
    assert status == ["DELETE_COMPLETE"]
    assert aws("stepfunctions").list_state_machines()["stateMachines"] == []
    assert aws("events").list_rules()["Rules"] == []
