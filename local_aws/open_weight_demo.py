"""The demo's second, short cycle: GsmRftStack on an open-weight model, through Bedrock's
OpenAI-compatible fine-tuning API (emulated by `local_aws.mantle`).

bootstrap us-west-2 (the one region that serves open-weight RFT) beside the synth of
`-c rft:baseModel=openai.gpt-oss-20b -c rft:region=us-west-2` → deploy (the job function uploads
the training data and creates the job, SigV4-signed, against the emulated endpoint) beside the synth
of a one-value change (`n_epochs`) → check the job names the stack's reward Lambda as its grader →
two polls of the job: one emulated training step, graded by that Lambda on replayed responses →
`cdk diff` shows the change → destroy: the job is cancelled → nothing is left in us-west-2.

A build without the open-weight backend cannot synthesize the stack for this model (the config
refuses it), or synthesizes it onto the Nova job path; either way the cycle prints one line saying
so and is skipped, and the demo still passes on its first cycle.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from local_aws import client_env, inventory
from local_aws.cdk_cli import CdkResult
from local_aws.demo import Demo, DemoFailure, _timed, diff_summary
from local_aws.server import Emulator

STACK = "GsmRftStack"
MODEL = "openai.gpt-oss-20b"
REGION = "us-west-2"
CONTEXT: Mapping[str, str] = {"rft:launchJob": "true", "rft:baseModel": MODEL, "rft:region": REGION}
UPDATE: Mapping[str, str] = {"rft:gsm8k:n_epochs": "2"}
# A finished emulated step needs at most this many polls (validation, then one step).
POLLS_FOR_ONE_STEP = 4
# The emulated step's message counts the responses that were recorded solutions: "3/4 recorded".
RECORDED = re.compile(r"(\d+)/(\d+) recorded")


@dataclass
class OpenWeightRecord:
    """What the cycle saw (tests assert on it); `skipped` is the reason when it did not run."""

    skipped: str = ""
    outputs: dict[str, str] = field(default_factory=dict)
    job: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, Any] = field(default_factory=dict)
    diff: list[str] = field(default_factory=list)
    status_after_destroy: str = ""
    leftovers: dict[str, list[str]] = field(default_factory=dict)


def mantle_backend(assembly: Path) -> bool:
    """True when the synthesized stack's job resource uses the OpenAI-compatible backend."""
    template = assembly / f"{STACK}.template.json"
    try:
        resources = json.loads(template.read_text(encoding="utf-8")).get("Resources", {})
    except (OSError, ValueError):
        return False
    return any((r.get("Properties") or {}).get("Backend") == "mantle" for r in resources.values())


def _first_error(result: CdkResult) -> str:
    lines = [line.strip() for line in result.output.splitlines() if line.strip()]
    picked = next((line for line in lines if line.lower().startswith("error")), None)
    return (picked or result.failure_reason(limit=1)).removeprefix("error: ")


class OpenWeightCycle:
    """Runs the cycle with the first cycle's CLI and report, against the same emulator."""

    def __init__(self, demo: Demo, emulator: Emulator) -> None:
        self.demo = demo
        self.cli = demo.cli
        self.report = demo.report
        self.mantle = emulator.mantle
        self.client = client_env.client_factory(emulator.endpoint, REGION)

    # -- CloudFormation in us-west-2 (the first cycle's helpers ask us-east-1) ----------------------
    def _stack(self) -> dict[str, Any]:
        return self.client("cloudformation").describe_stacks(StackName=STACK)["Stacks"][0]  # type: ignore[no-any-return]

    def _outputs(self) -> dict[str, str]:
        return {o["OutputKey"]: o["OutputValue"] for o in self._stack().get("Outputs", [])}

    def _stack_exists(self) -> bool:
        summaries = self.client("cloudformation").list_stacks()["StackSummaries"]
        return any(s["StackName"] == STACK and s["StackStatus"] != "DELETE_COMPLETE" for s in summaries)

    def run(self) -> OpenWeightRecord:
        record = OpenWeightRecord()
        first = self.demo.output_dir / f"cdk.out.{STACK}.open-weight"
        update = self.demo.output_dir / f"cdk.out.{STACK}.open-weight.update"
        flags = " ".join(f"-c {k}={v}" for k, v in CONTEXT.items() if k != "rft:launchJob")
        self.report.print_line(
            f"open-weight cycle: {STACK} {flags} (Bedrock's OpenAI-compatible API, emulated)"
        )
        record.skipped = self.bootstrap_and_synth(first)
        if record.skipped:
            self.report.print_line(f"  -  open-weight cycle skipped: {record.skipped}")
            return record
        baseline = inventory.snapshot(self.client)
        self.deploy_and_synth_update(first, update)
        record.outputs = self._outputs()
        record.job = self.inspect_job(record.outputs)
        record.metrics = self.train_one_step(record.job["id"])
        record.diff = self.diff(update)
        record.status_after_destroy = self.destroy(update, record.job["id"])
        record.leftovers, seconds = _timed(
            lambda: inventory.leftovers(baseline, inventory.snapshot(self.client))
        )
        if record.leftovers:
            raise DemoFailure("verify", f"left behind in {REGION} after destroy: {record.leftovers}", seconds)
        self.report.line("verify", f"nothing left in {REGION} beyond bootstrap's", seconds)
        return record

    def bootstrap_and_synth(self, assembly: Path) -> str:
        """Bootstrap us-west-2 beside the synth; the skip reason when this build has no open-weight path."""
        with ThreadPoolExecutor(max_workers=2) as pool:
            synth = pool.submit(_timed, lambda: self.cli.synth(STACK, output_dir=assembly, context=CONTEXT))
            result, seconds = pool.submit(_timed, lambda: self.cli.bootstrap(REGION)).result()
            self.demo._cdk("bootstrap", result)
            self.report.line("bootstrap", f"CDKToolkit in {REGION} (cdk bootstrap aws://…/{REGION})", seconds)
            result, seconds = synth.result()
        if not result.ok:
            return f"cdk synth with rft:baseModel={MODEL} fails in this build: {_first_error(result)}"
        if not mantle_backend(assembly):
            return f"this build synthesizes rft:baseModel={MODEL} without the open-weight job backend (Backend=mantle)"
        self.report.line(
            "synth", f"{STACK} -c rft:baseModel={MODEL} -c rft:region={REGION} (beside bootstrap)", seconds
        )
        return ""

    def deploy_and_synth_update(self, first: Path, update: Path) -> None:
        context = {**CONTEXT, **UPDATE}
        with ThreadPoolExecutor(max_workers=2) as pool:
            deploy = pool.submit(_timed, lambda: self.cli.deploy(STACK, app=str(first)))
            synth = pool.submit(_timed, lambda: self.cli.synth(STACK, output_dir=update, context=context))
            result, seconds = deploy.result()
            self.demo._cdk("deploy", result)
            status = self._stack()["StackStatus"]
            if status != "CREATE_COMPLETE":
                raise DemoFailure(
                    "deploy", f"{STACK} in {REGION} is {status}: {self._stack().get('StackStatusReason')}"
                )
            self.report.line("deploy", f"{STACK} in {REGION} CREATE_COMPLETE (cdk deploy)", seconds)
            result, seconds = synth.result()
            self.demo._cdk("synth", result)
            key, value = next(iter(UPDATE.items()))
            self.report.line("synth", f"{STACK} -c {key}={value} (beside deploy)", seconds)

    def inspect_job(self, outputs: Mapping[str, str]) -> dict[str, Any]:
        job_id = outputs.get("MantleJobId", "")
        if outputs.get("JobBackend") != "mantle" or not job_id:
            raise DemoFailure("job", f"the stack's outputs name no open-weight job: {dict(outputs)}")
        job, seconds = _timed(lambda: self.mantle.peek_job(REGION, job_id))
        grader = job["method"]["reinforcement"]["grader"]["lambda"]["function"]
        if grader != outputs["RewardFunctionArn"]:
            raise DemoFailure(
                "job", f"the job's grader is {grader}, not the reward Lambda {outputs['RewardFunctionArn']}"
            )
        if job["model"] != MODEL:
            raise DemoFailure("job", f"the job trains {job['model']}, not {MODEL}")
        hyper = " ".join(
            f"{k}={v}" for k, v in sorted(job["method"]["reinforcement"].get("hyperparameters", {}).items())
        )
        self.report.line(
            "job", f"{job_id} {job['status']} model={job['model']} grader={grader}; {hyper}", seconds
        )
        return job

    def train_one_step(self, job_id: str) -> dict[str, Any]:
        """Poll the job until its first training step is scored (the poll drives the emulated job)."""

        def poll() -> dict[str, Any]:
            for _ in range(POLLS_FOR_ONE_STEP):
                job = self.mantle.retrieve_job(REGION, job_id)
                events = self.mantle.list_events(REGION, job_id, limit=100, after=None)["data"]
                metrics = [e for e in events if e["type"] == "metrics"]
                if metrics:
                    counted = RECORDED.search(metrics[-1]["message"])
                    recorded, batch = counted.groups() if counted else ("?", "?")
                    return {
                        **metrics[-1]["data"],
                        "status": job["status"],
                        "recorded": recorded,
                        "batch": batch,
                    }
                if job["status"] in ("failed", "cancelled"):
                    raise DemoFailure("train", f"the job is {job['status']}: {job.get('error')}")
            raise DemoFailure("train", f"no training step after {POLLS_FOR_ONE_STEP} polls")

        metrics, seconds = _timed(poll)
        detail = (
            f"step {metrics['step']}/{metrics['total_steps']} critic_rewards_mean={metrics['critic_rewards_mean']:g}: "
            f"the reward Lambda on {metrics['batch']} training rows, responses replayed ({metrics['recorded']} "
            "recorded GSM8K solutions, the rest the rows' reference answers; not a live model)"
        )
        self.report.line("train", detail, seconds)
        return metrics

    def diff(self, update: Path) -> list[str]:
        result = self.demo._cdk("diff", self.cli.diff(STACK, app=str(update)))
        changes = diff_summary(result.output)
        name = next(iter(UPDATE)).rsplit(":", 1)[-1]
        if not any(name in change for change in changes):
            raise DemoFailure(
                "diff", f"cdk diff does not show the {name} change: {changes or result.output[-500:]}"
            )
        self.report.line("diff", "; ".join(changes), result.seconds)
        return changes

    def destroy(self, update: Path, job_id: str) -> str:
        seconds = self.demo._cdk("destroy", self.cli.destroy(STACK, app=str(update))).seconds
        if self._stack_exists():
            raise DemoFailure("destroy", f"{STACK} still exists in {REGION}")
        status = str(self.mantle.peek_job(REGION, job_id)["status"])
        if status != "cancelled":
            raise DemoFailure("destroy", f"the job {job_id} is {status} after destroy, not cancelled")
        self.report.line("destroy", f"{STACK} deleted (cdk destroy); job {job_id} {status}", seconds)
        return status
