"""Benchmark the FinQA reward: per-sample cost on realistic responses, and linear time on long ones.

* per-sample time of `score` on realistic responses (a worked calculation over the bundled
  sample's tables, ending `ANSWER: <answer text>`), goal <= 50 us, so that a batch of 512
  (Bedrock's largest batchSize) scores in under 26 ms. Shown beside it, timed in the same run:
  a naive `ANSWER:\\s*(\\S+)` + float() reader, and how many of the same responses that
  reader gets right (it misses percentages against decimal golds, yes/no and `(94)`);
* the time to score one 200 KB response (goal <= 5 ms): the reward must stay linear on a policy
  that never stops.

Also checks that every realistic response scores 1.0, so the timing is of the full path.
Run: .venv/bin/python benchmarks/bench_finqa_reward.py
"""

from __future__ import annotations

import json
import re
import sys
from typing import Any

from bench_gsm8k_reward import LAMBDA_DIR, LONG_GOAL_MS, per_call_seconds, verdict

sys.path.insert(0, str(LAMBDA_DIR))

from finqa_reward.scoring import score

SAMPLE_DIR = LAMBDA_DIR.parent / "data_prep" / "samples" / "finqa"
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
    correct = sum(score(response, reference).value for response, reference in cases)
    naive_correct = sum(naive(response, reference) for response, reference in cases)
    mean_len = sum(len(r) for r, _ in cases) / len(cases)
    print(
        f"FinQA reward benchmark on {len(cases)} responses over the bundled sample (mean {mean_len:.0f} chars)"
    )
    print(
        f"  right, score()      {correct:8.0f} / {len(cases)}   (every response copies the gold answer text)"
    )
    print(f"  right, naive regex  {naive_correct:8.0f} / {len(cases)}")
    ok = correct == len(cases)
    score_us = per_call_seconds(score, cases) * 1e6
    base_us = per_call_seconds(naive, cases) * 1e6
    print(f"  naive regex         {base_us:8.2f} us/sample")
    print(
        f"  score()             {score_us:8.2f} us/sample   goal <= {PER_SAMPLE_GOAL_US:g} us  "
        f"{verdict(score_us <= PER_SAMPLE_GOAL_US)}   ({score_us / base_us:.1f} x the naive regex)"
    )
    ok = ok and score_us <= PER_SAMPLE_GOAL_US

    reference = {"answer": 0.0937, "question": "what was the percentage change in revenue?"}
    worst = 0.0
    for name, text in long_responses().items():
        seconds = per_call_seconds(score, [(text, reference)], repeat=20)
        worst = max(worst, seconds)
        print(f"  200 KB {name:<26} {seconds * 1e3:7.3f} ms")
    print(
        f"  200 KB worst case   {worst * 1e3:8.3f} ms    goal <= {LONG_GOAL_MS:g} ms   {verdict(worst * 1e3 <= LONG_GOAL_MS)}"
    )
    ok = ok and worst * 1e3 <= LONG_GOAL_MS
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
