"""Presenting an evaluation as text: the table's rows, Markdown, the JSON report and the summary.

`rft evaluate` prints the same rows as a Rich table and writes these files; the workflow writes them
to S3. The JSON is an interface (other tools read it), so its names are fixed: see
`Evaluation.to_json`.
"""

from __future__ import annotations

import json
import math

from rft_eval.results import Comparison, Evaluation, ModelResult

IDS_SHOWN = 10


def _pct(value: float) -> str:
    return f"{value:.1%}"


def _ci(result: ModelResult) -> str:
    low, high = result.accuracy.ci95
    return f"{low:.1%}–{high:.1%}"


def _ms(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:,.0f} ms"


def p_text(value: float) -> str:
    return f"{value:.4f}" if value >= 1e-4 else f"{value:.1e}"


def rows(evaluation: Evaluation) -> list[list[str]]:
    """The table's rows, one per model, shared by the terminal, Markdown and HTML renderings."""
    has_code = any(r.code_checked is not None for r in evaluation.results)
    out = []
    for r in evaluation.results:
        row = [
            r.name,
            f"{r.prompt_count:,}",
            f"{r.accuracy.responses:,}",
            _pct(r.accuracy.value),
            _ci(r),
            f"{r.mean_score:.3f}",
            f"{r.format_failures:,}",
            f"{r.error_count:,}",
            f"{r.mean_output_tokens:,.0f}",
            _ms(r.mean_latency_ms),
        ]
        if has_code:
            row.append(_pct(r.code_checked.value) if r.code_checked is not None else "n/a")
        out.append(row)
    return out


def headers(evaluation: Evaluation) -> list[str]:
    names = ["model", "prompts", "responses", "accuracy", "95% CI", "mean reward"]
    names += ["format failures", "call errors", "mean output tokens", "mean latency"]
    labels = {r.code_checked_label for r in evaluation.results if r.code_checked is not None}
    if labels:
        names.append(f"accuracy ({sorted(labels)[0]})")
    return names


def comparison_line(c: Comparison) -> str:
    return (
        f"{c.candidate_name} vs {c.baseline_name}: accuracy {c.delta:+.1%}, exact McNemar p = {p_text(c.p_value)} over "
        f"{c.paired:,} prompts both answered; {len(c.improved):,} improved, {len(c.regressed):,} regressed"
    )


def ids_text(ids: list[str]) -> str:
    shown = ", ".join(ids[:IDS_SHOWN])
    return shown + (f" (+{len(ids) - IDS_SHOWN:,} more)" if len(ids) > IDS_SHOWN else "")


def json_text(evaluation: Evaluation) -> str:
    return json.dumps(evaluation.to_json(), indent=2, ensure_ascii=False) + "\n"


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def failed_shard_line(shard: dict) -> str:
    return (
        f"{shard.get('label')} shard {shard.get('index')} (prompts {shard.get('start')}–{shard.get('end')}, "
        f"{shard.get('prompts', 0):,} prompts) failed: {shard.get('error') or 'no error given'}"
    )


def markdown(evaluation: Evaluation) -> str:
    lines = [
        f"# Evaluation on {evaluation.task}",
        "",
        f"Data: `{evaluation.data}` ({evaluation.prompts:,} prompts × {evaluation.samples_per_prompt} "
        f"sample(s), maxTokens {evaluation.max_tokens}, temperature {evaluation.temperature:g}). "
        f"Scored by `{evaluation.handler}`.",
        "",
        "| " + " | ".join(headers(evaluation)) + " |",
        "|" + "---|" * len(headers(evaluation)),
    ]
    lines += ["| " + " | ".join(_md_cell(cell) for cell in row) + " |" for row in rows(evaluation)]
    if evaluation.notes:
        lines += ["", *(f"Note: {note}" for note in evaluation.notes)]
    if evaluation.failed_shards:
        lines += [
            "",
            "**Failed shards** (their prompts are not scored and not in the paired comparison):",
            "",
        ]
        lines += [f"- {_md_cell(failed_shard_line(shard))}" for shard in evaluation.failed_shards]
    for c in evaluation.comparisons:
        lines += ["", f"**{_md_cell(comparison_line(c))}**", ""]
        lines.append(f"- improved: {_md_cell(ids_text(c.improved)) or 'none'}")
        lines.append(f"- regressed: {_md_cell(ids_text(c.regressed)) or 'none'}")
    return "\n".join(lines) + "\n"


def _points(value: float) -> str:
    return f"{value * 100:.1f}"


def _summary_p(value: float) -> str:
    return "p < 0.001" if value < 0.001 else f"p = {value:.3f}"


def _who(label: str | None, name: str) -> str:
    return label or name


def comparison_sentence(task: str, c: Comparison) -> str:
    """`gsm8k: tuned 84.1 % vs base 71.3 % (+12.8 points, 95 % CI ±2.3, McNemar p < 0.001) on 1,319 ...`

    The figures are over the prompts both models answered (the paired comparison), so the accuracies,
    the difference, its interval and the test all describe the same prompts.
    """
    candidate, baseline = _who(c.candidate_label, c.candidate_name), _who(c.baseline_label, c.baseline_name)
    if not c.paired:
        return (
            f"{task}: {candidate} vs {baseline}: no prompt was answered by both, so there is no comparison."
        )
    base_acc, cand_acc = c.paired_accuracies
    delta = c.paired_delta
    low, high = c.paired_delta_ci95
    if abs((high - delta) - (delta - low)) < 0.0005:
        interval = f"95 % CI ±{_points((high - low) / 2)}"
    else:
        interval = f"95 % CI {low * 100:+.1f} to {high * 100:+.1f}"
    return (
        f"{task}: {candidate} {_points(cand_acc)} % vs {baseline} {_points(base_acc)} % "
        f"({delta * 100:+.1f} points, {interval}, McNemar {_summary_p(c.p_value)}) "
        f"on {c.paired:,} held-out prompts."
    )


def summary(evaluation: Evaluation) -> str:
    """The one-paragraph verdict: the paired comparison, then anything left out of it and why."""
    comparisons = evaluation.comparisons
    if comparisons:
        sentences = [comparison_sentence(evaluation.task, c) for c in comparisons]
    else:
        sentences = [
            f"{evaluation.task}: "
            + "; ".join(f"{r.label or r.name} {_points(r.accuracy.value)} %" for r in evaluation.results)
            + f" on {evaluation.prompts:,} held-out prompts."
        ]
    left_out = [
        f"{r.label or r.name} has no scored answer for {evaluation.prompts - r.prompt_count:,}"
        for r in evaluation.results
        if r.prompt_count < evaluation.prompts
    ]
    if left_out:
        sentences.append(
            f"Left out of the comparison: {'; '.join(left_out)} of {evaluation.prompts:,} prompts."
        )
    if evaluation.failed_shards:
        prompts = sum(int(s.get("prompts", 0)) for s in evaluation.failed_shards)
        sentences.append(
            f"{len(evaluation.failed_shards)} shard(s) failed ({prompts:,} prompt-answers not made); "
            "they are counted as failed, not as wrong answers."
        )
    errors = sum(r.error_count for r in evaluation.results)
    if errors:
        sentences.append(f"{errors:,} model call(s) failed and were not scored.")
    return " ".join(sentences)
