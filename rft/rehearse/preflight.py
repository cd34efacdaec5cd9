"""`rft rehearse <task> --model M --samples K`: a pre-flight on the base model before paying for a job.

GRPO learns only from a prompt whose K samples disagree (some paid, some not). This asks the model
for K responses to (the first `--limit` of) the task's training prompts through the evaluation
harness (same cache, so an interrupted run resumes; same progress, confirmation and concurrency),
scores them with the task's own reward, and reports pass@1, pass@K, the share of prompt groups with
no signal (all right or all wrong) and how many training records are expected to carry signal.
`--write-filtered FILE` keeps only those records, checked as data_prep checks a training split.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rft_eval.stats import has_signal, pass_at_k, wilson
from rich.console import Console

from rft.errors import UserError
from rft.evaluate.cache import ResponseCache
from rft.evaluate.chat_completions import open_weight_target
from rft.evaluate.command import (
    Confirm,
    _config,
    inference_for,
    models_for,
    outcomes,
    resolve_task,
    sample_missing,
    sampling_client,
)
from rft.evaluate.grading import score, scorer_for
from rft.evaluate.sampling import (
    DEFAULT_CONCURRENCY,
    ClientFactory,
    plan,
    read_prompts,
)
from rft.project import default_region


@dataclass(frozen=True)
class PreflightRequest:
    task: str
    model: str
    samples: int | None = None  # default: the job's trainingSamplePerPrompt, the group GRPO compares
    limit: int | None = None
    out_dir: Path = Path("reports")
    concurrency: int = DEFAULT_CONCURRENCY
    temperature: float | None = None
    max_tokens: int | None = None
    region: str | None = None
    endpoint_url: str | None = None
    write_filtered: Path | None = None


@dataclass(frozen=True)
class Preflight:
    task: str
    model: str
    data: str
    samples: int
    prompts: int  # asked
    complete: int  # prompts whose K samples all answered (the others are left out of every figure)
    pass_at_1: float
    pass_at_k: float
    all_right: int
    all_wrong: int
    with_signal: list[str]  # ids of the prompt groups that carry signal
    errors: int
    training_records: int  # in the whole training file

    @property
    def no_signal_share(self) -> float:
        return (self.all_right + self.all_wrong) / self.complete if self.complete else 0.0

    def signal_estimate(self) -> tuple[int, int, int]:
        """Training records expected to carry signal: the sample's share scaled to the whole file,
        with its 95 % Wilson interval."""
        share = len(self.with_signal) / self.complete if self.complete else 0.0
        low, high = wilson(len(self.with_signal), self.complete)
        n = self.training_records
        return round(share * n), round(low * n), round(high * n)

    def to_json(self) -> dict[str, Any]:
        estimate, low, high = self.signal_estimate()
        return {
            "task": self.task,
            "model": self.model,
            "data": self.data,
            "samples_per_prompt": self.samples,
            "prompts": self.prompts,
            "complete_prompts": self.complete,
            "pass_at_1": round(self.pass_at_1, 6),
            "pass_at_k": round(self.pass_at_k, 6),
            "all_right": self.all_right,
            "all_wrong": self.all_wrong,
            "no_signal_share": round(self.no_signal_share, 6),
            "with_signal": len(self.with_signal),
            "errors": self.errors,
            "training_records": self.training_records,
            "signal_records_estimate": {"records": estimate, "ci95": [low, high]},
        }


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def preflight(
    request: PreflightRequest,
    console: Console,
    *,
    progress_console: Console | None = None,
    confirm: Confirm | None = None,
    client_factory: ClientFactory | None = None,
) -> Preflight:
    spec = resolve_task(request.task)
    config = _config(spec)
    open_weight = open_weight_target(config, spec.stack_name)  # None: Nova, through Converse
    region = request.region or (open_weight.region if open_weight else default_region())
    data = Path("build") / "data" / spec.name / "train.jsonl"
    if not data.is_file():
        raise UserError(
            f"the {spec.name} training split {data} is missing; write it with `python -m data_prep {spec.name}`"
        )
    k = request.samples if request.samples is not None else config.samples_per_prompt
    if k < 1:
        raise UserError(f"--samples must be at least 1, got {k}")
    prompts = read_prompts(data, request.limit)
    (model,) = models_for(
        open_weight, [request.model], config, spec, region, request.endpoint_url, request.out_dir
    )
    inference = inference_for(config, k, request.max_tokens, request.temperature)
    scorer = scorer_for(spec.name)
    progress_console = progress_console or console
    with ResponseCache(request.out_dir / f"preflight-{spec.name}.responses.jsonl") as cache:
        plan_ = plan([model], prompts, k, inference, cache)
        default_factory, api = sampling_client(open_weight, region, request.endpoint_url)
        factory = client_factory or default_factory
        shape = (1, len(prompts), k)
        sample_missing(
            plan_, cache, inference, factory, request.concurrency, progress_console, confirm, shape, api
        )
        answers = outcomes(cache, model, prompts, k, inference)
    scored = score(scorer.handler, {p.id: p for p in prompts}, answers)
    by_prompt: dict[str, list[float]] = {}
    for item in scored:
        by_prompt.setdefault(item.response.prompt_id, []).append(item.score)
    complete = {pid: s for pid, s in by_prompt.items() if len(s) == k}
    paid = {pid: sum(1 for x in s if x >= 0.5) for pid, s in complete.items()}
    result = Preflight(
        task=spec.name,
        model=model,
        data=str(data),
        samples=k,
        prompts=len(prompts),
        complete=len(complete),
        pass_at_1=_mean([pass_at_k(k, c, 1) for c in paid.values()]),
        pass_at_k=_mean([pass_at_k(k, c, k) for c in paid.values()]),
        all_right=sum(1 for c in paid.values() if c == k),
        all_wrong=sum(1 for c in paid.values() if c == 0),
        with_signal=[p.id for p in prompts if p.id in complete and has_signal(complete[p.id])],
        errors=sum(1 for r in answers if not r.ok),
        training_records=len(_lines(data)),
    )
    request.out_dir.mkdir(parents=True, exist_ok=True)
    report = request.out_dir / f"preflight-{spec.name}.json"
    report.write_text(json.dumps(result.to_json(), indent=2) + "\n", encoding="utf-8")
    render(console, result, report, scorer.label)
    if request.write_filtered is not None:
        written = write_filtered(
            request.write_filtered, data, data.with_name("test.jsonl"), set(result.with_signal)
        )
        console.print(
            f"wrote {written:,} training records that carry signal to {request.write_filtered}",
            highlight=False,
        )
    return result


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def render(console: Console, result: Preflight, report: Path, handler: str) -> None:
    def say(line: str) -> None:
        console.print(line, highlight=False, markup=False, soft_wrap=True)

    k = result.samples
    estimate, low, high = result.signal_estimate()
    say(
        f"pre-flight of {result.model} on {result.prompts:,} {result.task} training prompts × {k} sample(s), scored by {handler}"
    )
    if result.complete < result.prompts:
        say(
            f"  {result.prompts - result.complete:,} prompt(s) left out: a call failed ({result.errors:,} call errors)"
        )
    say(f"  pass@1 {result.pass_at_1:.1%}   pass@{k} {result.pass_at_k:.1%}")
    say(
        f"  no signal: {result.no_signal_share:.1%} of prompt groups ({result.all_right:,} all right, "
        f"{result.all_wrong:,} all wrong); {len(result.with_signal):,} of {result.complete:,} carry signal"
    )
    if result.complete == result.training_records:
        say(
            f"  training records that carry signal: {len(result.with_signal):,} of {result.training_records:,}"
        )
    else:
        say(
            f"  training records expected to carry signal: about {estimate:,} of {result.training_records:,} "
            f"(95% CI {low:,}-{high:,})"
        )
    if k == 1:
        say(
            "  with --samples 1 no group can disagree: use --samples 4 (the job's group size) to measure signal"
        )
    say(f"report: {report}")


def write_filtered(out: Path, train: Path, test: Path, keep: set[str]) -> int:
    """Write the training records whose id is in `keep`, checked as data_prep checks a training split."""
    from data_prep.dedup import prompt_key
    from data_prep.validation import MAX_RECORDS, MIN_RECORDS, broken_rules, count_problems

    records = [r for r in _lines(train) if str(r.get("id")) in keep]
    broken = [(r.get("id"), rule.text) for r in records for rule in broken_rules(r)]
    if broken:
        record_id, rule = broken[0]
        raise UserError(
            f"not written: training record {record_id!r} breaks a data_prep rule ({rule}); rebuild it with data_prep"
        )
    if count_problems({"train": len(records)}):
        raise UserError(
            f"not written: only {len(records):,} training records carry signal, and an RFT training set needs "
            f"{MIN_RECORDS:,}-{MAX_RECORDS:,}; sample more prompts (raise or drop --limit) or keep the full training set"
        )
    if not test.is_file():
        raise UserError(
            f"not written: the test split {test} is missing, so the filtered file cannot be checked against it; write it with data_prep"
        )
    held_out = _lines(test)
    test_ids = {str(r.get("id")) for r in held_out}
    test_keys = {prompt_key(r) for r in held_out}
    leaked = [r["id"] for r in records if str(r.get("id")) in test_ids or prompt_key(r) in test_keys]
    if leaked:
        raise UserError(
            f"not written: {len(leaked):,} of the records (e.g. {leaked[0]!r}) are also in the test split {test}; "
            "rebuild the splits with data_prep, which keeps them apart"
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    return len(records)
