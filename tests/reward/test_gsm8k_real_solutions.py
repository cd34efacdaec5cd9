"""The GSM8K reward against 1,600 real model solutions labeled correct/incorrect by GSM8K's authors.

The repository bundles them, already rewritten to the prompt's `#### N` format, in
rft/samples/gsm8k_solutions.jsonl (MIT, built by rft/samples/make_samples.py), so this always runs.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from gsm8k_reward.handler import lambda_handler
from gsm8k_reward.scoring import score

LABELED = Path(__file__).resolve().parents[2] / "rft" / "samples" / "gsm8k_solutions.jsonl"
# Measured: 1600/1600 agree (the 5 solutions cut off before their `A:` line are labeled wrong and
# score 0 for having no anchor). The margin leaves room for label quirks, not for reward bugs.
MIN_AGREEMENT = 0.99


@pytest.fixture(scope="module")
def labeled() -> list[dict]:
    rows = [json.loads(line) for line in LABELED.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 1600
    return rows


def test_reward_agrees_with_human_correctness_labels(labeled: list[dict]) -> None:
    agree = sum((score(row["response"], row["gold"]).value == 1.0) == row["is_correct"] for row in labeled)
    rate = agree / len(labeled)
    print(f"GSM8K reward agreement with is_correct labels: {agree}/{len(labeled)} = {rate:.4f}")
    assert rate >= MIN_AGREEMENT


def test_every_rewritten_solution_is_well_formed(labeled: list[dict]) -> None:
    anchored = [row for row in labeled if "#### " in row["response"]]
    assert len(anchored) >= len(labeled) - 5  # the few truncated solutions have no final line
    assert all(score(row["response"], row["gold"]).format_ok for row in anchored)


def test_real_solutions_through_the_handler(labeled: list[dict]) -> None:
    batch = labeled[:64]
    event = [
        {
            "id": f"{row['test_index']}-{row['model']}",
            "messages": [
                {"role": "user", "content": row["question"]},
                {"role": "assistant", "content": row["response"]},
            ],
            "metadata": {"reference_answer": {"final_answer": row["gold"]}},
        }
        for row in batch
    ]
    results = lambda_handler(event, None)
    assert [r["id"] for r in results] == [e["id"] for e in event]
    assert [r["aggregate_reward_score"] == 1.0 for r in results] == [row["is_correct"] for row in batch]
