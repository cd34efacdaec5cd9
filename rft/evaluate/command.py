"""`rft evaluate <task|stack> --model M [--model M2 ...]`: score models on the held-out test split.

The models answer the test prompts through Converse (the harness in `sampling`), the task's own reward
scores the answers in-process, and the report compares each model with the first. Nothing is asked
twice: responses are cached in `<out>/evaluate-<task>.responses.jsonl`, so an interrupted run resumes
and a rerun with one more model asks only that model.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from rft_eval.results import Evaluation, ModelResult, accuracy
from rft_eval.scoring import DEFAULT_BATCH_SIZE
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from rft.errors import EXIT_INTERRUPTED, UserError
from rft.evaluate import html, report
from rft.evaluate.cache import Response, ResponseCache
from rft.evaluate.chat_completions import (
    API_LABEL,
    OpenWeightTarget,
    chat_completions_factory,
    open_weight_target,
)
from rft.evaluate.grading import Scorer, score, scorer_for
from rft.evaluate.models import resolve_models
from rft.evaluate.sampling import (
    DEFAULT_CONCURRENCY,
    ClientFactory,
    Inference,
    Plan,
    Prompt,
    Sampler,
    Tally,
    bedrock_runtime_factory,
    default_temperature,
    plan,
    read_prompts,
)
from rft.project import cdk_context, default_region, task_spec
from tasks import TaskSpec

CONFIRM_ABOVE_CALLS = 500  # a run this large asks first (--yes skips the question)
HELD_OUT_SPLIT = "test"
TRAINING_SPLITS = ("train", "validation")

Confirm = Callable[[str], bool]


@dataclass(frozen=True)
class EvaluateRequest:
    target: str  # a task or a stack name
    models: list[str]
    data: Path | None = None
    samples: int = 1
    limit: int | None = None
    out_dir: Path = Path("reports")
    concurrency: int = DEFAULT_CONCURRENCY
    temperature: float | None = None
    max_tokens: int | None = None
    region: str | None = None
    endpoint_url: str | None = None
    judge: str = "none"
    judge_model: str | None = None
    batch_size: int = DEFAULT_BATCH_SIZE
    notes: list[str] = field(default_factory=list)


def resolve_task(target: str) -> TaskSpec:
    from rft.project import known_stack_names, known_task_names, resolve_task

    spec = task_spec(resolve_task(target))
    if spec is None:
        raise UserError(
            f"unknown task or stack {target!r}; tasks: {', '.join(known_task_names())}; "
            f"stacks: {', '.join(known_stack_names())}"
        )
    return spec


def data_file(task: str, data: Path | None) -> Path:
    """The file to evaluate on: the held-out test split by default; never a training split."""
    path = data if data is not None else Path("build") / "data" / task / f"{HELD_OUT_SPLIT}.jsonl"
    if path.stem in TRAINING_SPLITS:
        raise UserError(
            f"{path} is the {path.stem} split: the model trained on it, so its score says nothing about "
            f"held-out prompts; evaluate on the test split (the default) or another held-out file"
        )
    if not path.is_file():
        if data is None:
            raise UserError(
                f"the {task} test split {path} is missing; write it with `python -m data_prep {task}`"
            )
        raise UserError(f"data file not found: {path}")
    return path


def _config(spec: TaskSpec):  # -> stacks.config.RftConfig
    from stacks.config import ConfigError, load_config

    try:
        return load_config(spec, cdk_context().get)
    except ConfigError as error:
        raise UserError(f"cdk.json: {error}") from None


def inference_for(config, samples: int, max_tokens: int | None, temperature: float | None) -> Inference:
    """The settings every call uses: the task's inferenceMaxTokens, and 0 or 1.0 by K unless given."""
    max_tokens = max_tokens or config.inference_max_tokens
    temperature = default_temperature(samples) if temperature is None else temperature
    if not 0.0 <= temperature <= 1.0:
        raise UserError(f"--temperature must be within 0..1, got {temperature:g}")
    return Inference(max_tokens=max_tokens, temperature=temperature)


def outcomes(
    cache: ResponseCache, model: str, prompts: list[Prompt], samples: int, inference: Inference
) -> list[Response]:
    """The cached outcome (answer or error) of every call of `model` for these prompts, as asked now."""
    return [
        response
        for prompt in prompts
        for index in range(samples)
        if (response := cache.current((model, prompt.id, index), inference.fingerprint(prompt))) is not None
    ]


def describe(
    plan_: Plan, models: int, prompts: int, samples: int, max_tokens: int, api: str = "Converse"
) -> str:
    line = (
        f"{len(plan_.calls):,} {api} calls to make ({models} model(s) × {prompts:,} prompts × {samples} "
        f"sample(s)"
    )
    line += f", {plan_.cached:,} already cached)" if plan_.cached else ")"
    if plan_.calls:
        line += (
            f": about {plan_.input_tokens:,} input tokens and at most {plan_.max_output_tokens:,} output "
            f"tokens (maxTokens {max_tokens:,} per call)"
        )
    return line


def _bar(console: Console) -> Progress:
    return Progress(
        TextColumn("[bold]sampling[/]"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn(
            "{task.fields[errors]} errors · {task.fields[tokens_in]:,} in / {task.fields[tokens_out]:,} out tokens"
        ),
        TimeElapsedColumn(),
        console=console,
    )


def _sample(
    concurrency: int,
    plan_: Plan,
    cache: ResponseCache,
    inference: Inference,
    client_factory: ClientFactory,
    progress_console: Console,
) -> Tally:
    sampler = Sampler(client_factory, inference, concurrency=concurrency)
    with _bar(progress_console) as bar:
        task = bar.add_task("sampling", total=len(plan_.calls), errors=0, tokens_in=0, tokens_out=0)

        def advance(_: Response, tally: Tally) -> None:
            bar.update(
                task,
                completed=tally.done,
                errors=tally.errors,
                tokens_in=tally.input_tokens,
                tokens_out=tally.output_tokens,
            )

        def interrupted(in_flight: int) -> None:
            progress_console.print(
                f"interrupted: waiting for the {in_flight} call(s) already started so they are kept "
                "(Ctrl-C again to abandon them)",
                highlight=False,
                soft_wrap=True,
            )

        try:
            return sampler.run(plan_.calls, cache, on_response=advance, on_interrupt=interrupted)
        except KeyboardInterrupt:
            answered = sum(1 for r in cache.latest.values() if r.ok)
            raise UserError(
                f"interrupted; {answered:,} responses are cached in {cache.path}: rerun the same command to "
                "resume (only the missing calls are made)",
                EXIT_INTERRUPTED,
            ) from None


def models_for(
    open_weight: OpenWeightTarget | None,
    names: list[str],
    config,  # stacks.config.RftConfig
    spec: TaskSpec,
    region: str,
    endpoint_url: str | None,
    out_dir: Path,
) -> list[str]:
    """`--model` values resolved for the stack's backend: mantle model ids, or Converse model ids."""
    if open_weight is not None:
        return open_weight.resolve(names, region, endpoint_url)
    return resolve_models(
        names, base_model=config.base_model, region=region, out_dir=out_dir, stack_name=spec.stack_name
    )


def sampling_client(
    open_weight: OpenWeightTarget | None, region: str, endpoint_url: str | None
) -> tuple[ClientFactory, str]:
    """The client that answers prompts for the stack's backend, and the API's name for the plan line."""
    if open_weight is not None:
        return chat_completions_factory(region, endpoint_url), API_LABEL
    return bedrock_runtime_factory(region, endpoint_url), "Converse"


def sample_missing(
    plan_: Plan,
    cache: ResponseCache,
    inference: Inference,
    client_factory: ClientFactory,
    concurrency: int,
    progress_console: Console,
    confirm: Confirm | None,
    shape: tuple[int, int, int],
    api: str = "Converse",
) -> None:
    """Say what the run will ask for, ask first above `CONFIRM_ABOVE_CALLS`, then make the missing calls.

    `shape` is (models, prompts, samples per prompt), for the line that says what the run is.
    """
    models, prompts, samples = shape
    progress_console.print(
        describe(plan_, models, prompts, samples, inference.max_tokens, api),
        highlight=False,
        markup=False,
        soft_wrap=True,
    )
    if len(plan_.calls) > CONFIRM_ABOVE_CALLS:
        question = f"make {len(plan_.calls):,} billed {api} calls?"
        if confirm is None:
            raise UserError(
                f"{len(plan_.calls):,} calls is above the {CONFIRM_ABOVE_CALLS:,} that run without asking, "
                "and there is no terminal to ask; pass --yes to run it"
            )
        if not confirm(question):
            raise UserError("not run (nothing was called); pass --yes to skip the question")
    if plan_.calls:
        _sample(concurrency, plan_, cache, inference, client_factory, progress_console)


def _results(
    models: list[str],
    labels: list[str],
    prompts: list[Prompt],
    samples: int,
    inference: Inference,
    cache: ResponseCache,
    scorer: Scorer,
    batch_size: int,
) -> list[ModelResult]:
    by_id = {p.id: p for p in prompts}
    results = []
    for model, label in zip(models, labels, strict=True):
        answers = outcomes(cache, model, prompts, samples, inference)
        scored = score(scorer.handler, by_id, answers, batch_size)
        result = ModelResult(model, scored, [r for r in answers if not r.ok], label=label)
        if scorer.code_checked is not None:
            same = scorer.code_checked is scorer.handler
            checked = scored if same else score(scorer.code_checked, by_id, answers, batch_size)
            result.code_checked = accuracy(checked)
            result.code_checked_label = scorer.code_checked_label
        results.append(result)
    return results


def evaluate(
    request: EvaluateRequest,
    console: Console,
    *,
    progress_console: Console | None = None,
    confirm: Confirm | None = None,
    client_factory: ClientFactory | None = None,
) -> Evaluation:
    """Sample, score, report. `confirm(question)` is asked before a large run (None: refuse it)."""
    spec = resolve_task(request.target)
    config = _config(spec)
    open_weight = open_weight_target(config, spec.stack_name)  # None: Nova, through Converse
    region = request.region or (open_weight.region if open_weight else default_region())
    path = data_file(spec.name, request.data)
    prompts = read_prompts(path, request.limit)
    models = models_for(
        open_weight, request.models, config, spec, region, request.endpoint_url, request.out_dir
    )
    inference = inference_for(config, request.samples, request.max_tokens, request.temperature)
    max_tokens, temperature = inference.max_tokens, inference.temperature
    scorer = scorer_for(spec.name, request.judge, request.judge_model)  # fails before anything is paid for

    progress_console = progress_console or console
    stem = request.out_dir / f"evaluate-{spec.name}"
    with ResponseCache(stem.with_name(stem.name + ".responses.jsonl")) as cache:
        plan_ = plan(models, prompts, request.samples, inference, cache)
        default_factory, api = sampling_client(open_weight, region, request.endpoint_url)
        factory = client_factory or default_factory
        shape = (len(models), len(prompts), request.samples)
        sample_missing(
            plan_, cache, inference, factory, request.concurrency, progress_console, confirm, shape, api
        )
        results = _results(
            models, request.models, prompts, request.samples, inference, cache, scorer, request.batch_size
        )

    evaluation = Evaluation(
        task=spec.name,
        data=str(path),
        prompts=len(prompts),
        samples_per_prompt=request.samples,
        max_tokens=max_tokens,
        temperature=temperature,
        handler=scorer.label,
        results=results,
        notes=[*scorer.notes, *request.notes, *([open_weight.note] if open_weight else [])],
        prompt_text={p.id: "\n\n".join(m["content"][0]["text"] for m in p.messages) for p in prompts},
    )
    chart = report.write_chart(stem.with_suffix(".png"), evaluation)
    written = [
        report.write_json(stem.with_suffix(".json"), evaluation),
        report.write_markdown(stem.with_suffix(".md"), evaluation),
        chart,
        report.write_svg(stem.with_suffix(".svg"), evaluation),
        html.write_html(stem.with_suffix(".html"), evaluation, chart),
    ]
    report.render(console, evaluation, written)
    return evaluation
