"""The accuracy chart as a self-contained SVG: one bar per model with its 95 % Wilson interval.

Written by hand (no matplotlib), because it is drawn inside the evaluation Lambda as well as by
`rft evaluate`; an SVG is text, small, and opens in any browser or the S3 console. Every string from a
model id or a task name is XML-escaped.
"""

from __future__ import annotations

from collections.abc import Sequence
from xml.sax.saxutils import escape

from rft_eval.results import Evaluation

WIDTH, BAR_HEIGHT, GAP = 820, 34, 18
LEFT, RIGHT, TOP, BOTTOM = 310, 70, 58, 46
COLORS = ("#8c9bab", "#2e7d32", "#1565c0", "#ef6c00", "#6a1b9a")
LABEL_CHARS = 38  # about 7.5 px a character at 13 px: fits LEFT


def _short(text: str) -> str:
    """Cut in the middle, so both the shorthand (`tuned (`) and the id's end stay readable."""
    if len(text) <= LABEL_CHARS:
        return text
    head = (LABEL_CHARS - 1) // 2
    return text[:head] + "…" + text[-(LABEL_CHARS - 1 - head) :]


def accuracy_svg(
    title: str, labels: Sequence[str], values: Sequence[float], intervals: Sequence[tuple[float, float]]
) -> str:
    """Horizontal bars on a 0–100 % axis, whiskers for the intervals, the value at each bar's end."""
    if not len(labels) == len(values) == len(intervals):
        raise ValueError("labels, values and intervals must have one entry per model")
    plot_w = WIDTH - LEFT - RIGHT
    height = TOP + BOTTOM + len(labels) * (BAR_HEIGHT + GAP)

    def x(share: float) -> float:
        return LEFT + max(0.0, min(1.0, share)) * plot_w

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'viewBox="0 0 {WIDTH} {height}" font-family="system-ui, sans-serif" font-size="13">',
        f"<title>{escape(title)}</title>",
        f'<rect width="{WIDTH}" height="{height}" fill="#ffffff"/>',
        f'<text x="{WIDTH / 2:.0f}" y="26" text-anchor="middle" font-size="14" font-weight="600">'
        f"{escape(title)}</text>",
    ]
    axis_y = height - BOTTOM + 8
    for tick in range(0, 101, 20):
        tx = x(tick / 100)
        parts.append(f'<line x1="{tx:.1f}" y1="{TOP - 6}" x2="{tx:.1f}" y2="{axis_y}" stroke="#e3e3e3"/>')
        parts.append(f'<text x="{tx:.1f}" y="{axis_y + 16}" text-anchor="middle" fill="#555">{tick} %</text>')
    for row, (label, value, (low, high)) in enumerate(zip(labels, values, intervals, strict=True)):
        y = TOP + row * (BAR_HEIGHT + GAP)
        mid = y + BAR_HEIGHT / 2
        color = COLORS[row % len(COLORS)]
        parts += [
            f'<text x="{LEFT - 10}" y="{mid + 4:.1f}" text-anchor="end">{escape(_short(label))}</text>',
            f'<rect x="{LEFT}" y="{y}" width="{x(value) - LEFT:.1f}" height="{BAR_HEIGHT}" fill="{color}">'
            f"<title>{escape(label)}: {value:.1%} (95 % CI {low:.1%}–{high:.1%})</title></rect>",
            f'<line x1="{x(low):.1f}" y1="{mid:.1f}" x2="{x(high):.1f}" y2="{mid:.1f}" stroke="#222" stroke-width="1.6"/>',
            f'<line x1="{x(low):.1f}" y1="{mid - 7:.1f}" x2="{x(low):.1f}" y2="{mid + 7:.1f}" stroke="#222" stroke-width="1.6"/>',
            f'<line x1="{x(high):.1f}" y1="{mid - 7:.1f}" x2="{x(high):.1f}" y2="{mid + 7:.1f}" stroke="#222" stroke-width="1.6"/>',
            f'<text x="{x(high) + 6:.1f}" y="{mid + 4:.1f}" fill="#222">{value:.1%}</text>',
        ]
    parts.append(
        f'<text x="{LEFT + plot_w / 2:.0f}" y="{height - 6}" text-anchor="middle" fill="#555">'
        "accuracy (bars) with 95 % Wilson interval (whiskers)</text>"
    )
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def chart_title(evaluation: Evaluation) -> str:
    return f"{evaluation.task}: accuracy with 95% Wilson interval ({evaluation.prompts:,} prompts)"


def evaluation_svg(evaluation: Evaluation) -> str:
    """The chart of an evaluation: the same figures as the table and the PNG."""
    results = evaluation.results
    return accuracy_svg(
        chart_title(evaluation),
        [r.name for r in results],
        [r.accuracy.value for r in results],
        [r.accuracy.ci95 for r in results],
    )
