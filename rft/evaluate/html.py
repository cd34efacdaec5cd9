"""The evaluation as one self-contained HTML page: what a person reads to judge a tuned model.

No external assets (no scripts, fonts or stylesheets from the network): the styles are inline and the
chart is embedded as a `data:` URI, so the page works offline and can be mailed or archived as is.
Every string from a model, a prompt or a model id is HTML-escaped: responses routinely contain `<`,
`&` and, from a misbehaving model, markup.
"""

from __future__ import annotations

import base64
from html import escape
from pathlib import Path

from rft_eval.report_text import comparison_line, headers, rows
from rft_eval.results import Comparison, Evaluation, ModelResult

PAIRS_SHOWN = 50  # per list: beyond that the JSON has every id
TEXT_SHOWN = 4000  # characters of a prompt or response; longer ones are cut with a marker

_STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px;color:#1a1a1a;
background:#fff;max-width:1200px}
h1{font-size:22px;margin:0 0 6px}h2{font-size:18px;margin:28px 0 8px}h3{font-size:15px;margin:18px 0 6px}
p.meta{color:#444;margin:0 0 14px}
table.summary{border-collapse:collapse;font-size:13px}
table.summary th,table.summary td{border:1px solid #ccc;padding:4px 8px;text-align:right}
table.summary th{background:#f0f3f7}table.summary td:first-child{text-align:left;word-break:break-all}
img.chart{display:block;margin:14px 0;border:1px solid #ddd;max-width:100%}
.pair{display:grid;grid-template-columns:1fr 1fr;gap:10px;margin:6px 0 18px}
.prompt{background:#f7f7f7;border-left:4px solid #888;padding:6px 10px;font-size:13px;white-space:pre-wrap}
.resp{border:1px solid #ccc;padding:6px 10px;font-size:12.5px;white-space:pre-wrap;overflow-wrap:anywhere}
.resp .who{font-weight:600;display:block;margin-bottom:4px}
.ok{border-color:#2e7d32;background:#f1f8f1}.bad{border-color:#c62828;background:#fdf2f2}
.note{color:#6d4c00;background:#fff8e1;padding:6px 10px;border-radius:4px}
"""


def _cut(text: str) -> str:
    return (
        text
        if len(text) <= TEXT_SHOWN
        else text[:TEXT_SHOWN] + f"\n… ({len(text) - TEXT_SHOWN:,} more characters)"
    )


def _table(evaluation: Evaluation) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers(evaluation))
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(cell)}</td>" for cell in row) + "</tr>" for row in rows(evaluation)
    )
    return f'<table class="summary"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _response_box(result: ModelResult, prompt_id: str) -> str:
    scored = result.first_response(prompt_id)
    if scored is None:
        return f'<div class="resp"><span class="who">{escape(result.name)}</span>(no response)</div>'
    verdict = "ok" if result.per_prompt.get(prompt_id) else "bad"
    return (
        f'<div class="resp {verdict}"><span class="who">{escape(result.name)} · reward '
        f"{scored.score:.2f}</span>{escape(_cut(scored.response.text or ''))}</div>"
    )


def _pairs(
    title: str,
    ids: list[str],
    comparison: Comparison,
    by_model: dict[str, ModelResult],
    evaluation: Evaluation,
) -> str:
    baseline, candidate = by_model[comparison.baseline], by_model[comparison.candidate]
    parts = [f"<h3>{escape(title)} ({len(ids):,})</h3>"]
    if not ids:
        parts.append("<p>none</p>")
    for prompt_id in ids[:PAIRS_SHOWN]:
        prompt = evaluation.prompt_text.get(prompt_id, "")
        parts.append(f'<div class="prompt"><b>{escape(prompt_id)}</b>\n{escape(_cut(prompt))}</div>')
        parts.append(
            f'<div class="pair">{_response_box(baseline, prompt_id)}{_response_box(candidate, prompt_id)}</div>'
        )
    if len(ids) > PAIRS_SHOWN:
        parts.append(f"<p>… and {len(ids) - PAIRS_SHOWN:,} more (every id is in the JSON report)</p>")
    return "".join(parts)


def page(evaluation: Evaluation, chart_png: bytes | None) -> str:
    by_model = {r.model: r for r in evaluation.results}
    sections = [
        f"<h1>Evaluation on {escape(evaluation.task)}</h1>",
        f'<p class="meta">{escape(evaluation.data)}: {evaluation.prompts:,} prompts × '
        f"{evaluation.samples_per_prompt} sample(s), maxTokens {evaluation.max_tokens}, temperature "
        f"{evaluation.temperature:g}; scored by {escape(evaluation.handler)}</p>",
        _table(evaluation),
    ]
    sections += [f'<p class="note">{escape(note)}</p>' for note in evaluation.notes]
    if chart_png:
        data = base64.b64encode(chart_png).decode("ascii")
        sections.append(f'<img class="chart" alt="accuracy chart" src="data:image/png;base64,{data}">')
    for c in evaluation.comparisons:
        sections.append(f"<h2>{escape(c.candidate_name)} vs {escape(c.baseline_name)}</h2>")
        sections.append(f"<p>{escape(comparison_line(c))}</p>")
        sections.append(_pairs("Improved: wrong before, right now", c.improved, c, by_model, evaluation))
        sections.append(_pairs("Regressed: right before, wrong now", c.regressed, c, by_model, evaluation))
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>Evaluation on {escape(evaluation.task)}</title><style>{_STYLE}</style></head>"
        f"<body>{''.join(sections)}</body></html>\n"
    )


def write_html(path: Path, evaluation: Evaluation, chart: Path | None) -> Path:
    png = chart.read_bytes() if chart is not None and chart.is_file() else None
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page(evaluation, png), encoding="utf-8")
    return path
