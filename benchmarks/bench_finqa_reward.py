"""Benchmark the FinQA reward: per-sample cost on realistic responses, and linear time on long ones.

* per-sample time of `score` on realistic responses (a worked calculation over the bundled
  sample's tables, ending `ANSWER: <answer text>`), goal <= 50 us, so that a batch of 512
  (Bedrock's largest batchSize) scores in under 26 ms. Shown beside it, timed in the same run:
  a naive `ANSWER:\\s*(\\S+)` + float() reader, and how many of the same responses that
  reader gets right (it misses percentages against decimal golds, yes/no and `(94)`);
* the time to score one 200 KB response, worst of 7 shapes (goal <= 5 ms): the reward must stay
  linear on a policy that never stops.

Also reports how many realistic responses score 1.0 (all should), so the timing is of the full
path. Every figure is a median of several runs (benchmarks/harness.py).
Run: .venv/bin/python benchmarks/bench_finqa_reward.py
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "lambda")]

from finqa_reward.scoring import score  # noqa: E402

from benchmarks.harness import (  # noqa: E402
    RUNS,
    Figure,
    long_response_figure,
    number,
    paired,
    per_call,
    report,
)

SAMPLE_DIR = ROOT / "data_prep" / "samples" / "finqa"
NAIVE = re.compile(r"ANSWER:\s*(\S+)")
PER_SAMPLE_GOAL_US = 50.0


def realistic_cases() -> list[tuple[str, dict[str, Any]]]:
    cases = []
    for name in ("train.json", "dev.json", "test.json"):
        for record in json.loads((SAMPLE_DIR / name).read_text(encoding="utf-8")):
            qa = record["qa"]
            rows = "\n".join(f"- {row[0]}: {', '.join(row[1:])}" for row in record["table"][1:4])
            response = (
                f"The question asks: {qa['question']}\nFrom the table (in millions):\n{rows}\n"
                f"Using the program {qa['program']}, the result is {qa['exe_ans']}.\n"
                f"**ANSWER: {qa['answer']}**"
            )
            cases.append((response, {"answer": qa["exe_ans"], "question": qa["question"]}))
    return cases


def naive(response: str, reference: dict[str, Any]) -> float:
    match = NAIVE.search(response)
    if match is None or isinstance(reference["answer"], str):
        return 0.0
    try:
        value = float(match.group(1).strip("*%$").replace(",", ""))
    except ValueError:
        return 0.0
    return float(abs(value - reference["answer"]) <= 0.01 * abs(reference["answer"]))


def long_responses() -> dict[str, str]:
    size = 200 * 1024
    prose = "Revenue rose from $1,143 million to $1,250 million, up 9.4 % ( 107 ). "
    return {
        "prose + final ANSWER": (prose * (size // len(prose)))[:size] + "\nANSWER: 9.37%",
        "nested \\boxed{": "\\boxed{" * (size // 7),
        "repeated ANSWER:": ("ANSWER: 9.37% " * (size // 14))[:size],
        "markdown stars": "*" * size + " ANSWER: 9.37%",
        "open brackets": "[" * size + "ANSWER: 9.37%",
        "accounting parens": "( 94 ) " * (size // 7) + "\nANSWER: (94)",
        "trailing whitespace": "ANSWER: 9.37%" + " \n" * (size // 2),
    }


def main() -> int:
    cases = realistic_cases()
    mean_len = sum(len(r) for r, _ in cases) / len(cases)
    print(
        f"FinQA reward benchmark on {len(cases)} responses over the bundled sample (mean {mean_len:.0f} chars)"
    )
    correct = sum(score(response, reference).value for response, reference in cases)
    naive_correct = sum(naive(response, reference) for response, reference in cases)
    report(
        Figure(
            "FinQA score() right on responses quoting the gold",
            correct,
            len(cases),
            f"/{len(cases)}",
            f"the naive regex gets {naive_correct:.0f}/{len(cases)}",
            at_least=True,
        )
    )
    timing = paired(per_call(score, cases), per_call(naive, cases))
    report(
        Figure(
            "FinQA score() per sample",
            timing.measured * 1e6,
            PER_SAMPLE_GOAL_US,
            " us",
            f"{number(timing.ratio)}x the naive regex ({number(timing.baseline * 1e6)} us), "
            f"median of {RUNS} paired passes",
        )
    )
    reference = {"answer": 0.0937, "question": "what was the percentage change in revenue?"}
    report(long_response_figure("FinQA", score, long_responses(), reference, floor=NAIVE))
    return 0


if __name__ == "__main__":
    sys.exit(main())
