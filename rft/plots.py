"""PNG charts: the rehearsal's score histogram and a finished job's reward curve.

Built on matplotlib's object API with the Agg canvas (no pyplot): no display is needed, nothing global
is touched, and it works the same in a terminal, CI and tests. matplotlib is imported only here and
only when a chart is drawn, because it is the slowest import of the CLI.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

HISTOGRAM_BINS = 20


def _figure(width: float = 7.0, height: float = 4.2):  # -> matplotlib.figure.Figure
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=110, layout="constrained")


def score_histogram(
    path: Path,
    *,
    title: str,
    scores_by_group: Mapping[str, Sequence[float]],
    colors: Mapping[str, str] | None = None,
    subtitle: str = "",
) -> Path:
    """Stacked histogram of scores in [0, 1], one colour per group (e.g. labeled correct / wrong).

    Empty groups are left out of the chart and its legend.
    """
    figure = _figure()
    axes = figure.add_subplot()
    groups = [(name, list(values)) for name, values in scores_by_group.items() if values]
    edges = [i / HISTOGRAM_BINS for i in range(HISTOGRAM_BINS + 1)]
    if groups:
        axes.hist(
            [values for _, values in groups],
            bins=edges,
            stacked=True,
            label=[f"{name} ({len(values):,})" for name, values in groups],
            color=[(colors or {}).get(name) for name, _ in groups] if colors else None,
            edgecolor="white",
        )
        axes.legend(loc="upper center")
    axes.set_xlim(0, 1)
    axes.set_xlabel("aggregate_reward_score")
    axes.set_ylabel("samples")
    axes.set_title(title + (f"\n{subtitle}" if subtitle else ""), fontsize=10)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    return path


def reward_curve(
    path: Path,
    *,
    title: str,
    training: Mapping[str, tuple[Sequence[float], Sequence[float]]],
    validation: Mapping[str, tuple[Sequence[float], Sequence[float]]],
) -> Path:
    """Metric columns against training step: training as lines, validation as marked lines."""
    figure = _figure(8.0, 4.5)
    axes = figure.add_subplot()
    for name, (steps, values) in training.items():
        axes.plot(steps, values, label=f"training {name}", linewidth=1.4)
    for name, (steps, values) in validation.items():
        axes.plot(steps, values, label=f"validation {name}", marker="o", linestyle="--")
    axes.set_xlabel("step")
    axes.set_title(title, fontsize=10)
    axes.grid(alpha=0.3)
    if training or validation:
        axes.legend()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    return path


def accuracy_bars(
    path: Path,
    *,
    title: str,
    labels: Sequence[str],
    values: Sequence[float],
    intervals: Sequence[tuple[float, float]],
) -> Path:
    """One bar per model with its interval as an error bar; long model ARNs are shown by their tail."""
    figure = _figure(8.0, 2.4 + 0.5 * len(labels))
    axes = figure.add_subplot()
    shown = [label if len(label) <= 48 else "…" + label[-47:] for label in labels]
    positions = list(range(len(values)))
    low = [max(0.0, v - lo) for v, (lo, _) in zip(values, intervals, strict=True)]
    high = [max(0.0, hi - v) for v, (_, hi) in zip(values, intervals, strict=True)]
    bars = axes.barh(positions, values, xerr=[low, high], color="#1565c0", capsize=4, height=0.55)
    for bar, value, (_, top) in zip(bars, values, intervals, strict=True):
        middle = bar.get_y() + bar.get_height() / 2
        if top <= 0.86:  # right of the interval
            axes.text(top + 0.02, middle, f"{value:.1%}", va="center")
        else:  # inside the bar, near its start
            axes.text(0.02, middle, f"{value:.1%}", va="center", color="white", fontweight="bold")
    axes.set_yticks(positions, shown)
    axes.invert_yaxis()
    axes.set_xlim(0, 1)
    axes.set_xlabel("accuracy (share of responses scoring >= 0.5)")
    figure.suptitle(title, fontsize=10)
    axes.grid(axis="x", alpha=0.3)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    return path


def live_reward_curve(
    path: Path,
    *,
    title: str,
    minutes: Sequence[float],
    rewards: Sequence[float],
    smoothed: Sequence[float],
    bedrock: Mapping[str, tuple[Sequence[float], Sequence[float]]] | None = None,
) -> Path:
    """The reward function's mean reward against minutes since the job started; with Bedrock's own
    CSV curves (by step) in a second panel, when the job has completed and wrote them."""
    figure = _figure(12.0 if bedrock else 8.0, 4.5)
    axes = figure.add_subplot(1, 2 if bedrock else 1, 1)
    axes.plot(minutes, rewards, label="mean reward per period", linewidth=0.8, alpha=0.5, marker=".")
    axes.plot(minutes, smoothed, label="smoothed", linewidth=1.8)
    axes.set_xlabel("minutes since the job started")
    axes.set_ylabel("MeanReward")
    axes.set_ylim(0, 1)
    axes.set_title(title, fontsize=10)
    axes.grid(alpha=0.3)
    axes.legend()
    if bedrock:
        right = figure.add_subplot(1, 2, 2)
        for name, (steps, values) in bedrock.items():
            right.plot(steps, values, label=name, linewidth=1.4)
        right.set_xlabel("step")
        right.set_title("Bedrock's training metrics (CSV, after completion)", fontsize=10)
        right.grid(alpha=0.3)
        right.legend()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    return path
