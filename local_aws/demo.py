"""`python -m local_aws demo`: the product's whole life cycle, offline, one line per step.

bootstrap → deploy (the job is launched) → invoke the reward Lambda with the task's samples →
inspect the job → the post-training evaluation (the job is marked Completed, the stack's own state
machine evaluates the tuned model against the base model on replayed outputs) → `cdk diff` a
one-value change → deploy it (a replacement job; the old one is stopped) → destroy → check nothing
is left. It runs its own emulator in this process, so it starts
from a clean account and leaves nothing running. Any failed check stops it with the reason and a
non-zero exit; the CDK CLI's full output goes to build/local_aws/demo.log.

Two things run side by side to keep it short on two cores: the first synth with bootstrap, and the
second synth (of the update) with the first deploy. Deploy, diff, update and destroy then use those
assemblies (`cdk deploy --app <assembly>`), so the app is synthesized only twice.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from local_aws import client_env, converse_replay, inventory, settings
from local_aws.cdk_cli import CdkCli, CdkResult
from local_aws.evaluate_demo import TEST_SPLIT, EvaluateDemoFailure, label_counts
from local_aws.server import Emulator
from stacks.config import eval_layout, load_config
from stacks.metric_names import names as metric_names
from tasks import TASKS, TaskSpec


class DemoFailure(Exception):
    """A step failed; `reason` is what the CLI, the Lambda or the check said."""

    def __init__(self, step: str, reason: str, seconds: float = 0.0) -> None:
        super().__init__(f"{step}: {reason}")
        self.step = step
        self.reason = reason
        self.seconds = seconds


@dataclass(frozen=True)
class DemoTarget:
    """One stack the demo knows how to exercise."""

    stack: str
    launch_context: Mapping[str, str]
    update_context: Mapping[str, str]  # one value, e.g. {"rft:gsm8k:epochCount": "2"}
    samples: Path
    samples_kind: str  # what the samples are, for the report line
    expected_score: Callable[[Mapping[str, Any]], float]  # from a sample's `label`
    # A judge model the reward calls through Converse, which the emulator does not serve: every
    # judge call fails, so the demo can only check the scores the code decides (PandaLM's verdict).
    judge_model: str | None = None

    @property
    def update_parameter(self) -> tuple[str, str]:
        """The hyperparameter the update changes and its new value."""
        key, value = next(iter(self.update_context.items()))
        return key.rsplit(":", 1)[-1], value


def _is_correct(label: Mapping[str, Any]) -> float:
    return 1.0 if label.get("is_correct") else 0.0


def _verdict_only(label: Mapping[str, Any]) -> float:
    """PandaLM's score when the judge scored nothing in the batch: the verdict alone."""
    return 1.0 if label.get("verdict_correct") else 0.0


# Per task: the samples file in local_aws/samples (see its README), what they are, the expected score.
SAMPLES: dict[str, tuple[str, str, Callable[[Mapping[str, Any]], float]]] = {
    "gsm8k": ("gsm8k_solutions.jsonl", "real model solutions", _is_correct),
    "finqa": ("finqa_answers.jsonl", "answers written for the demo", _is_correct),
    "pandalm": ("pandalm_judgments.jsonl", "judgments written for the demo", _verdict_only),
}


def _current_epoch_count(task: TaskSpec) -> int:
    """epochCount as the stack synthesizes it from cdk.json, so the update always changes it."""
    context = json.loads((settings.PROJECT_ROOT / "cdk.json").read_text(encoding="utf-8")).get("context", {})
    return int(load_config(task, context.get).hyperparameters["epochCount"])


def demo_targets() -> dict[str, DemoTarget]:
    """A target for every registered task that has demo samples, by stack name."""
    targets: dict[str, DemoTarget] = {}
    for task in TASKS:
        if task.name not in SAMPLES:
            continue
        file_name, kind, expected = SAMPLES[task.name]
        epochs = _current_epoch_count(task)
        targets[task.stack_name] = DemoTarget(
            stack=task.stack_name,
            launch_context={"rft:launchJob": "true"},
            update_context={f"rft:{task.name}:epochCount": str(epochs + 1 if epochs < 50 else epochs - 1)},
            samples=settings.SAMPLES_DIR / file_name,
            samples_kind=kind,
            expected_score=expected,
            judge_model=task.judge.model_id if task.judge else None,
        )
    return targets


DEMO_TARGETS: dict[str, DemoTarget] = demo_targets()


# The stack output that names the post-training evaluation's state machine (lambda/rft_eval/layout.py).
EVALUATION_OUTPUT: str = eval_layout().STATE_MACHINE_OUTPUT
EVALUATION_TIMEOUT_S = 900.0
PROGRESS_EVERY_S = 30.0
REPORT_FILES = ("report.json", "report.md", "chart.svg", "summary.txt")
REPLAYS = {"base": converse_replay.BASE_MODEL_REPLAY, "tuned": converse_replay.TUNED_MODEL_REPLAY}


@dataclass
class EvaluationRecord:
    """What the demo saw of the post-training evaluation (or why it did not run)."""

    skipped: str = ""
    job: dict[str, Any] = field(default_factory=dict)
    execution: dict[str, Any] = field(default_factory=dict)
    states: list[str] = field(default_factory=list)  # the states entered, in order
    deployment: dict[str, Any] = field(default_factory=dict)
    shards: dict[str, int] = field(default_factory=dict)  # model label -> shard files written
    correct: dict[str, tuple[int, int]] = field(default_factory=dict)  # label -> (correct, prompts)
    labels: dict[str, int] = field(default_factory=dict)  # label -> GSM8K's labels' count
    report_uri: str = ""
    report_files: list[str] = field(default_factory=list)
    summary: str = ""
    topic_messages: list[str] = field(default_factory=list)


@dataclass
class DemoRecord:
    """What the demo saw for one stack: the facts its checks were made on (tests assert on them too)."""

    stack: str
    outputs: dict[str, str] = field(default_factory=dict)
    scores: list[tuple[str, float, float]] = field(default_factory=list)  # (sample id, score, expected)
    first_job: dict[str, Any] = field(default_factory=dict)
    # The training dashboard's widget titles and the alarms (name -> the actions they notify).
    dashboard_widgets: list[str] = field(default_factory=list)
    alarms: dict[str, list[str]] = field(default_factory=dict)
    evaluation: EvaluationRecord = field(default_factory=EvaluationRecord)
    diff: list[str] = field(default_factory=list)
    second_job: dict[str, Any] = field(default_factory=dict)
    statuses_after_update: dict[str, str] = field(default_factory=dict)
    statuses_after_destroy: dict[str, str] = field(default_factory=dict)
    leftovers: dict[str, list[str]] = field(default_factory=dict)


class Report:
    """Numbered step lines: `  4. deploy    ok     GsmRftStack CREATE_COMPLETE ...  (6.8s)`."""

    def __init__(self, print_line: Callable[[str], None] = print) -> None:
        self.count = 0
        self.print_line = print_line
        self.seconds: dict[str, float] = {}

    def line(self, step: str, detail: str, seconds: float, ok: bool = True, skipped: bool = False) -> None:
        self.count += 1
        key = step if step not in self.seconds else f"{step} ({self.count})"
        self.seconds[key] = seconds
        status = "skip  " if skipped else "ok    " if ok else "FAILED"
        self.print_line(f"{self.count:>3}. {step:<9} {status} {detail}  ({seconds:.1f}s)")


def _timed(action: Callable[[], Any]) -> tuple[Any, float]:
    started = time.monotonic()
    result = action()
    return result, time.monotonic() - started


class Demo:
    """Runs the life cycle of `DemoTarget`s against one emulator (bootstrapping it once)."""

    def __init__(self, emulator: Emulator, *, log_path: Path, report: Report, output_dir: Path) -> None:
        self.cli = CdkCli(endpoint=emulator.endpoint, log_path=log_path, timeout_s=300)
        self.client = client_env.client_factory(emulator.endpoint)
        self.report = report
        self.output_dir = output_dir
        self.bootstrapped = False
        # The test prompts the evaluation's accuracies are checked against (the split the stack uploads).
        self.test_split = TEST_SPLIT

    # -- helpers -------------------------------------------------------------------------------------
    def _cdk(self, step: str, result: CdkResult) -> CdkResult:
        if not result.ok:
            raise DemoFailure(step, result.failure_reason(), result.seconds)
        return result

    def _stack(self, name: str) -> dict[str, Any]:
        return self.client("cloudformation").describe_stacks(StackName=name)["Stacks"][0]  # type: ignore[no-any-return]

    def _outputs(self, name: str) -> dict[str, str]:
        return {o["OutputKey"]: o["OutputValue"] for o in self._stack(name).get("Outputs", [])}

    def _job(self, name: str) -> dict[str, Any]:
        job = self.client("bedrock").get_model_customization_job(jobIdentifier=name)
        job.pop("ResponseMetadata", None)
        return job  # type: ignore[no-any-return]

    def _expect_status(self, step: str, stack: str, wanted: str) -> None:
        described = self._stack(stack)
        if described["StackStatus"] != wanted:
            reason = described.get("StackStatusReason") or ""
            raise DemoFailure(step, f"{stack} is {described['StackStatus']}, expected {wanted}. {reason}")

    def stack_exists(self, name: str) -> bool:
        summaries = self.client("cloudformation").list_stacks()["StackSummaries"]
        return any(s["StackName"] == name and s["StackStatus"] != "DELETE_COMPLETE" for s in summaries)

    # -- the life cycle ------------------------------------------------------------------------------
    def run(self, target: DemoTarget) -> DemoRecord:
        """Every step of the life cycle; raises `DemoFailure` at the first failed check."""
        record = DemoRecord(target.stack)
        first = self.output_dir / f"cdk.out.{target.stack}.deploy"
        update = self.output_dir / f"cdk.out.{target.stack}.update"
        self.bootstrap_and_synth(target, first)
        baseline = inventory.snapshot(self.client)
        self.deploy_and_synth_update(target, first, update)
        record.outputs = self._outputs(target.stack)
        record.scores = self.invoke(target, record.outputs)
        record.first_job = self.inspect_job(record.outputs)
        self.inspect_monitor(target, record)
        self.evaluate(target, record)
        record.diff = self.diff(target, update)
        self.update(target, update, record)
        self.destroy(target, update, record)
        self.verify(baseline, record)
        return record

    def bootstrap_and_synth(self, target: DemoTarget, assembly: Path) -> None:
        context = target.launch_context
        with ThreadPoolExecutor(max_workers=2) as pool:
            synth = pool.submit(
                _timed, lambda: self.cli.synth(target.stack, output_dir=assembly, context=context)
            )
            beside = ""
            if not self.bootstrapped:
                result, seconds = pool.submit(_timed, self.cli.bootstrap).result()
                self._cdk("bootstrap", result)
                self._expect_status("bootstrap", "CDKToolkit", "CREATE_COMPLETE")
                self.report.line("bootstrap", "CDKToolkit CREATE_COMPLETE (cdk bootstrap)", seconds)
                self.bootstrapped = True
                beside = " (beside bootstrap)"
            result, seconds = synth.result()
            self._cdk("synth", result)
            flags = " ".join(f"-c {k}={v}" for k, v in context.items())
            self.report.line("synth", f"{target.stack} {flags}{beside}", seconds)

    def deploy_and_synth_update(self, target: DemoTarget, first: Path, update: Path) -> None:
        """Deploy the first assembly while the update's is synthesized (one synth at a time: the app's
        data preparation writes to build/)."""
        context = {**target.launch_context, **target.update_context}
        with ThreadPoolExecutor(max_workers=2) as pool:
            deploy = pool.submit(_timed, lambda: self.cli.deploy(target.stack, app=str(first)))
            synth = pool.submit(
                _timed, lambda: self.cli.synth(target.stack, output_dir=update, context=context)
            )
            result, seconds = deploy.result()
            self._cdk("deploy", result)
            self._expect_status("deploy", target.stack, "CREATE_COMPLETE")
            listed = self.client("cloudformation").list_stack_resources(StackName=target.stack)
            count = len(listed["StackResourceSummaries"])
            self.report.line(
                "deploy", f"{target.stack} CREATE_COMPLETE, {count} resources (cdk deploy)", seconds
            )
            result, seconds = synth.result()
            self._cdk("synth", result)
            key, value = next(iter(target.update_context.items()))
            self.report.line("synth", f"{target.stack} -c {key}={value} (beside deploy)", seconds)

    def diff(self, target: DemoTarget, assembly: Path) -> list[str]:
        result = self._cdk("diff", self.cli.diff(target.stack, app=str(assembly)))
        seconds = result.seconds
        changes = diff_summary(result.output)
        name, _ = target.update_parameter
        if not any(name in change for change in changes):
            raise DemoFailure(
                "diff", f"cdk diff does not show the {name} change: {changes or result.output[-500:]}"
            )
        self.report.line("diff", "; ".join(changes), seconds)
        return changes

    def update(self, target: DemoTarget, assembly: Path, record: DemoRecord) -> None:
        """Deploy the one-value change: a replacement job with the new value; the old job stopped."""
        seconds = self._cdk("update", self.cli.deploy(target.stack, app=str(assembly))).seconds
        self._expect_status("update", target.stack, "UPDATE_COMPLETE")
        record.outputs = self._outputs(target.stack)
        record.second_job = self._job(record.outputs["JobName"])
        old, new = record.first_job["jobName"], record.second_job["jobName"]
        record.statuses_after_update = {old: self._job(old)["status"], new: record.second_job["status"]}
        name, wanted = target.update_parameter
        actual = _hyperparameters(record.second_job).get(name)
        if str(actual) != wanted:
            raise DemoFailure("update", f"the new job {new} has {name}={actual}, expected {wanted}")
        # A job the evaluation step marked Completed has finished: the replacement leaves it Completed.
        finished = "Completed" if record.evaluation.job else "Stopped"
        if record.statuses_after_update[old] != finished:
            status = record.statuses_after_update[old]
            raise DemoFailure("update", f"the replaced job {old} is {status}, not {finished}")
        detail = f"new job {new} {name}={actual} {record.second_job['status']}; replaced job {old} {finished}"
        self.report.line("update", detail, seconds)

    def destroy(self, target: DemoTarget, assembly: Path, record: DemoRecord) -> None:
        seconds = self._cdk("destroy", self.cli.destroy(target.stack, app=str(assembly))).seconds
        if self.stack_exists(target.stack):
            status = self._stack(target.stack)["StackStatus"]
            raise DemoFailure("destroy", f"{target.stack} still exists: {status}")
        jobs = [record.first_job["jobName"], record.second_job["jobName"]]
        record.statuses_after_destroy = statuses = {job: self._job(job)["status"] for job in jobs}
        running = [job for job, status in statuses.items() if status in inventory.RUNNING_JOB_STATES]
        if running:
            raise DemoFailure("destroy", f"job(s) still running after destroy: {running}")
        listed = ", ".join(f"{job} {status}" for job, status in statuses.items())
        self.report.line("destroy", f"{target.stack} deleted (cdk destroy); jobs: {listed}", seconds)

    def verify(self, baseline: inventory.Inventory, record: DemoRecord) -> None:
        """Everything the stack created is gone: the account looks as it did right after bootstrap."""
        record.leftovers, seconds = _timed(
            lambda: inventory.leftovers(baseline, inventory.snapshot(self.client))
        )
        if record.leftovers:
            raise DemoFailure("verify", f"left behind after destroy: {record.leftovers}")
        self.report.line(
            "verify", f"nothing left: no {', '.join(sorted(baseline))} beyond bootstrap's", seconds
        )

    def invoke(self, target: DemoTarget, outputs: Mapping[str, str]) -> list[tuple[str, float, float]]:
        samples = [
            json.loads(line) for line in target.samples.read_text(encoding="utf-8").splitlines() if line
        ]
        labels = [sample.pop("label") for sample in samples]
        started = time.monotonic()
        response = self.client("lambda").invoke(
            FunctionName=outputs["RewardFunctionName"], Payload=json.dumps(samples).encode()
        )
        payload = response["Payload"].read()
        seconds = time.monotonic() - started
        if response.get("FunctionError"):
            raise DemoFailure(
                "invoke", f"the reward Lambda failed: {payload.decode(errors='replace')[:500]}", seconds
            )
        results = json.loads(payload)
        if not isinstance(results, list) or len(results) != len(samples):
            raise DemoFailure(
                "invoke", f"expected {len(samples)} results, got: {str(results)[:300]}", seconds
            )
        scores = []
        judge_errors = 0
        for sample, label, result in zip(samples, labels, results, strict=True):
            if result.get("id") != sample["id"]:
                raise DemoFailure(
                    "invoke", f"result id {result.get('id')!r} is not sample {sample['id']!r}", seconds
                )
            metrics = {m.get("name"): m.get("value") for m in result.get("metrics_list") or []}
            judge_errors += metrics.get("judge_error") == 1
            scores.append(
                (sample["id"], float(result["aggregate_reward_score"]), target.expected_score(label))
            )
        pairs = " ".join(f"{score:g}/{'✓' if expected else '✗'}" for _, score, expected in scores)
        agree = sum(score == expected for _, score, expected in scores)
        detail = f"reward Lambda on {len(scores)} {target.samples_kind}, score/label: {pairs}; {agree}/{len(scores)} agree"
        if target.judge_model:
            # Say plainly what was not checked: the judge's half of the reward never ran.
            detail = (
                f"reward Lambda on {len(scores)} {target.samples_kind}; the judge {target.judge_model} "
                f"(Converse) is not served by the emulator: judge_error=1 on {judge_errors}/{len(scores)}, "
                f"so only the verdict is checked, score/verdict: {pairs}; {agree}/{len(scores)} agree"
            )
            if judge_errors != len(scores):
                raise DemoFailure(
                    "invoke", f"expected every judge call to fail offline, {judge_errors}: {detail}", seconds
                )
        if agree != len(scores):
            raise DemoFailure("invoke", f"scores disagree with the labels: {detail}", seconds)
        self.report.line("invoke", detail, seconds)
        return scores

    def inspect_job(self, outputs: Mapping[str, str]) -> dict[str, Any]:
        started = time.monotonic()
        job = self._job(outputs["JobName"])
        rft = (job.get("customizationConfig") or {}).get("rftConfig") or {}
        grader = ((rft.get("graderConfig") or {}).get("lambdaGrader") or {}).get("lambdaArn")
        if job.get("customizationType") != "REINFORCEMENT_FINE_TUNING":
            raise DemoFailure(
                "job", f"job type is {job.get('customizationType')}, not REINFORCEMENT_FINE_TUNING"
            )
        if grader != outputs["RewardFunctionArn"]:
            raise DemoFailure(
                "job", f"the job's grader is {grader}, not the reward Lambda {outputs['RewardFunctionArn']}"
            )
        hyper = " ".join(f"{k}={v}" for k, v in sorted(_hyperparameters(job).items()))
        base = job.get("baseModelArn", "").rsplit("/", 1)[-1]
        detail = (
            f"{job['jobName']} {job['status']} {job['customizationType']} base={base} "
            f"grader=the reward Lambda; {hyper}"
        )
        self.report.line("job", detail, time.monotonic() - started)
        return job

    def inspect_monitor(self, target: DemoTarget, record: DemoRecord) -> None:
        """The dashboard and alarms the stack created, each alarm notifying the job-events topic."""
        started = time.monotonic()
        cloudwatch, outputs = self.client("cloudwatch"), record.outputs
        dashboard = outputs["DashboardName"]
        body = json.loads(cloudwatch.get_dashboard(DashboardName=dashboard)["DashboardBody"])
        record.dashboard_widgets = [w.get("properties", {}).get("title", "") for w in body.get("widgets", [])]
        prefix = metric_names.alarm_name_prefix(target.stack)
        found = cloudwatch.describe_alarms(AlarmNamePrefix=prefix)["MetricAlarms"]
        record.alarms = {
            a["AlarmName"]: [*a.get("AlarmActions", []), *a.get("InsufficientDataActions", [])] for a in found
        }
        silent = [
            name for name, actions in record.alarms.items() if outputs["JobEventsTopicArn"] not in actions
        ]
        if not record.alarms or silent:
            raise DemoFailure(
                "monitor", f"alarms without the job-events topic: {silent or 'no alarms at all'}"
            )
        names = ", ".join(sorted(n.removeprefix(prefix) for n in record.alarms))
        detail = (
            f"dashboard {dashboard} ({len(record.dashboard_widgets)} widgets); {len(record.alarms)} alarms "
            f"{prefix}{{{names}}} → the job-events topic"
        )
        self.report.line("monitor", detail, time.monotonic() - started)

    # -- the post-training evaluation ----------------------------------------------------------------
    def evaluate(self, target: DemoTarget, record: DemoRecord) -> None:
        """Mark the job Completed and follow the stack's own evaluation workflow to its summary.

        The stack's rule starts its state machine with Bedrock's event; the workflow deploys the output
        model, answers the test prompts with the base model and the deployment (replays on the emulator:
        `converse_replay.BASE_MODEL_REPLAY` and `TUNED_MODEL_REPLAY`), writes the report to the bucket and
        publishes the summary to the job-events topic. A template without the workflow is skipped.
        """
        evaluation = record.evaluation
        machine = record.outputs.get(EVALUATION_OUTPUT)
        if not machine:
            evaluation.skipped = f"{target.stack} has no {EVALUATION_OUTPUT} output"
            self.report.line(
                "evaluate",
                f"skipped: {evaluation.skipped} (no post-training evaluation in it)",
                0.0,
                skipped=True,
            )
            return
        job_name = record.outputs["JobName"]
        queue = self._subscribe(record.outputs["JobEventsTopicArn"], f"{target.stack}-demo-inbox")
        try:
            self._run_evaluation(target, record, machine, job_name, queue)
        finally:
            self._cleanup_evaluation(evaluation, queue)

    def _run_evaluation(
        self, target: DemoTarget, record: DemoRecord, machine: str, job_name: str, queue: dict[str, str]
    ) -> None:
        from moto.core.exceptions import JsonRESTError

        from local_aws.moto_patches.bedrock_deployments import EVENT_DETAIL_TYPE, complete_job

        evaluation = record.evaluation
        started = time.monotonic()
        try:
            evaluation.job = complete_job(settings.ACCOUNT_ID, settings.REGION, job_name)
        except JsonRESTError as error:
            raise DemoFailure("complete", f"could not complete {job_name}: {error.message}") from error
        self.report.line(
            "complete",
            f"job {job_name} marked Completed (emulator; nothing trains offline), output model "
            f'{evaluation.job["outputModelArn"].split(":custom-model/", 1)[-1]}; Bedrock\'s "{EVENT_DETAIL_TYPE}" '
            "event put on the default bus",
            time.monotonic() - started,
        )
        sfn = self.client("stepfunctions")
        started = time.monotonic()
        executions = _poll(lambda: sfn.list_executions(stateMachineArn=machine)["executions"], 15.0)
        if not executions:
            raise DemoFailure(
                "workflow",
                f"the event started no execution of {machine} within 15s: does the stack's rule match "
                f"Bedrock's event (detail-type {EVENT_DETAIL_TYPE!r}, detail.jobStatus 'Completed')?",
            )
        arn = executions[0]["executionArn"]
        last_said = [time.monotonic()]

        def ended() -> dict[str, Any] | None:
            described = _ended(sfn.describe_execution(executionArn=arn))
            if described is None and time.monotonic() - last_said[0] >= PROGRESS_EVERY_S:
                last_said[0] = time.monotonic()
                self.report.print_line(f"{'':15}... the workflow runs ({time.monotonic() - started:.0f}s)")
            return described

        final = _poll(ended, EVALUATION_TIMEOUT_S)
        if not final:
            raise DemoFailure("workflow", f"{arn} still RUNNING after {EVALUATION_TIMEOUT_S:.0f}s")
        evaluation.execution = final
        history = _history(sfn, arn)
        evaluation.states = [
            e["stateEnteredEventDetails"]["name"] for e in history if "stateEnteredEventDetails" in e
        ]
        seconds = time.monotonic() - started
        if final["status"] != "SUCCEEDED":
            raise DemoFailure(
                "workflow",
                f"{arn.rsplit(':', 1)[-1]} {final['status']}: {final.get('error')}: {final.get('cause')}",
                seconds,
            )
        event = json.loads(final.get("input") or "{}")
        if (event.get("detail") or {}).get("jobName") != job_name:
            raise DemoFailure(
                "workflow", f"the execution's input is not the job's event: {str(event)[:200]}", seconds
            )
        self.report.line(
            "workflow",
            f"the rule started execution {arn.rsplit(':', 1)[-1]} with the event; SUCCEEDED through "
            f"{len(evaluation.states)} states (Wait states shortened to {settings.SFN_WAIT_CAP_S:g}s by the emulator)",
            seconds,
        )
        self._check_deployment(evaluation)
        self._check_report(record, job_name)
        self._check_summary(evaluation, queue)

    def _check_deployment(self, evaluation: EvaluationRecord) -> None:
        started = time.monotonic()
        bedrock = self.client("bedrock")
        found = bedrock.list_custom_model_deployments(modelArnEquals=evaluation.job["outputModelArn"])
        summaries = found["modelDeploymentSummaries"]
        if not summaries:
            raise DemoFailure("model", f"no custom model deployment of {evaluation.job['outputModelArn']}")
        evaluation.deployment = summaries[0]
        if evaluation.deployment["status"] != "Active":
            raise DemoFailure(
                "model",
                f"deployment {evaluation.deployment['customModelDeploymentArn']} is {evaluation.deployment['status']}",
            )
        polls = sum(1 for state in evaluation.states if state == "DeploymentStatus") or "?"
        self.report.line(
            "model",
            f"deployment {evaluation.deployment['customModelDeploymentName']} "
            f"({evaluation.deployment['customModelDeploymentArn'].rsplit('/', 1)[-1]}) Active; status polled {polls}x "
            "by Wait/DeploymentStatus/Choice",
            time.monotonic() - started,
        )

    def _report_bucket(self, stack: str, job_name: str) -> str:
        s3 = self.client("s3")
        resources = self.client("cloudformation").list_stack_resources(StackName=stack)[
            "StackResourceSummaries"
        ]
        for bucket in (r["PhysicalResourceId"] for r in resources if r["ResourceType"] == "AWS::S3::Bucket"):
            listed = s3.list_objects_v2(Bucket=bucket, Prefix=f"rft-eval/{job_name}/report.json")
            if listed.get("KeyCount"):
                return str(bucket)
        raise DemoFailure("report", f"no bucket of {stack} holds rft-eval/{job_name}/report.json")

    def _check_report(self, record: DemoRecord, job_name: str) -> None:
        started = time.monotonic()
        evaluation, s3 = record.evaluation, self.client("s3")
        bucket = self._report_bucket(record.stack, job_name)
        prefix = f"rft-eval/{job_name}/"
        keys = [o["Key"] for o in _paged_objects(s3, bucket, prefix)]
        for key in keys:
            parts = key[len(prefix) :].split("/")
            if parts[0] == "shards" and len(parts) == 3:
                evaluation.shards[parts[1]] = evaluation.shards.get(parts[1], 0) + 1
        evaluation.report_files = [name for name in REPORT_FILES if prefix + name in keys]
        evaluation.report_uri = f"s3://{bucket}/{prefix}report.json"
        report = json.loads(s3.get_object(Bucket=bucket, Key=prefix + "report.json")["Body"].read())
        deployment = evaluation.deployment["customModelDeploymentArn"]
        try:
            for entry in report["models"]:
                label = "tuned" if entry["model"] in (deployment, "tuned") else "base"
                evaluation.correct[label] = (int(entry["correct"]), int(entry["prompts"]))
            prompts = max(n for _, n in evaluation.correct.values())
            _, labeled = label_counts(tuple(REPLAYS.values()), self.test_split, limit=prompts)
        except (KeyError, TypeError, ValueError, OSError, EvaluateDemoFailure) as error:
            raise DemoFailure(
                "report", f"{evaluation.report_uri}: cannot check it against the labels: {error!r}"
            ) from error
        evaluation.labels = {label: labeled[model] for label, model in REPLAYS.items()}
        missing = sorted(set(REPLAYS) - set(evaluation.correct)) + sorted(
            set(REPLAYS) - set(evaluation.shards)
        )
        if missing:
            raise DemoFailure("shards", f"no results for {missing} in {evaluation.report_uri}")
        scored = ", ".join(
            f"{label} ({'the deployment' if label == 'tuned' else 'the base model'} → {REPLAYS[label]}) "
            f"{evaluation.correct[label][0]}/{evaluation.correct[label][1]} correct, labels "
            f"{evaluation.labels[label]}"
            for label in REPLAYS
        )
        detail = (
            f"{sum(evaluation.shards.values())} shards answered ({', '.join(f'{k}: {v}' for k, v in sorted(evaluation.shards.items()))}); "
            f"{scored}: a REPLAY of recorded GSM8K outputs, not live models"
        )
        if any(evaluation.correct[label][0] != evaluation.labels[label] for label in REPLAYS):
            raise DemoFailure("shards", f"the reward disagrees with GSM8K's labels: {detail}")
        self.report.line("shards", detail, time.monotonic() - started)
        self.report.line(
            "report",
            f"{evaluation.report_uri} (+ {', '.join(evaluation.report_files[1:]) or 'nothing else'})",
            0.0,
        )

    def _check_summary(self, evaluation: EvaluationRecord, queue: dict[str, str]) -> None:
        started = time.monotonic()
        sqs = self.client("sqs")
        bucket, key = evaluation.report_uri.removeprefix("s3://").split("/", 1)
        expected = ""
        if "summary.txt" in evaluation.report_files:
            summary_key = key.rsplit("/", 1)[0] + "/summary.txt"
            expected = (
                self.client("s3").get_object(Bucket=bucket, Key=summary_key)["Body"].read().decode().strip()
            )

        def summary() -> str:
            received = sqs.receive_message(QueueUrl=queue["url"], MaxNumberOfMessages=10).get("Messages", [])
            evaluation.topic_messages += [m["Body"] for m in received]
            return next((m for m in evaluation.topic_messages if _is_summary(m, expected)), "")

        evaluation.summary = _poll(summary, 10.0) or ""
        if not evaluation.summary:
            raise DemoFailure(
                "summary", f"no summary on the job-events topic; it got: {evaluation.topic_messages}"
            )
        self.report.line(
            "summary",
            f"on the job-events topic (replayed outputs): {evaluation.summary.strip()}",
            time.monotonic() - started,
        )

    def _subscribe(self, topic: str, name: str) -> dict[str, str]:
        """An SQS queue subscribed to the topic (raw delivery): how the demo reads what it published."""
        sqs = self.client("sqs")
        url = sqs.create_queue(QueueName=name)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        subscription = self.client("sns").subscribe(
            TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "true"}
        )["SubscriptionArn"]
        return {"url": url, "subscription": subscription}

    def _cleanup_evaluation(self, evaluation: EvaluationRecord, queue: dict[str, str]) -> None:
        """Delete what the demo made: the inbox, and the deployment (it bills while it exists, on AWS)."""
        self.client("sns").unsubscribe(SubscriptionArn=queue["subscription"])
        self.client("sqs").delete_queue(QueueUrl=queue["url"])
        if evaluation.deployment:
            self.client("bedrock").delete_custom_model_deployment(
                customModelDeploymentIdentifier=evaluation.deployment["customModelDeploymentArn"]
            )


def _poll(probe: Callable[[], Any], timeout_s: float, interval_s: float = 0.25) -> Any:
    """probe() until it returns something truthy or the time is up (then its last answer)."""
    deadline = time.monotonic() + timeout_s
    while True:
        found = probe()
        if found or time.monotonic() >= deadline:
            return found
        time.sleep(interval_s)


def _ended(execution: dict[str, Any]) -> dict[str, Any] | None:
    return None if execution["status"] == "RUNNING" else execution


def _history(sfn: Any, arn: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    for page in sfn.get_paginator("get_execution_history").paginate(executionArn=arn):
        events += page["events"]
    return events


def _paged_objects(s3: Any, bucket: str, prefix: str) -> list[dict[str, Any]]:
    return [
        o
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        for o in page.get("Contents", [])
    ]


def _is_summary(message: str, expected: str) -> bool:
    """The workflow's summary: summary.txt's text when there is one, else any message but an event."""
    if expected:
        return message.strip() == expected
    try:
        parsed = json.loads(message)
    except ValueError:
        return bool(message.strip())
    return not (isinstance(parsed, dict) and "detail-type" in parsed)


def _hyperparameters(job: Mapping[str, Any]) -> dict[str, Any]:
    rft = (job.get("customizationConfig") or {}).get("rftConfig") or {}
    return dict(rft.get("hyperParameters") or {})


def diff_summary(output: str) -> list[str]:
    """One entry per changed resource in `cdk diff` output, with its changed properties.

    A property holding a JSON object (the job's HyperParameters) is reduced to the keys that
    changed: `[~] Custom::BedrockRftJob Pipeline/Job: HyperParameters.epochCount 1 -> 2`.
    """
    resources: list[tuple[str, list[str]]] = []
    values: dict[str, str] = {}
    for raw in output.splitlines():
        if raw[:4] in ("[~] ", "[+] ", "[-] "):
            parts = raw.split()
            resources.append((" ".join(parts[:3]), []))
        elif resources and raw.startswith((" ├─ [", " └─ [")):
            resources[-1][1].append(raw.split("]", 1)[1].strip())
            values = {}
        elif (
            resources
            and resources[-1][1]
            and raw.lstrip().startswith(("├─ [-]", "└─ [-]", "├─ [+]", "└─ [+]"))
        ):
            sign = raw.lstrip()[4]
            values[sign] = raw.split("]", 1)[1].strip()
            if "-" in values and "+" in values:
                resources[-1][1][-1] = _describe_change(resources[-1][1][-1], values["-"], values["+"])
    return [f"{head}: {', '.join(props)}" if props else head for head, props in resources]


def _describe_change(prop: str, old: str, new: str) -> str:
    try:
        before, after = json.loads(old), json.loads(new)
    except ValueError:
        return f"{prop} {old} -> {new}" if len(old) + len(new) < 60 else prop
    if isinstance(before, dict) and isinstance(after, dict):
        keys = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
        return ", ".join(f"{prop}.{k} {before.get(k)} -> {after.get(k)}" for k in keys) or prop
    return f"{prop} {before} -> {after}"


def run_demo(
    *,
    stacks: str | Sequence[str] = "GsmRftStack",
    port: int = 0,
    print_line: Callable[[str], None] = print,
    open_weight: bool = True,
) -> int:
    given = [stacks] if isinstance(stacks, str) else list(stacks)
    names = [name.strip() for item in given for name in item.split(",") if name.strip()]
    unknown = [name for name in names if name not in DEMO_TARGETS]
    if unknown or not names:
        without = sorted(t.stack_name for t in TASKS if t.stack_name not in DEMO_TARGETS)
        why = f" ({', '.join(without)}: no samples in local_aws/samples)" if without else ""
        print_line(f"error: the demo runs {', '.join(DEMO_TARGETS)}{why}; got {' '.join(names) or 'nothing'}")
        return 2
    log_path = settings.state_dir() / "demo.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log_path.write_text("")
    handler = logging.FileHandler(log_path)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logger = logging.getLogger("local_aws")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    logging.getLogger("werkzeug").setLevel(logging.WARNING)

    report = Report(print_line)
    started = time.monotonic()
    print_line(f"local_aws demo of {', '.join(names)}: offline, on moto + a local Lambda executor")
    try:
        try:
            emulator, seconds = _timed(lambda: Emulator(port).start())
        except OSError as error:
            raise DemoFailure("emulator", f"could not listen on port {port}: {error}") from error
        try:
            report.line("emulator", f"{emulator.endpoint} (fresh account {settings.ACCOUNT_ID})", seconds)
            demo = Demo(emulator, log_path=log_path, report=report, output_dir=settings.state_dir())
            for name in names:
                demo.run(DEMO_TARGETS[name])
            if open_weight and "GsmRftStack" in names:
                from local_aws.open_weight_demo import OpenWeightCycle

                OpenWeightCycle(demo, emulator).run()
        finally:
            emulator.stop()
    except DemoFailure as failure:
        report.line(failure.step, failure.reason.replace("\n", "\n" + " " * 22), failure.seconds, ok=False)
        print_line(
            f"demo FAILED at {failure.step} after {time.monotonic() - started:.1f}s; details: {_shown(log_path)}"
        )
        return 1
    finally:
        logger.removeHandler(handler)
        handler.close()
    print_line(
        f"demo passed in {time.monotonic() - started:.1f}s; CLI output and Lambda logs: {_shown(log_path)}"
    )
    return 0


def _shown(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)
