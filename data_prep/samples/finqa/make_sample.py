"""Generate the bundled, ILLUSTRATIVE FinQA-schema sample: synthetic, not FinQA data.

No copy of FinQA can be fetched where this project is built, but `python -m data_prep finqa`
and `make demo` must run offline. This script writes small `train.json`, `dev.json` and
`test.json` files in the official FinQA schema (`id`, `filename`, `pre_text`, `post_text`,
`table`, `qa.{question, program, program_re, exe_ans, answer}`) about invented companies.
They exercise what the converter and the reward must handle (decimal ratios against
percentages, accounting negatives like `( 94 )`, `$` and commas in tables, `in millions` units,
yes/no questions), and `exe_ans` is computed by executing each program, as in FinQA.

It is deterministic (fixed seed, no clock, no environment), so the files can be rebuilt and
checked byte for byte:

    python data_prep/samples/finqa/make_sample.py           # rewrite the files
    python data_prep/samples/finqa/make_sample.py --check   # exit 1 if they are stale
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SEED = 20211107  # FinQA's EMNLP 2021 publication month, for want of a better number
HERE = Path(__file__).resolve().parent
#: Records per official split file: Bedrock needs >= 100 training and >= 100 validation records.
SPLIT_SIZES: dict[str, int] = {"train.json": 130, "dev.json": 110, "test.json": 30}


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


_HEADS = _words(
    "alder brook arden basalt cobalt corvel dunmore elstree fairhaven galloway harrow "
    "ironvale juniper kestrel larkspur marlow northwind oakridge pellham quarry redfern "
    "solano tamsin umber valemont westmark yarrow zephyr"
)
_TAILS = _words(
    "industries holdings systems group corp technologies brands logistics energy therapeutics "
    "materials financial"
)
_SEGMENTS = _words(
    "industrial consumer healthcare aerospace automotive software services retail packaging "
    "specialty chemicals"
)

_TABLES: dict[str, tuple[str, ...]] = {
    "income": (
        "net revenues",
        "cost of revenues",
        "gross profit",
        "selling , general and administrative",
        "research and development",
        "operating income",
        "other income ( expense )",
        "net income",
    ),
    "cash": (
        "net cash provided by operating activities",
        "capital expenditures",
        "acquisitions , net of cash acquired",
        "dividends paid",
        "repurchases of common stock",
    ),
    "balance": (
        "cash and cash equivalents",
        "accounts receivable , net",
        "inventories",
        "total current assets",
        "long-term debt",
        "total stockholders ' equity",
    ),
    "ratios": ("gross margin", "operating margin", "effective tax rate", "return on equity"),
}
# Items that are outflows or can turn negative, shown in accounting parentheses.
_OUTFLOWS = frozenset(
    {
        "capital expenditures",
        "acquisitions , net of cash acquired",
        "dividends paid",
        "repurchases of common stock",
    }
)

_PRE_TEXT = (
    "{company} and subsidiaries management 's discussion and analysis of financial condition and "
    "results of operations",
    "net revenues increased {pct} % in {y1} compared to {y0} , primarily due to higher volumes in our "
    "{segment} segment and favorable pricing .",
    "our reportable segments are {segment} and {segment2} ; corporate costs are not allocated .",
    "in {y1} , we completed the acquisition of a {segment2} business for $ {small} million in cash , net "
    "of cash acquired .",
    "foreign currency translation decreased reported revenues by approximately {small_pct} % in {y1} .",
    "the following discussion should be read together with the consolidated financial statements and "
    "the notes thereto .",
    "we had approximately {employees} employees at december 31 , {y1} .",
    "our backlog was $ {big} billion at the end of {y1} , compared with $ {big2} billion a year earlier .",
    "during {y1} we repurchased {shares} million shares of our common stock at an average price of $ "
    "{price} per share .",
    "amounts in the table below are in millions , except per share data and percentages .",
    "results for {y0} include a pre-tax restructuring charge of $ {small2} million related to facility "
    "consolidations .",
    "the effective tax rate was {rate} % in {y1} , reflecting the mix of earnings across jurisdictions .",
)
_POST_TEXT = (
    "( 1 ) includes the results of acquired businesses from their respective acquisition dates .",
    "capital expenditures were primarily for capacity expansion in the {segment} segment .",
    "we expect capital expenditures of approximately $ {small} million in {y2} .",
    "as of december 31 , {y1} , we had $ {big} billion of borrowing capacity under our revolving credit "
    "facility .",
    "the decrease in other income ( expense ) reflects lower interest income on cash balances .",
    "gross margin improved {small_pct} percentage points as a result of productivity initiatives .",
    "we believe that cash flows from operations will be sufficient to fund our operations for the next "
    "twelve months .",
    "see note {n} to the consolidated financial statements for further information .",
    "dividends declared per share were $ {dps} in {y1} and $ {dps2} in {y0} .",
    "no customer accounted for more than {rate} % of net revenues in any period presented .",
)


@dataclass(frozen=True)
class Page:
    """One invented report page: a table of line items by year, plus text around it."""

    ticker: str
    company: str
    page: int
    kind: str
    years: tuple[int, ...]  # newest first, as FinQA's tables print them
    items: dict[str, tuple[float, ...]]  # label -> value per year, in millions (ratios in %)


# ---- numbers as FinQA prints them -----------------------------------------------------------


def _plain(value: float) -> str:
    """A program argument: no commas, no `$`, at most two decimals."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _cell(value: float, kind: str, first_row: bool) -> str:
    """A table cell: `$ 1,234` on the first row, `( 94 )` for negatives, `38.2%` for ratios."""
    if kind == "ratios":
        return f"{value:.1f}%"
    digits = f"{abs(value):,.0f}" if value == int(value) else f"{abs(value):,.1f}"
    text = f"( {digits} )" if value < 0 else digits
    return f"$ {text}" if first_row else text


def _fit(value: float) -> str:
    """The fewest decimals (at least one) that keep the text within 0.5% of the value, so an
    answer copied from `answer` always matches `exe_ans` within the reward's 1%."""
    for decimals in range(1, 7):
        text = f"{value:.{decimals}f}"
        if abs(float(text) - value) <= 0.005 * abs(value):
            return text
    return repr(value)


def _answer_number(result: float | str) -> str:
    """FinQA-style answer text: `1045`, `-10.7`, `0.07`."""
    value = float(result)
    if abs(value - round(value)) < 1e-9:
        return str(round(value))
    return _fit(value)


def _percent(result: float | str) -> str:
    """A ratio as FinQA's answer text writes it: 0.09371 -> `9.4%`."""
    return _fit(float(result) * 100) + "%"


def _points(result: float | str) -> str:
    """A difference of two percentages from a table of them: 2.5 -> `2.5%`."""
    return _answer_number(result) + "%"


# ---- programs: FinQA's little language, executed to get exe_ans -----------------------------

_OPS: dict[str, Callable[[float, float], float | str]] = {
    "add": lambda a, b: a + b,
    "subtract": lambda a, b: a - b,
    "multiply": lambda a, b: a * b,
    "divide": lambda a, b: a / b,
    "greater": lambda a, b: "yes" if a > b else "no",
}


def _arg(token: str, results: Sequence[float | str]) -> float:
    if token.startswith("#"):
        value = results[int(token[1:])]
        if isinstance(value, str):
            raise ValueError("a yes/no step cannot feed another step")
        return value
    if token.startswith("const_"):
        return -1.0 if token == "const_m1" else float(token[len("const_") :])
    return float(token)


def run_program(steps: Sequence[tuple[str, str, str]]) -> float | str:
    """Execute `[(op, arg1, arg2), ...]`; `#k` is step k's result, `const_N` the constant N."""
    results: list[float | str] = []
    for op, first, second in steps:
        results.append(_OPS[op](_arg(first, results), _arg(second, results)))
    return results[-1]


def program_text(steps: Sequence[tuple[str, str, str]]) -> str:
    return ", ".join(f"{op}({a}, {b})" for op, a, b in steps)


def program_nested(steps: Sequence[tuple[str, str, str]]) -> str:
    """FinQA's `program_re`: the same program with step references inlined."""
    rendered: list[str] = []
    for op, a, b in steps:
        args = [rendered[int(t[1:])] if t.startswith("#") else t for t in (a, b)]
        rendered.append(f"{op}({args[0]}, {args[1]})")
    return rendered[-1]


# ---- questions ------------------------------------------------------------------------------

Question = tuple[str, list[tuple[str, str, str]], Callable[[float | str], str]]


def _pick_two_years(rng: random.Random, page: Page) -> tuple[int, int]:
    older, newer = sorted(rng.sample(page.years, 2))
    return older, newer


def _value(page: Page, label: str, year: int) -> float:
    return page.items[label][page.years.index(year)]


def _questions(rng: random.Random, page: Page) -> list[Question]:
    """Every question type that fits this page; the caller picks one or two."""
    labels = list(page.items)
    label = rng.choice([name for name in labels if not name.startswith("total")])
    older, newer = _pick_two_years(rng, page)
    a, b = _plain(_value(page, label, older)), _plain(_value(page, label, newer))
    found: list[Question] = []
    if page.kind == "ratios":
        found.append(
            (
                f"what was the change in the {label} from {older} to {newer} ?",
                [("subtract", b, a)],
                _points,
            )
        )
        found.append((f"did the {label} increase from {older} to {newer} ?", [("greater", b, a)], str))
        return found
    change_words = rng.choice(
        [
            "what was the percentage change in {label} from {older} to {newer} ?",
            "what was the growth rate of {label} from {older} to {newer} ?",
            "by what percent did {label} change from {older} to {newer} ?",
        ]
    )
    found.append(
        (
            change_words.format(label=label, older=older, newer=newer),
            [("subtract", b, a), ("divide", "#0", a)],
            _percent,
        )
    )
    found.append(
        (
            f"what was the change in {label} from {older} to {newer} ( in millions ) ?",
            [("subtract", b, a)],
            _answer_number,
        )
    )
    found.append(
        (
            f"what is the sum of {label} in {older} and {newer} ?",
            [("add", a, b)],
            _answer_number,
        )
    )
    if len(page.years) >= 3:
        values = [_plain(_value(page, label, y)) for y in page.years]
        found.append(
            (
                f"what was the average {label} from {page.years[-1]} to {page.years[0]} ( in millions ) ?",
                [("add", values[0], values[1]), ("add", "#0", values[2]), ("divide", "#1", "const_3")],
                _answer_number,
            )
        )
    found.append((f"did {label} increase from {older} to {newer} ?", [("greater", b, a)], str))
    other = rng.choice([name for name in labels if name != label])
    x, y = _plain(_value(page, label, newer)), _plain(_value(page, other, newer))
    found.append(
        (
            f"what is the ratio of {label} to {other} in {newer} ?",
            [("divide", x, y)],
            _answer_number,
        )
    )
    if page.kind == "income":
        revenue = _plain(_value(page, "net revenues", newer))
        part = rng.choice(["cost of revenues", "research and development", "gross profit"])
        share = _plain(_value(page, part, newer))
        found.append(
            (
                f"what percentage of net revenues in {newer} was {part} ?",
                [("divide", share, revenue)],
                _percent,
            )
        )
    if page.kind == "segments":
        total = next(name for name in labels if name.startswith("total"))
        portion = rng.choice([name for name in labels if name != total])
        found.append(
            (
                f"what portion of the {total} in {newer} is related to {portion} ?",
                [("divide", _plain(_value(page, portion, newer)), _plain(_value(page, total, newer)))],
                _percent,
            )
        )
    return found


# ---- pages and records ----------------------------------------------------------------------


def _series(
    rng: random.Random, years: int, low: float, high: float, negative: bool = False
) -> tuple[float, ...]:
    value = rng.uniform(low, high)
    out = []
    for _ in range(years):
        out.append(round(-value if negative else value, rng.choice([0, 0, 1])))
        value *= rng.uniform(0.8, 1.25)
    return tuple(out)


def _page(rng: random.Random, ticker: str, company: str, number: int) -> Page:
    kind = rng.choice(["income", "income", "segments", "cash", "balance", "ratios"])
    last = rng.randint(2006, 2019)
    years = tuple(range(last, last - rng.choice([2, 3, 3]), -1))
    items: dict[str, tuple[float, ...]] = {}
    if kind == "income":
        revenue = _series(rng, len(years), 800, 12000)
        cost = tuple(round(r * rng.uniform(0.45, 0.7)) for r in revenue)
        gross = tuple(round(r - c, 1) for r, c in zip(revenue, cost, strict=True))
        items = {"net revenues": revenue, "cost of revenues": cost, "gross profit": gross}
        for label in _TABLES["income"][3:]:
            signed = label == "other income ( expense )" and rng.random() < 0.6
            items[label] = _series(rng, len(years), 20, max(revenue) / 6, negative=signed)
    elif kind == "segments":
        names = rng.sample(_SEGMENTS, rng.randint(2, 4))
        for name in names:
            items[f"{name} segment revenues"] = _series(rng, len(years), 150, 4000)
        items["total net sales"] = tuple(
            round(sum(column), 1) for column in zip(*items.values(), strict=True)
        )
    else:
        for label in _TABLES[kind]:
            if kind == "ratios":
                items[label] = tuple(round(rng.uniform(5, 45), 1) for _ in years)
            else:
                items[label] = _series(rng, len(years), 40, 6000, negative=label in _OUTFLOWS)
    return Page(ticker, company, number, kind, years, items)


def _table(page: Page) -> list[list[str]]:
    corner = "( in millions )" if page.kind != "ratios" else ""
    header = [corner, *(str(year) for year in page.years)]
    rows = [header]
    for i, (label, values) in enumerate(page.items.items()):
        rows.append([label, *(_cell(v, page.kind, first_row=i == 0) for v in values)])
    return rows


def _text(rng: random.Random, page: Page, templates: Sequence[str], low: int, high: int) -> list[str]:
    segment, segment2 = rng.sample(_SEGMENTS, 2)
    fields = {
        "company": page.company,
        "y0": page.years[1],
        "y1": page.years[0],
        "y2": page.years[0] + 1,
        "pct": rng.randint(2, 19),
        "small_pct": rng.randint(1, 6),
        "segment": segment,
        "segment2": segment2,
        "n": rng.randint(2, 9),
        "small": rng.randint(12, 950),
        "small2": rng.randint(5, 400),
        "big": f"{rng.uniform(1, 30):.1f}",
        "big2": f"{rng.uniform(1, 30):.1f}",
        "employees": f"{rng.randint(800, 90000):,}",
        "shares": f"{rng.uniform(0.5, 40):.1f}",
        "price": f"{rng.uniform(10, 250):.2f}",
        "rate": f"{rng.uniform(10, 38):.1f}",
        "dps": f"{rng.uniform(0.2, 3):.2f}",
        "dps2": f"{rng.uniform(0.2, 3):.2f}",
    }
    chosen = rng.sample(range(len(templates)), rng.randint(low, high))
    return [templates[i].format(**fields) for i in sorted(chosen)]


def _record(page: Page, text: tuple[list[str], list[str]], index: int, question: Question) -> dict[str, Any]:
    """One FinQA record; questions about one page share its text, as in FinQA."""
    asked, steps, formatter = question
    result = run_program(steps)
    exe_ans: float | str = result if isinstance(result, str) else round(result, 5)
    return {
        "pre_text": text[0],
        "post_text": text[1],
        "filename": f"{page.ticker}/{page.years[0]}/page_{page.page}.pdf",
        "table": _table(page),
        "qa": {
            "question": asked,
            "program": program_text(steps),
            "program_re": program_nested(steps),
            "exe_ans": exe_ans,
            "answer": formatter(result),
        },
        "id": f"{page.ticker}/{page.years[0]}/page_{page.page}.pdf-{index}",
    }


def _companies(rng: random.Random) -> list[tuple[str, str]]:
    """Invented (ticker, name) pairs, each used once, so no page repeats across splits."""
    names = [f"{head} {tail}" for head in _HEADS for tail in _TAILS]
    rng.shuffle(names)
    tickers: set[str] = set()
    out = []
    for name in names:
        ticker = "".join(rng.choice("ABCDEFGHJKLMNPQRSTVWXYZ") for _ in range(3))
        if ticker not in tickers:
            tickers.add(ticker)
            out.append((ticker, name))
    return out


def build_splits(seed: int = SEED) -> dict[str, list[dict[str, Any]]]:
    """Records per split file; splits never share a company, so test is disjoint by construction."""
    rng = random.Random(seed)
    companies = iter(_companies(rng))
    splits: dict[str, list[dict[str, Any]]] = {}
    for name, size in SPLIT_SIZES.items():
        records: list[dict[str, Any]] = []
        while len(records) < size:
            ticker, company = next(companies)
            page = _page(rng, ticker, company, rng.randint(20, 120))
            text = (_text(rng, page, _PRE_TEXT, 3, 9), _text(rng, page, _POST_TEXT, 2, 6))
            options = _questions(rng, page)
            wanted = min(rng.choice([1, 1, 2]), size - len(records), len(options))
            for index, question in enumerate(rng.sample(options, wanted), start=1):
                records.append(_record(page, text, index, question))
        splits[name] = records
    return splits


def render(records: Sequence[dict[str, Any]]) -> str:
    """A JSON array, one record per line: valid FinQA-style JSON that still diffs line by line."""
    return "[\n" + ",\n".join(json.dumps(r, ensure_ascii=False, sort_keys=True) for r in records) + "\n]\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the files differ from a rebuild")
    parser.add_argument(
        "--out", type=Path, default=HERE, help="directory to write (default: beside this script)"
    )
    args = parser.parse_args(argv)
    stale = []
    for name, records in build_splits().items():
        path = args.out / name
        text = render(records)
        if args.check:
            if not path.is_file() or path.read_text(encoding="utf-8") != text:
                stale.append(name)
        else:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path} ({len(records)} records)")
    if stale:
        print(f"stale: {', '.join(stale)}; run {Path(__file__).name} to rebuild", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
