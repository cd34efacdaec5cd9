"""The `rft` operator CLI: rehearse a reward before paying, invoke it deployed, watch and stop the job.

Commands stay thin: they parse options, call one function, and turn a `UserError` into one line on
stderr with its exit code. Exit codes: 0 ok, 1 error (a user mistake or the environment), 2 bad usage,
3 degenerate reward (`rehearse`) or a deployed reward breaking the contract (`invoke`), 4 job Failed
(`status`) or deployment Failed (`deploy-model`), 5 the judge graded none of its samples (`invoke`,
`rehearse --judge bedrock`), 130 interrupted.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console

from rft.errors import EXIT_DEGENERATE, EXIT_INTERRUPTED, EXIT_JUDGE_FAILED, UserError
from rft.evaluate.sampling import DEFAULT_CONCURRENCY

app = typer.Typer(
    name="rft",
    help="Operate Bedrock reinforcement fine-tuning: rehearse a reward, invoke it, watch or stop the job.",
    no_args_is_help=True,
    add_completion=False,
    # A user mistake is one line; a bug's traceback must never print local variables (credentials).
    pretty_exceptions_show_locals=False,
    rich_markup_mode="rich",
)

F = TypeVar("F", bound=Callable[..., Any])


def _stdout() -> Console:
    # Built per command: Rich binds the stream it is given, and tests swap sys.stdout per invocation.
    return Console(highlight=False)


def _stderr() -> Console:
    return Console(stderr=True, highlight=False)


def _friendly(command: F) -> F:
    """Run a command, printing a UserError as `error: ...` with its exit code instead of a traceback."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except UserError as error:
            _stderr().print(f"[bold red]error:[/] {error.message}", markup=True, soft_wrap=True)
            raise typer.Exit(error.exit_code) from None
        except KeyboardInterrupt:
            _stderr().print("interrupted (a running job keeps running; `rft stop STACK` stops it)")
            raise typer.Exit(EXIT_INTERRUPTED) from None

    return wrapper  # type: ignore[return-value]


def _region(region: str | None) -> str:
    from rft.project import default_region

    return region or default_region()


RegionOption = Annotated[
    str | None,
    typer.Option(
        "--region",
        help="AWS region of the stack (default: rft:region in cdk.json, else the base model's: "
        "us-east-1 for Nova, us-west-2 for open-weight models).",
    ),
]
StackArgument = Annotated[
    str, typer.Argument(help="Stack name (e.g. GsmRftStack) or task name (e.g. gsm8k).")
]
OutOption = Annotated[Path, typer.Option("--out", help="Directory for the JSON report and PNG charts.")]


@app.command()
@_friendly
def rehearse(
    task: Annotated[
        str,
        typer.Argument(
            help="Task whose reward to run (gsm8k, finqa, pandalm or your own), or its stack (GsmRftStack)."
        ),
    ],
    responses: Annotated[
        Path | None,
        typer.Option(
            "--responses",
            help="Your own rollouts: JSONL of {prompt_id, response, reference} (+ optional label, prompt). "
            "Default: the task's bundled rollouts, or the data_prep/samples/<task>/rollouts.jsonl "
            "`rft new-task` wrote.",
        ),
    ] = None,
    n: Annotated[int | None, typer.Option("--n", help="Use only the first N rollouts.")] = None,
    out: OutOption = Path("reports"),
    batch_size: Annotated[int, typer.Option("--batch-size", help="Samples per handler invocation.")] = 32,
    judge: Annotated[
        str,
        typer.Option("--judge", help="none: code-checked part only (no AWS); bedrock: call the real judge."),
    ] = "none",
    judge_model: Annotated[
        str | None,
        typer.Option(
            "--judge-model",
            help="Judge model id for --judge bedrock (default: the task's judgeModelId in cdk.json).",
        ),
    ] = None,
    model: Annotated[
        str | None,
        typer.Option(
            "--model",
            help="Pre-flight instead: sample this model (`base` or a model id) on the training prompts and "
            "report pass@1, pass@K and the prompt groups that carry signal.",
        ),
    ] = None,
    samples: Annotated[
        int | None,
        typer.Option(
            "--samples", help="With --model: responses per prompt (default: trainingSamplePerPrompt)."
        ),
    ] = None,
    limit: Annotated[
        int | None, typer.Option("--limit", help="With --model: use only the first N training prompts.")
    ] = None,
    write_filtered: Annotated[
        Path | None,
        typer.Option("--write-filtered", help="With --model: write the training records that carry signal."),
    ] = None,
    concurrency: Annotated[
        int, typer.Option("--concurrency", help="With --model: calls in flight.")
    ] = DEFAULT_CONCURRENCY,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="With --model: do not ask before a large run.")
    ] = False,
    region: Annotated[str | None, typer.Option("--region", help="With --model: AWS region.")] = None,
    endpoint_url: Annotated[
        str | None, typer.Option("--endpoint-url", help="With --model: bedrock-runtime endpoint (emulator).")
    ] = None,
) -> None:
    """Run a task's reward in-process on sample rollouts and report whether it can teach anything.

    With --model, a pre-flight on the base model: K samples per training prompt, scored by the reward.

    Exits 3 when the reward is degenerate (nearly every sample scores the same, or everything scores 0).
    With --judge bedrock, exits 5 when the judge graded none of the samples sent to it (no model
    access, throttling, or a region without the model).
    """
    from rft.project import resolve_task
    from rft.rehearse.rehearsal import RehearsalRequest
    from rft.rehearse.rehearsal import rehearse as run_rehearsal

    if judge not in ("none", "bedrock"):
        raise UserError(f"--judge must be none or bedrock, got {judge!r}")
    task = resolve_task(task)
    if model is not None and (responses is not None or n is not None or judge != "none"):
        raise UserError(
            "--model samples the model itself: drop --responses, --n and --judge (they rehearse rollouts)"
        )
    if model is None and (samples is not None or limit is not None or write_filtered is not None):
        raise UserError(
            "--samples, --limit and --write-filtered are for the pre-flight: add --model (e.g. --model base)"
        )
    if model is not None:
        from rft.rehearse.preflight import PreflightRequest, preflight

        preflight(
            PreflightRequest(
                task,
                model,
                samples,
                limit,
                out,
                concurrency,
                None,
                None,
                region,
                endpoint_url,
                write_filtered,
            ),
            _stdout(),
            progress_console=_stderr(),
            confirm=(lambda q: yes or typer.confirm(q, default=False)) if yes or sys.stdin.isatty() else None,
        )
        return
    request = RehearsalRequest(
        task=task,
        responses=responses,
        n=n,
        out_dir=out,
        batch_size=batch_size,
        judge=judge,  # type: ignore[arg-type]
        judge_model=judge_model,
    )
    summary = run_rehearsal(request, _stdout(), progress_console=_stderr())
    report = out / f"rehearse-{task}.json"
    if summary.judge is not None and summary.judge.every_one:
        raise UserError(
            f"the judge graded none of the {summary.judge.asked:,} samples sent to it, so these scores "
            f"leave out its part; fix the judge (see the warning above) and rehearse again (report: {report})",
            EXIT_JUDGE_FAILED,
        )
    if summary.degenerate:
        raise UserError(
            f"degenerate reward: {summary.degenerate[0]} (report: {report})",
            EXIT_DEGENERATE,
        )


@app.command()
@_friendly
def invoke(
    stack: StackArgument,
    file: Annotated[
        Path | None,
        typer.Option(
            "--file",
            help="JSON array of Bedrock samples to send (default: the task's data_prep/samples/<task>/"
            "batch.json, else one prompt group of its bundled rollouts).",
        ),
    ] = None,
    region: RegionOption = None,
) -> None:
    """Invoke the stack's deployed reward function with a sample batch and check its answer.

    Exits 3 when the answer breaks the reward contract (or the function raised). For a judged reward,
    prints how many samples the judge failed on (judge_error) and why that usually happens, and exits
    5 when it failed on every sample sent to it (no model access, throttling, or a region without the
    model).
    """
    from rft import invoke as invoking
    from rft.aws import client, require_output, stack_outputs
    from rft.project import resolve_stack

    stack_name = resolve_stack(stack)
    region = _region(region)
    payload = invoking.read_payload(file) if file is not None else invoking.default_payload(stack_name)
    outputs = stack_outputs(client("cloudformation", region), stack_name)
    function = outputs.get("RewardFunctionName") or require_output(outputs, "RewardFunctionArn", stack_name)
    invocation = invoking.invoke(client("lambda", region), function, payload)
    checked = invoking.report(_stdout(), function, invocation, stack_name=stack_name, region=region)
    if checked.problems:
        raise UserError("the deployed reward " + "; ".join(checked.problems[:3]), EXIT_DEGENERATE)
    if checked.judge is not None and checked.judge.every_one:
        raise UserError(
            f"the deployed reward's judge graded none of the {checked.judge.asked:,} samples sent to it, "
            "so every score left out its part; fix the judge (see the warning above) and invoke again",
            EXIT_JUDGE_FAILED,
        )


@app.command()
@_friendly
def status(
    stack: StackArgument,
    watch: Annotated[
        bool,
        typer.Option(
            "--watch",
            help="Poll with backoff until the job ends: a live table in a terminal, else a line per poll, "
            "each with the reward function's live figures (batches, reward, alarms in ALARM); then, for a "
            "Completed job, until its post-training evaluation ends.",
        ),
    ] = False,
    out: OutOption = Path("reports"),
    region: RegionOption = None,
) -> None:
    """Show the stack's RFT job and its live reward; on Completed, save its reward curve; exit 4 if it Failed.

    Under the job: its post-training evaluation in AWS (running and in which state; succeeded with the
    summary and the report's S3 URI; failed with the failed state, error and cause), or one line saying
    evaluation on completion is off. `rft evaluate STACK --from-s3` downloads the report.

    The live reward (batches scored, latest and smoothed MeanReward, alarms in ALARM) comes from the
    reward function's CloudWatch metrics and is drawn to OUT/reward-live-STACK.png; it needs
    cloudwatch:GetMetricData and cloudwatch:DescribeAlarms.

    An open-weight stack (gpt-oss, Qwen3) shows its bedrock-mantle fine-tuning job instead: status,
    steps, the latest critic_rewards_mean, checkpoints, recent events, the tuned model once it
    succeeded; the reward curve by step is drawn to OUT/STACK-reward-curve.png.
    """
    from rft import job_control
    from rft.project import resolve_stack

    stack_name = resolve_stack(stack)
    job_control.status(stack_name, _region(region), _stdout(), watch_job=watch, out_dir=out)


@app.command()
@_friendly
def stop(
    stack: StackArgument,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    region: RegionOption = None,
) -> None:
    """Stop the stack's RFT job if it is still running (an open-weight stack's job is cancelled)."""
    from rft import job_control
    from rft.project import resolve_stack

    def confirm(question: str) -> bool:
        return yes or typer.confirm(question, default=False)

    job_control.stop(resolve_stack(stack), _region(region), _stdout(), confirm=confirm)


@app.command("deploy-model")
@_friendly
def deploy_model(
    stack: StackArgument,
    delete: Annotated[
        bool, typer.Option("--delete", help="Delete the deployment (the custom model stays) and its record.")
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask before --delete.")] = False,
    timeout: Annotated[
        float | None,
        typer.Option(
            "--timeout", help="Seconds to wait for the deployment to become Active (default: 1 hour)."
        ),
    ] = None,
    out: Annotated[
        Path, typer.Option("--out", help="Directory of the record deployment-<stack>.json.")
    ] = Path("reports"),
    region: RegionOption = None,
) -> None:
    """Deploy the stack's tuned model for on-demand inference (reusing an existing deployment); exit 4 if it Failed.

    Prints the deployment ARN, the model id `rft evaluate --model tuned` uses.

    Inference on it is billed per token (README, "Deploy the tuned model"); --delete removes it.
    """
    from rft import deploy_model as deploying
    from rft.project import resolve_stack

    if timeout is not None and timeout <= 0:
        raise UserError(f"--timeout must be a number of seconds above 0, got {timeout:g}")
    stack_name, region = resolve_stack(stack), _region(region)
    if delete:
        deploying.delete(
            stack_name,
            region,
            _stdout(),
            out_dir=out,
            confirm=lambda q: yes or typer.confirm(q, default=False),
        )
    else:
        deploying.deploy(stack_name, region, _stdout(), out_dir=out, timeout_s=timeout)


@app.command("new-task")
@_friendly
def new_task(
    name: Annotated[
        str, typer.Argument(help="Task name: lower-case letters, digits and '_' (e.g. my_task).")
    ],
    kind: Annotated[
        str,
        typer.Option("--kind", help="rlvr: a reward checked in code; rlaif: an LLM judge with a rubric."),
    ],
    from_jsonl: Annotated[
        Path | None,
        typer.Option(
            "--from-jsonl",
            help="Your data: JSONL of {prompt, reference} (+ optional system), at least 200 rows. "
            "Default: a generated example dataset.",
        ),
    ] = None,
    stack_name: Annotated[
        str | None, typer.Option("--stack-name", help="Stack name (default: <Name>RftStack).")
    ] = None,
    description: Annotated[
        str | None, typer.Option("--description", help="One line describing the task.")
    ] = None,
    judge_model: Annotated[
        str | None,
        typer.Option("--judge-model", help="RLAIF judge model id (default: us.amazon.nova-pro-v1:0)."),
    ] = None,
) -> None:
    """Scaffold your own task: task spec, converter, data, reward and tests, plus its registry line.

    The generated tests pass and the stack synthesizes as written; see docs/own-task.md.
    """
    from rft import new_task as scaffolding
    from rft.project import REPO_ROOT

    request = scaffolding.NewTaskRequest(
        name=name,
        kind=kind.lower(),
        from_jsonl=from_jsonl,
        stack_name=stack_name,
        description=description,
        judge_model=judge_model,
    )
    plan, verified = scaffolding.new_task(request, REPO_ROOT)
    console = _stdout()
    for line in scaffolding.summary_lines(plan, verified):
        console.print(line, markup=False, soft_wrap=True)


@app.command("config")
@_friendly
def config_command(
    stack: StackArgument,
    context: Annotated[
        list[str] | None,
        typer.Option(
            "--context", "-c", help="Override a context value as cdk does: -c rft:gsm8k:epochCount=2."
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Print the stack's effective configuration and where each value came from (default, cdk.json, -c)."""
    from rft import config_view

    config = config_view.effective_config(stack, context or ())
    text = config_view.as_json(config) if as_json else "\n".join(config_view.render(config))
    _stdout().print(text, markup=False, soft_wrap=True)


from rft.evaluate.cli import evaluate as _evaluate  # noqa: E402  (its options live with the command)

app.command("evaluate")(_friendly(_evaluate))


def main() -> None:
    app(prog_name="rft")
