"""The `rft evaluate` command's options; `rft.cli` registers it (with its error handling) in one line."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from rft.evaluate.sampling import DEFAULT_CONCURRENCY


def evaluate(
    target: Annotated[str, typer.Argument(help="Task (gsm8k, finqa, pandalm, ...) or its stack name.")],
    model: Annotated[
        list[str] | None,
        typer.Option(
            "--model",
            help="Model to evaluate (repeat to compare; the first is the baseline): `base`, `tuned`, or any "
            "model id Converse accepts (foundation model, inference profile, provisioned model ARN, "
            "custom model deployment ARN).",
        ),
    ] = None,
    data: Annotated[
        Path | None,
        typer.Option(
            "--data", help="data_prep JSONL to evaluate on (default: build/data/<task>/test.jsonl)."
        ),
    ] = None,
    samples: Annotated[int, typer.Option("--samples", help="Responses per prompt (K).")] = 1,
    limit: Annotated[int | None, typer.Option("--limit", help="Use only the first N prompts.")] = None,
    out: Annotated[
        Path, typer.Option("--out", help="Directory for the reports and the response cache.")
    ] = Path("reports"),
    concurrency: Annotated[
        int, typer.Option("--concurrency", help="Converse calls in flight at most.")
    ] = DEFAULT_CONCURRENCY,
    temperature: Annotated[
        float | None,
        typer.Option("--temperature", help="Sampling temperature (default: 0 for K=1, 1.0 for K>1)."),
    ] = None,
    max_tokens: Annotated[
        int | None,
        typer.Option("--max-tokens", help="maxTokens per call (default: the task's inferenceMaxTokens)."),
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask before a large run.")] = False,
    region: Annotated[
        str | None, typer.Option("--region", help="AWS region (default: rft:region in cdk.json).")
    ] = None,
    endpoint_url: Annotated[
        str | None,
        typer.Option("--endpoint-url", help="bedrock-runtime endpoint (e.g. the local emulator's URL)."),
    ] = None,
    judge: Annotated[
        str, typer.Option("--judge", help="For a judge reward: none (code-checked part only) or bedrock.")
    ] = "none",
    judge_model: Annotated[
        str | None, typer.Option("--judge-model", help="Judge model id for --judge bedrock.")
    ] = None,
    from_s3: Annotated[
        bool,
        typer.Option(
            "--from-s3",
            help="Instead of evaluating here: download and print the report the stack's post-training "
            "evaluation wrote to s3://<bucket>/rft-eval/<job>/ (into OUT/rft-eval/<job>/).",
        ),
    ] = False,
    job: Annotated[
        str | None,
        typer.Option(
            "--job", help="With --from-s3: the job whose report to fetch (default: the stack's job)."
        ),
    ] = None,
) -> None:
    """Score models on the task's held-out test split with the task's own reward, and compare them.

    Writes <out>/evaluate-<task>.json, .md, .png and .html; responses are cached, so a rerun resumes.
    With --from-s3, fetches the report the stack evaluated in AWS after training instead.
    """
    from rich.console import Console

    from rft.errors import UserError
    from rft.evaluate.command import EvaluateRequest
    from rft.evaluate.command import evaluate as run_evaluation

    if judge not in ("none", "bedrock"):
        raise UserError(f"--judge must be none or bedrock, got {judge!r}")
    if from_s3:
        given = [
            name
            for name, value in (
                ("--model", model),
                ("--data", data),
                ("--limit", limit),
                ("--judge-model", judge_model),
                ("--endpoint-url", endpoint_url),
            )
            if value
        ]
        if given:
            raise UserError(f"--from-s3 reads the report the stack wrote; drop {', '.join(given)}", 2)
        from rft import post_training
        from rft.project import default_region, resolve_stack

        post_training.fetch(
            resolve_stack(target), region or default_region(), job, out, Console(highlight=False)
        )
        return
    if job is not None:
        raise UserError("--job names the job of a --from-s3 report; add --from-s3, or drop --job", 2)
    if not model:
        raise UserError(
            "missing --model: name the model(s) to evaluate (e.g. --model base --model tuned), or pass "
            "--from-s3 to fetch the report the stack wrote after training",
            2,
        )
    request = EvaluateRequest(
        target=target,
        models=model,
        data=data,
        samples=samples,
        limit=limit,
        out_dir=out,
        concurrency=concurrency,
        temperature=temperature,
        max_tokens=max_tokens,
        region=region,
        endpoint_url=endpoint_url,
        judge=judge,
        judge_model=judge_model,
    )

    def ask(question: str) -> bool:
        return yes or typer.confirm(question, default=False)

    run_evaluation(
        request,
        Console(highlight=False),
        progress_console=Console(stderr=True, highlight=False),
        confirm=ask if yes or sys.stdin.isatty() else None,
    )
