"""From scored responses to the figures of the report: per model, then paired against the first.

Definitions (docs/evaluate.md repeats them):

* a response is **correct** when its reward is at least 0.5; **accuracy** is the share of a model's
  scored responses that are correct, with a 95 % Wilson interval. Call errors are not responses:
  they are counted apart and never scored as wrong.
* a **prompt** is correct for a model when more than half of its scored samples are (with one sample
  per prompt: when that response is). Prompts where the model has no scored sample are left out.
* the paired comparison uses the prompts both models answered: **improved** = wrong for the baseline
  and right for the candidate, **regressed** the reverse; the exact McNemar p-value is computed from
  those two counts. `delta` is the candidate's accuracy minus the baseline's (the table's figures);
  `paired_delta` is the same difference over the paired prompts only, with its 95 % interval
  (`paired_delta_ci95`), which is what the one-paragraph summary states.
* a shard of prompts that failed for good (the workflow) is listed in `failed_shards`: its prompts have
  no response from that model, so they are not in its figures nor in the paired comparison.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from rft_eval.responses import Response
from rft_eval.scoring import Scored
from rft_eval.stats import PAYS_AT, majority_correct, mcnemar_exact, paired_difference_ci, wilson

CORRECTNESS_RULE = (
    f"a response is correct when its reward is >= {PAYS_AT}; a prompt is correct for a model when more "
    "than half of its scored samples are"
)


@dataclass(frozen=True)
class Accuracy:
    correct: int
    responses: int

    @property
    def value(self) -> float:
        return self.correct / self.responses if self.responses else 0.0

    @property
    def ci95(self) -> tuple[float, float]:
        return wilson(self.correct, self.responses)


def accuracy(scored: Sequence[Scored]) -> Accuracy:
    return Accuracy(sum(1 for s in scored if s.score >= PAYS_AT), len(scored))


@dataclass
class ModelResult:
    model: str
    scored: list[Scored]
    errors: list[Response]
    code_checked: Accuracy | None = None
    code_checked_label: str = ""
    label: str | None = None  # the shorthand it was asked for by (`base`, `tuned`), if any
    per_prompt: dict[str, bool] = field(default_factory=dict)  # prompt id -> correct (majority rule)

    def __post_init__(self) -> None:
        by_prompt: dict[str, list[float]] = {}
        for s in self.scored:
            by_prompt.setdefault(s.response.prompt_id, []).append(s.score)
        self.per_prompt = {p: bool(majority_correct(scores)) for p, scores in by_prompt.items()}

    @property
    def accuracy(self) -> Accuracy:
        return accuracy(self.scored)

    @property
    def prompt_count(self) -> int:
        """Prompts with a scored sample (a result read back from JSON knows how many, not which)."""
        return len(self.per_prompt)

    @property
    def error_count(self) -> int:
        return len(self.errors)

    @property
    def name(self) -> str:
        """Short enough for a table: an ARN by its resource, prefixed by the shorthand it came from."""
        short = self.model.split(":", 5)[-1] if self.model.startswith("arn:") else self.model
        return f"{self.label} ({short})" if self.label and self.label != self.model else short

    @property
    def mean_score(self) -> float:
        return sum(s.score for s in self.scored) / len(self.scored) if self.scored else 0.0

    @property
    def format_failures(self) -> int:
        return sum(1 for s in self.scored if not s.format_ok)

    @property
    def mean_output_tokens(self) -> float:
        return sum(s.response.output_tokens for s in self.scored) / len(self.scored) if self.scored else 0.0

    @property
    def mean_latency_ms(self) -> float:
        latencies = [s.response.latency_ms for s in self.scored if s.response.latency_ms is not None]
        return sum(latencies) / len(latencies) if latencies else math.nan

    def first_response(self, prompt_id: str) -> Scored | None:
        return next((s for s in self.scored if s.response.prompt_id == prompt_id), None)

    def error_reasons(self) -> dict[str, int]:
        reasons: dict[str, int] = {}
        for e in self.errors:
            reason = (e.error or "").split(":", 1)[0]
            reasons[reason] = reasons.get(reason, 0) + 1
        return reasons

    def to_json(self) -> dict[str, Any]:
        acc = self.accuracy
        low, high = acc.ci95
        entry: dict[str, Any] = {
            "model": self.model,
            "label": self.label,
            "prompts": self.prompt_count,
            "responses": acc.responses,
            "correct": acc.correct,
            "accuracy": round(acc.value, 6),
            "ci95": [round(low, 6), round(high, 6)],
            "mean_score": round(self.mean_score, 6),
            "format_failures": self.format_failures,
            "errors": self.error_count,
            "error_reasons": self.error_reasons(),
            "mean_output_tokens": round(self.mean_output_tokens, 2),
            "mean_latency_ms": None if math.isnan(self.mean_latency_ms) else round(self.mean_latency_ms, 1),
        }
        if self.code_checked is not None:
            c_low, c_high = self.code_checked.ci95
            entry["code_checked"] = {
                "label": self.code_checked_label,
                "accuracy": round(self.code_checked.value, 6),
                "ci95": [round(c_low, 6), round(c_high, 6)],
                "correct": self.code_checked.correct,
                "responses": self.code_checked.responses,
            }
        return entry


@dataclass(frozen=True)
class Comparison:
    baseline: str
    candidate: str
    delta: float
    paired: int
    improved: list[str]
    regressed: list[str]
    baseline_name: str = ""
    candidate_name: str = ""
    both_correct: int = 0  # paired prompts right for both models
    baseline_label: str | None = None
    candidate_label: str | None = None

    @property
    def p_value(self) -> float:
        return mcnemar_exact(len(self.improved), len(self.regressed))

    @property
    def paired_delta(self) -> float:
        return (len(self.improved) - len(self.regressed)) / self.paired if self.paired else 0.0

    @property
    def paired_accuracies(self) -> tuple[float, float]:
        """(baseline, candidate) accuracy over the paired prompts, by the majority rule."""
        if not self.paired:
            return (0.0, 0.0)
        return (
            (self.both_correct + len(self.regressed)) / self.paired,
            (self.both_correct + len(self.improved)) / self.paired,
        )

    @property
    def paired_delta_ci95(self) -> tuple[float, float]:
        neither = self.paired - self.both_correct - len(self.improved) - len(self.regressed)
        return paired_difference_ci(self.both_correct, len(self.improved), len(self.regressed), neither)

    def to_json(self) -> dict[str, Any]:
        return {
            "baseline": self.baseline,
            "candidate": self.candidate,
            "delta": round(self.delta, 6),
            "p_value": self.p_value,
            "paired_prompts": self.paired,
            "paired_delta": round(self.paired_delta, 6),
            "paired_delta_ci95": [round(bound, 6) for bound in self.paired_delta_ci95],
            "improved": self.improved,
            "regressed": self.regressed,
        }


def compare(baseline: ModelResult, candidate: ModelResult) -> Comparison:
    both = [p for p in baseline.per_prompt if p in candidate.per_prompt]
    improved = [p for p in both if candidate.per_prompt[p] and not baseline.per_prompt[p]]
    regressed = [p for p in both if baseline.per_prompt[p] and not candidate.per_prompt[p]]
    delta = candidate.accuracy.value - baseline.accuracy.value
    return Comparison(
        baseline.model,
        candidate.model,
        delta,
        len(both),
        improved,
        regressed,
        baseline.name,
        candidate.name,
        both_correct=sum(1 for p in both if baseline.per_prompt[p] and candidate.per_prompt[p]),
        baseline_label=baseline.label,
        candidate_label=candidate.label,
    )


def comparisons(results: Sequence[ModelResult]) -> list[Comparison]:
    """Each model after the first, paired against the first."""
    return [compare(results[0], other) for other in results[1:]]


@dataclass
class Evaluation:
    """Everything one evaluation found: the interface the JSON report is written from.

    `rft evaluate` and the post-training workflow both build one, so their report.json is one schema.
    """

    task: str
    data: str
    prompts: int
    samples_per_prompt: int
    max_tokens: int
    temperature: float
    handler: str
    results: list[ModelResult]
    notes: list[str] = field(default_factory=list)
    prompt_text: dict[str, str] = field(default_factory=dict)  # prompt id -> its user turn, for the page
    # shards of prompts a model never answered (the workflow): {label, model, index, start, end, prompts, error}
    failed_shards: list[dict[str, Any]] = field(default_factory=list)

    @property
    def comparisons(self) -> list[Comparison]:
        return comparisons(self.results)

    def to_json(self) -> dict[str, Any]:
        return {
            "task": self.task,
            "data": self.data,
            "prompts": self.prompts,
            "samples_per_prompt": self.samples_per_prompt,
            "models": [r.to_json() for r in self.results],
            "comparisons": [c.to_json() for c in self.comparisons],
            "inference": {"maxTokens": self.max_tokens, "temperature": self.temperature},
            "handler": self.handler,
            "correctness": CORRECTNESS_RULE,
            "notes": self.notes,
            "failed_shards": self.failed_shards,
        }


# -- Reading a report back ----------------------------------------------------------------------
# `rft evaluate --from-s3` prints the table of a report the post-training workflow wrote. The JSON
# keeps each model's figures, not its responses, so a result read back carries those figures and
# answers the same questions the renderers ask (`report_text.rows`, `rft.evaluate.report.render`).


@dataclass
class ReportedResult(ModelResult):
    """One model's entry of a report's JSON, with the `ModelResult` interface the renderers use."""

    figures: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.per_prompt = {}  # which prompts were right is not in the JSON (the comparisons say what changed)

    @property
    def accuracy(self) -> Accuracy:
        return Accuracy(int(self.figures["correct"]), int(self.figures["responses"]))

    @property
    def prompt_count(self) -> int:
        return int(self.figures["prompts"])

    @property
    def error_count(self) -> int:
        return int(self.figures["errors"])

    @property
    def mean_score(self) -> float:
        return float(self.figures["mean_score"])

    @property
    def format_failures(self) -> int:
        return int(self.figures["format_failures"])

    @property
    def mean_output_tokens(self) -> float:
        return float(self.figures["mean_output_tokens"])

    @property
    def mean_latency_ms(self) -> float:
        latency = self.figures.get("mean_latency_ms")
        return math.nan if latency is None else float(latency)

    def error_reasons(self) -> dict[str, int]:
        return {str(k): int(v) for k, v in (self.figures.get("error_reasons") or {}).items()}


@dataclass
class ReportedEvaluation(Evaluation):
    """An `Evaluation` read from its JSON: the comparisons are the report's, not recomputed."""

    reported_comparisons: list[Comparison] = field(default_factory=list)

    @property
    def comparisons(self) -> list[Comparison]:
        return self.reported_comparisons


@dataclass(frozen=True)
class ReportedComparison(Comparison):
    """A `Comparison` read from its JSON. The JSON keeps the paired difference's interval but not how
    many paired prompts both models got right, so the interval is the report's and the paired
    accuracies are unknown (the report's summary.txt states them)."""

    reported_ci95: tuple[float, float] = (math.nan, math.nan)

    @property
    def paired_delta_ci95(self) -> tuple[float, float]:
        return self.reported_ci95

    @property
    def paired_accuracies(self) -> tuple[float, float]:
        return (math.nan, math.nan)


def _reported_result(entry: dict[str, Any]) -> ReportedResult:
    result = ReportedResult(str(entry["model"]), [], [], label=entry.get("label"), figures=entry)
    checked = entry.get("code_checked")
    if isinstance(checked, dict):
        result.code_checked = Accuracy(int(checked["correct"]), int(checked["responses"]))
        result.code_checked_label = str(checked.get("label", ""))
    return result


def from_json(data: dict[str, Any]) -> ReportedEvaluation:
    """The inverse of `Evaluation.to_json` for everything the report shows; KeyError/TypeError/ValueError
    when `data` is not such a report.

    A comparison read back is a `ReportedComparison`: the report's prompts, p-value and interval, but no
    paired accuracies (not in the JSON).
    """
    results = [_reported_result(entry) for entry in data["models"]]
    names = {r.model: r.name for r in results}
    labels = {r.model: r.label for r in results}
    compared: list[Comparison] = [
        ReportedComparison(
            baseline=str(c["baseline"]),
            candidate=str(c["candidate"]),
            delta=float(c["delta"]),
            paired=int(c["paired_prompts"]),
            improved=[str(p) for p in c["improved"]],
            regressed=[str(p) for p in c["regressed"]],
            baseline_name=names.get(str(c["baseline"]), str(c["baseline"])),
            candidate_name=names.get(str(c["candidate"]), str(c["candidate"])),
            baseline_label=labels.get(str(c["baseline"])),
            candidate_label=labels.get(str(c["candidate"])),
            reported_ci95=(float(c["paired_delta_ci95"][0]), float(c["paired_delta_ci95"][1])),
        )
        for c in data.get("comparisons", [])
    ]
    inference = data.get("inference", {})
    return ReportedEvaluation(
        task=str(data["task"]),
        data=str(data.get("data", "")),
        prompts=int(data["prompts"]),
        samples_per_prompt=int(data["samples_per_prompt"]),
        max_tokens=int(inference.get("maxTokens", 0)),
        temperature=float(inference.get("temperature", 0.0)),
        handler=str(data.get("handler", "")),
        results=results,
        notes=[str(n) for n in data.get("notes", [])],
        failed_shards=[dict(shard) for shard in data.get("failed_shards") or []],
        reported_comparisons=compared,
    )
