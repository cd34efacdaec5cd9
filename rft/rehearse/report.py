"""Presenting a rehearsal: a Rich report in the terminal, a JSON report and a PNG histogram on disk."""

from __future__ import annotations

import json
import math
from pathlib import Path

from rich.console import Console
from rich.table import Table

from rft.plots import score_histogram
from rft.rehearse.analysis import MAX_IDENTICAL_SHARE, PAYS_AT, Summary
from rft.rehearse.runner import Scored

METRICS_SHOWN = 5
HISTOGRAM_COLORS = {"labeled correct": "#2e7d32", "labeled wrong": "#c62828", "unlabeled": "#546e7a"}


def _pct(part: float, whole: float) -> str:
    return f"{part / whole:.1%}" if whole else "n/a"


def _ms(value: float) -> str:
    if math.isnan(value):
        return "n/a"
    return f"{value:.3f} ms" if value < 1 else f"{value:,.1f} ms"


def _distribution(summary: Summary) -> str:
    if summary.distribution:
        return "  ".join(
            f"{value:g}: {count:,} ({_pct(count, summary.samples)})" for value, count in summary.distribution
        )
    return (
        f"{summary.distinct_scores:,} distinct values, min {summary.min_score:.3f}, max {summary.max_score:.3f}"
        f" (most common {summary.modal_score:g}: {summary.modal_share:.1%})"
    )


def _main_table(summary: Summary) -> Table:
    table = Table(title=f"Rehearsal of the {summary.task} reward", title_justify="left", show_header=False)
    table.add_column("figure", style="bold")
    table.add_column("value")
    table.add_row("samples", f"{summary.samples:,} in {summary.prompt_groups:,} prompt groups")
    table.add_row("mean score", f"{summary.mean_score:.3f}")
    table.add_row("score distribution", _distribution(summary))
    table.add_row(
        "format failures", f"{summary.format_failures:,} ({_pct(summary.format_failures, summary.samples)})"
    )
    if summary.metric_rates:
        shown = list(summary.metric_rates.items())[:METRICS_SHOWN]
        table.add_row("metrics (mean)", ", ".join(f"{name} {rate:.3g}" for name, rate in shown))
    labels = summary.labels
    if labels is not None:
        table.add_row("agreement with labels", f"{labels.agree:,}/{labels.labeled:,} ({labels.rate:.1%})")
        table.add_row("  wrong answers rewarded", f"{labels.rewarded_wrong:,}")
        table.add_row("  right answers not rewarded", f"{labels.missed_correct:,}")
    else:
        table.add_row("agreement with labels", "[dim]no labels in these rollouts[/]")
    judge = summary.judge
    if judge is not None:
        failed = f"{judge.failed:,}/{judge.asked:,} samples sent to the judge"
        table.add_row("judge failures", f"[yellow]{failed}[/]" if judge.failed else failed)
    groups = summary.groups
    if groups.groups:
        table.add_row(
            "zero-signal prompt groups", f"{groups.zero_signal:,}/{groups.groups:,} ({groups.share:.1%})"
        )
    else:
        table.add_row("zero-signal prompt groups", "[dim]n/a (one sample per prompt)[/]")
    timing = summary.timing
    table.add_row(
        f"time ({timing.kind})",
        f"mean {_ms(timing.mean_ms)}, p95 {_ms(timing.p95_ms)}, max {_ms(timing.max_ms)}",
    )
    if timing.kind == "per sample":
        changed = len(summary.batch_dependent)
        table.add_row(
            "same score alone as in a batch",
            "yes" if not changed else f"[yellow]no: {changed:,} samples changed score[/]",
        )
    table.caption = (
        f"agreement: a score ≥ {PAYS_AT:g} counts as rewarded. zero-signal: every sample of the prompt "
        "scored the same, so GRPO learns nothing from it."
    )
    table.caption_justify = "left"
    return table


def _variant_table(summary: Summary) -> Table | None:
    if len(summary.variants) < 2:
        return None
    table = Table(title="By variant", title_justify="left")
    table.add_column("variant")
    table.add_column("samples", justify="right")
    table.add_column("mean score", justify="right")
    table.add_column("agreement", justify="right")
    for row in summary.variants:
        agreement = "" if row.agreement is None else f"{row.agreement:.1%}"
        table.add_row(row.variant, f"{row.samples:,}", f"{row.mean_score:.3f}", agreement)
    return table


def _slowest_table(summary: Summary) -> Table:
    table = Table(title=f"Slowest samples ({summary.timing.kind})", title_justify="left")
    table.add_column("sample id")
    table.add_column("time", justify="right")
    table.add_column("response chars", justify="right")
    table.add_column("score", justify="right")
    for row in summary.timing.slowest:
        table.add_row(str(row["id"]), _ms(row["ms"]), f"{row['response_chars']:,}", f"{row['score']:g}")
    return table


def render(console: Console, summary: Summary, written: list[Path]) -> None:
    console.print(
        f"[bold]handler[/]  {summary.handler} (in-process, {summary.batches:,} batches of ≤{summary.batch_size})"
    )
    console.print(f"[bold]rollouts[/] {summary.source}")
    for note in summary.notes:
        console.print(f"[bold yellow]note[/]     {note}")
    console.print(_main_table(summary))
    variants = _variant_table(summary)
    if variants is not None:
        console.print(variants)
    console.print(_slowest_table(summary))
    for warning in summary.warnings:
        console.print(f"[bold yellow]warning[/]  {warning}")
    for path in written:
        console.print(f"wrote {path}")
    if summary.degenerate:
        console.print("[bold red]DEGENERATE REWARD[/]: this reward would waste a training job:")
        for reason in summary.degenerate:
            console.print(f"  - {reason}")
    else:
        groups = " and not nearly every prompt group is flat" if summary.groups.groups else ""
        console.print(
            f"[bold green]OK[/]: the reward separates responses (no single score covers more than "
            f"{MAX_IDENTICAL_SHARE:.0%} of samples{groups})."
        )


def _strict(value: object) -> object:
    """NaN (a figure with nothing to measure) as null: the report must be strict JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _strict(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_strict(item) for item in value]
    return value


def write_json(path: Path, summary: Summary) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(_strict(summary.to_json()), indent=2, allow_nan=False) + "\n")
    return path


def write_histogram(path: Path, summary: Summary, scored: list[Scored]) -> Path:
    groups = {
        "labeled correct": [s.score for s in scored if s.rollout.label is True],
        "labeled wrong": [s.score for s in scored if s.rollout.label is False],
        "unlabeled": [s.score for s in scored if s.rollout.label is None],
    }
    subtitle = f"{summary.samples:,} samples, mean {summary.mean_score:.3f}"
    if summary.labels is not None:
        subtitle += f", agreement with labels {summary.labels.rate:.1%}"
    return score_histogram(
        path,
        title=f"{summary.task} reward: score distribution",
        scores_by_group=groups,
        colors=HISTOGRAM_COLORS,
        subtitle=subtitle,
    )
