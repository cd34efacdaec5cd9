"""`python -m local_aws demo`: the product's whole life cycle, offline, one line per step.

bootstrap → deploy (the job is launched) → invoke the reward Lambda with the task's samples →
inspect the job → `cdk diff` a one-value change → deploy it (a replacement job; the old one is
stopped) → destroy → check nothing is left. It runs its own emulator in this process, so it starts
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

from local_aws import client_env, inventory, settings
from local_aws.cdk_cli import CdkCli, CdkResult
from local_aws.server import Emulator
from stacks.config import load_config
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

    def line(self, step: str, detail: str, seconds: float, ok: bool = True) -> None:
        self.count += 1
        key = step if step not in self.seconds else f"{step} ({self.count})"
        self.seconds[key] = seconds
        status = "ok    " if ok else "FAILED"
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
        if record.statuses_after_update[old] != "Stopped":
            status = record.statuses_after_update[old]
            raise DemoFailure("update", f"the replaced job {old} is {status}, not Stopped")
        detail = f"new job {new} {name}={actual} {record.second_job['status']}; replaced job {old} Stopped"
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
