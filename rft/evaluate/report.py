"""Presenting an evaluation: a Rich table in the terminal, and JSON, Markdown and a PNG chart on disk.

The JSON is an interface (other tools read it), so its names are fixed: see `Evaluation.to_json`.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from rich.console import Console
from rich.table import Table

from rft.evaluate.results import Comparison, Evaluation, ModelResult

IDS_SHOWN = 10


def _pct(value: float) -> str:
    return f"{value:.1%}"


def _ci(result: ModelResult) -> str:
    low, high = result.accuracy.ci95
    return f"{low:.1%}–{high:.1%}"


def _ms(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:,.0f} ms"


def _p(value: float) -> str:
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
        f"{c.candidate_name} vs {c.baseline_name}: accuracy {c.delta:+.1%}, exact McNemar p = {_p(c.p_value)} over "
        f"{c.paired:,} prompts both answered; {len(c.improved):,} improved, {len(c.regressed):,} regressed"
    )


def _ids(ids: list[str]) -> str:
    shown = ", ".join(ids[:IDS_SHOWN])
    return shown + (f" (+{len(ids) - IDS_SHOWN:,} more)" if len(ids) > IDS_SHOWN else "")


def render(console: Console, evaluation: Evaluation, written: list[Path]) -> None:
    title = (
        f"Evaluation on {evaluation.task}: {evaluation.prompts:,} prompts × {evaluation.samples_per_prompt} "
        f"sample(s), scored by {evaluation.handler}"
    )
    # Figures as rows and models as columns: fits a terminal however long the model ids are.
    table = Table(title=title, title_justify="left")
    names = headers(evaluation)
    table.add_column("", style="bold")
    body = rows(evaluation)
    for row in body:
        table.add_column(row[0], justify="right", overflow="fold")
    for index, name in enumerate(names[1:], start=1):
        table.add_row(name, *(row[index] for row in body))
    console.print(table)
    for note in evaluation.notes:
        console.print(f"note: {note}", soft_wrap=True, markup=False)
    for r in evaluation.results:
        if r.error_count:
            reasons = ", ".join(f"{k} ×{v}" for k, v in r.error_reasons().items())
            console.print(
                f"{r.name}: {r.error_count:,} calls failed ({reasons}); not scored, rerun to retry them",
                soft_wrap=True,
                markup=False,
            )
    for c in evaluation.comparisons:
        console.print(comparison_line(c), soft_wrap=True, markup=False)
        if c.improved:
            console.print(f"  improved: {_ids(c.improved)}", soft_wrap=True, markup=False)
        if c.regressed:
            console.print(f"  regressed: {_ids(c.regressed)}", soft_wrap=True, markup=False)
    for path in written:
        console.print(f"wrote {path}", markup=False, soft_wrap=True)


def write_json(path: Path, evaluation: Evaluation) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(evaluation.to_json(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


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
    for c in evaluation.comparisons:
        lines += ["", f"**{_md_cell(comparison_line(c))}**", ""]
        lines.append(f"- improved: {_md_cell(_ids(c.improved)) or 'none'}")
        lines.append(f"- regressed: {_md_cell(_ids(c.regressed)) or 'none'}")
    return "\n".join(lines) + "\n"


def write_markdown(path: Path, evaluation: Evaluation) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(markdown(evaluation), encoding="utf-8")
    return path


def write_chart(path: Path, evaluation: Evaluation) -> Path:
    from rft.plots import accuracy_bars

    results = evaluation.results
    return accuracy_bars(
        path,
        title=f"{evaluation.task}: accuracy with 95% Wilson interval ({evaluation.prompts:,} prompts)",
        labels=[r.name for r in results],
        values=[r.accuracy.value for r in results],
        intervals=[r.accuracy.ci95 for r in results],
    )
