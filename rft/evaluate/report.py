"""Presenting an evaluation: a Rich table in the terminal, and JSON, Markdown, SVG and PNG on disk.

The rows, the Markdown, the JSON text and the SVG chart are `rft_eval`'s (the post-training workflow
writes the same files to S3); this module adds the terminal table and the PNG. The JSON is an
interface (other tools read it), so its names are fixed: see `Evaluation.to_json`.
"""

from __future__ import annotations

from pathlib import Path

from rft_eval.chart import chart_title, evaluation_svg
from rft_eval.report_text import (
    comparison_line,
    failed_shard_line,
    headers,
    ids_text,
    json_text,
    markdown,
    rows,
)
from rft_eval.results import Evaluation
from rich.console import Console
from rich.table import Table

__all__ = ["comparison_line", "headers", "markdown", "render", "rows", "write_chart", "write_json"]


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
                f"{r.name}: {r.error_count:,} calls failed ({reasons}); not scored and not counted as wrong answers",
                soft_wrap=True,
                markup=False,
            )
    for shard in evaluation.failed_shards:
        console.print(failed_shard_line(shard), soft_wrap=True, markup=False)
    for c in evaluation.comparisons:
        console.print(comparison_line(c), soft_wrap=True, markup=False)
        if c.improved:
            console.print(f"  improved: {ids_text(c.improved)}", soft_wrap=True, markup=False)
        if c.regressed:
            console.print(f"  regressed: {ids_text(c.regressed)}", soft_wrap=True, markup=False)
    for path in written:
        console.print(f"wrote {path}", markup=False, soft_wrap=True)


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def write_json(path: Path, evaluation: Evaluation) -> Path:
    return _write(path, json_text(evaluation))


def write_markdown(path: Path, evaluation: Evaluation) -> Path:
    return _write(path, markdown(evaluation))


def write_svg(path: Path, evaluation: Evaluation) -> Path:
    """The dependency-free chart, the same file the workflow writes as chart.svg."""
    return _write(path, evaluation_svg(evaluation))


def write_chart(path: Path, evaluation: Evaluation) -> Path:
    from rft.plots import accuracy_bars

    results = evaluation.results
    return accuracy_bars(
        path,
        title=chart_title(evaluation),
        labels=[r.name for r in results],
        values=[r.accuracy.value for r in results],
        intervals=[r.accuracy.ci95 for r in results],
    )
