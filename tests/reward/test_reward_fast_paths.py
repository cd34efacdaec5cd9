"""The handler's fast paths read and check exactly what the general paths do.

Each shortcut (GSM8K's lone `#### N`, Scores that pass `check_score` as they are, constant
scores, reused scorer workers) is compared against the general code on the same inputs, so a
speed-up can never change a reward.
"""

from __future__ import annotations

import json
import math
import threading
from pathlib import Path
from typing import Any

import pytest
from gsm8k_reward.scoring import final_answer, general_final_answer
from hypothesis import given, settings
from hypothesis import strategies as st
from rft_reward import Sample, Score, make_handler
from rft_reward.answers import PROBLEM_FLAGS, answer_tail
from rft_reward.judge import Prepared, make_judge_handler
from rft_reward.reward_output import check_score, clean_metrics, constant_score
from rft_reward.values import finite_number, is_empty

from .helpers import make_sample, metric, parse_logs

SOLUTIONS = Path(__file__).resolve().parents[2] / "rft" / "samples" / "gsm8k_solutions.jsonl"


def test_lone_hash_fast_path_matches_the_general_reading_on_real_solutions() -> None:
    rows = [json.loads(line) for line in SOLUTIONS.read_text(encoding="utf-8").splitlines()]
    for row in rows:
        text = row["response"]
        assert final_answer(text) == general_final_answer(answer_tail(text)), text[-80:]


_TAIL_PIECES = st.sampled_from(
    [
        "#### ",
        "####",
        "#####",
        "#",
        " ",
        "\t",
        "\n",
        "48",
        "-3",
        "1,000",
        "7.5",
        ".",
        "x",
        "The answer is ",
        "\\boxed{2}",
        "9" * 70,
        "0.",
        "-",
        "Answer: ",
    ]
)


@settings(max_examples=400, deadline=None)
@given(st.lists(_TAIL_PIECES, max_size=8).map("".join))
def test_lone_hash_fast_path_matches_the_general_reading_on_any_tail(text: str) -> None:
    assert final_answer(text) == general_final_answer(answer_tail(text))


@settings(max_examples=300, deadline=None)
@given(
    value=st.floats(allow_nan=True) | st.integers() | st.booleans(),
    format_ok=st.booleans() | st.integers(0, 2),
    metrics=st.dictionaries(
        st.text(max_size=70), st.floats(allow_nan=True) | st.integers() | st.booleans(), max_size=3
    ),
    note=st.none() | st.text(max_size=250),
)
def test_a_score_passed_as_it_is_equals_its_checked_copy(
    value: Any, format_ok: Any, metrics: Any, note: Any
) -> None:
    raw = Score(value, format_ok, metrics, note)
    checked = check_score(raw)
    rebuilt_metrics, _ = clean_metrics(metrics)
    if checked is raw:  # the fast path: it must already be what the general path would build
        assert isinstance(value, float) and 0.0 <= value <= 1.0
        assert checked.format_ok is format_ok and dict(checked.metrics) == rebuilt_metrics
        assert note is None or len(note) <= 200
    assert math.isfinite(checked.value) and 0.0 <= checked.value <= 1.0
    assert all(math.isfinite(v) for v in checked.metrics.values())


def test_constant_scores_are_checked_once_and_cannot_change() -> None:
    correct = constant_score(1.0, True, {"no_answer": 0.0})
    assert check_score(correct) is correct
    with pytest.raises(TypeError):
        correct.metrics["no_answer"] = 1.0  # type: ignore[index]
    with pytest.raises(ValueError, match="not a valid constant score"):
        constant_score(1.5)
    with pytest.raises(ValueError, match="not a valid constant score"):
        constant_score(1.0, True, {"reward": 1.0})
    assert dict(PROBLEM_FLAGS[None]) == {
        "no_answer": 0.0,
        "unparsable_answer": 0.0,
        "conflicting_answers": 0.0,
    }


def test_finite_number_allows_booleans_only_when_asked_and_is_empty() -> None:
    assert finite_number(True) is None and finite_number(True, bool_ok=True) == 1.0
    assert [is_empty(v) for v in (None, "", "  ", [], {}, (), 0, "x", [0])] == [
        True,
        True,
        True,
        True,
        True,
        True,
        False,
        False,
        False,
    ]


def test_a_warm_handler_reuses_its_scorer_worker_and_never_an_abandoned_one() -> None:
    release = threading.Event()
    threads: list[threading.Thread] = []

    def scorer(text: str, reference: Any, sample: Sample) -> float:
        threads.append(threading.current_thread())
        if text == "hang":
            release.wait()
        return 1.0

    handler = make_handler(scorer, task="fast-path-workers", score_timeout_s=0.2)
    try:
        handler([make_sample("#### 1")], None)
        handler([make_sample("#### 2")], None)
        assert threads[0] is threads[1] and threads[0].daemon, (
            "a warm handler hands the batch to the same worker"
        )
        results = handler([make_sample("hang"), make_sample("#### 3")], None)
        assert [metric(r, "scorer_timeout") for r in results] == [1.0, None]
        stuck = threads[2]
        assert threads[3] is not stuck, "the rest of the batch went to a fresh worker"
        handler([make_sample("#### 4")], None)
        assert threads[4] is not stuck, "an abandoned worker never serves another batch"
    finally:
        release.set()
    stuck.join(5)
    assert not stuck.is_alive(), "the abandoned worker exits once its call returns"


def test_make_judge_handler_reads_the_task_setting_once_per_batch(capture_logs: Any) -> None:
    reads: list[int] = []

    def setting() -> tuple[float, list[str]]:
        reads.append(1)
        return 0.25, ["TASK_KNOB='x' is invalid; using 0.25"]

    handler = make_judge_handler(
        task="fast-path-setting",
        prepare=lambda sample, weight: Prepared.decided(Score(weight)),
        combine=lambda prepared, outcome, weight: Score(weight),
        task_setting=setting,
    )
    logs = capture_logs(handler)
    results = handler([make_sample(sample_id=i) for i in range(3)], None)
    assert [r["aggregate_reward_score"] for r in results] == [0.25, 0.25, 0.25]
    assert reads == [1]
    problems = [
        line["problem"] for line in parse_logs(logs) if line.get("message") == "Reward configuration problem"
    ]
    assert problems == ["TASK_KNOB='x' is invalid; using 0.25"]
