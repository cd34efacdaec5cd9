"""The reward Lambda contract (docs/reward-contract.md), through the real handlers."""

from __future__ import annotations

import math
from typing import Any

import pytest
from gsm8k_reward.handler import lambda_handler as gsm8k_handler
from rft_reward import Sample, SampleError, Score, make_batch_handler, make_handler, parse_sample

from .helpers import FakeLambdaContext, make_sample, metric


def check_result_shape(result: dict[str, Any]) -> None:
    assert set(result) == {"id", "aggregate_reward_score", "metrics_list"}
    score = result["aggregate_reward_score"]
    assert isinstance(score, float) and math.isfinite(score) and 0.0 <= score <= 1.0
    for entry in result["metrics_list"]:
        assert set(entry) == {"name", "value", "type"}
        assert entry["type"] in {"Reward", "Metric"}
        assert isinstance(entry["value"], float) and math.isfinite(entry["value"])
    assert metric(result, "format_ok") in {0.0, 1.0}
    assert metric(result, "reward") == score


def test_scores_a_bedrock_batch(lambda_context: FakeLambdaContext) -> None:
    event = [make_sample("#### 48", sample_id="a"), make_sample("#### 47", sample_id="b")]
    results = gsm8k_handler(event, lambda_context)
    assert [r["id"] for r in results] == ["a", "b"]
    assert [r["aggregate_reward_score"] for r in results] == [1.0, 0.0]
    for result in results:
        check_result_shape(result)


def test_reward_and_format_ok_entry_types() -> None:
    (result,) = gsm8k_handler([make_sample("#### 48", sample_id=1)], None)
    types = {m["name"]: m["type"] for m in result["metrics_list"]}
    assert types["reward"] == "Reward"
    assert types["format_ok"] == "Metric"


@pytest.mark.parametrize("sample_id", ["x-1", 7, 0, "", {"k": [1, 2]}, None])
def test_id_is_returned_unchanged(sample_id: Any) -> None:
    (result,) = gsm8k_handler([make_sample(sample_id=sample_id)], None)
    assert result["id"] == sample_id


def test_missing_id_is_null_and_never_invented() -> None:
    results = gsm8k_handler([make_sample(), make_sample(), make_sample(sample_id="z")], None)
    assert [r["id"] for r in results] == [None, None, "z"]


def test_duplicate_ids_are_kept_as_given() -> None:
    results = gsm8k_handler(
        [make_sample("#### 48", sample_id="d"), make_sample("#### 1", sample_id="d")], None
    )
    assert [(r["id"], r["aggregate_reward_score"]) for r in results] == [("d", 1.0), ("d", 0.0)]


def test_reference_inside_metadata_is_accepted() -> None:
    (result,) = gsm8k_handler([make_sample("#### 48", {"final_answer": "48"}, in_metadata=True)], None)
    assert result["aggregate_reward_score"] == 1.0


def test_metadata_reference_is_preferred_over_top_level() -> None:
    """The Bedrock docs' place (pages reward-functions, reward-functions-open-weight) wins."""
    sample = make_sample("#### 48", {"final_answer": "7"})
    sample["metadata"] = {"reference_answer": {"final_answer": "48"}}
    assert parse_sample(sample).reference == {"final_answer": "48"}
    assert gsm8k_handler([sample], None)[0]["aggregate_reward_score"] == 1.0


@pytest.mark.parametrize("empty", [None, "", " ", {}, [], {"text": ""}])
def test_empty_metadata_reference_falls_back_to_top_level(empty: Any) -> None:
    sample = make_sample("#### 48", "48")
    sample["metadata"] = {"reference_answer": empty}
    assert gsm8k_handler([sample], None)[0]["aggregate_reward_score"] == 1.0


def test_empty_top_level_reference_falls_back_to_metadata() -> None:
    sample = make_sample("#### 48", None)
    sample["metadata"] = {"reference_answer": "48"}
    assert gsm8k_handler([sample], None)[0]["aggregate_reward_score"] == 1.0


def test_content_blocks_are_joined_with_no_separator() -> None:
    blocks = [
        {"type": "text", "text": "She sold 48.\n##"},
        {"type": "text", "text": "## 4"},
        {"type": "text", "text": "8"},
    ]
    sample = make_sample(blocks)
    assert parse_sample(sample).response_text == "She sold 48.\n#### 48"
    assert gsm8k_handler([sample], None)[0]["aggregate_reward_score"] == 1.0


def test_non_text_blocks_are_not_the_answer() -> None:
    blocks = [{"type": "reasoning", "text": "#### 1"}, {"type": "text", "text": "#### 48"}]
    assert parse_sample(make_sample(blocks)).response_text == "#### 48"


@pytest.mark.parametrize("role", ["assistant", "nova_assistant"])
def test_generated_turn_roles(role: str) -> None:
    assert gsm8k_handler([make_sample("#### 48", role=role)], None)[0]["aggregate_reward_score"] == 1.0


def test_parse_sample_view() -> None:
    sample = make_sample("#### 48", sample_id="s")
    parsed = parse_sample(sample)
    assert isinstance(parsed, Sample)
    assert (parsed.id, parsed.response_text, parsed.reference) == ("s", "#### 48", {"final_answer": "48"})
    assert [m["role"] for m in parsed.prompt_messages] == ["system", "user"]
    assert parsed.raw is sample


@pytest.mark.parametrize(
    ("sample", "reason"),
    [
        ("not an object", "bad_sample"),
        (None, "bad_sample"),
        ({"reference_answer": "48"}, "missing_response"),
        ({"messages": "hi", "reference_answer": "48"}, "missing_response"),
        ({"messages": [], "reference_answer": "48"}, "missing_response"),
        ({"messages": [{"role": "user", "content": "q"}], "reference_answer": "48"}, "missing_response"),
        (
            {"messages": [{"role": ["assistant"], "content": "#### 48"}], "reference_answer": "48"},
            "missing_response",
        ),
        ({"messages": [{"role": "assistant"}], "reference_answer": "48"}, "missing_response"),
        ({"messages": [{"role": "assistant", "content": 48}], "reference_answer": "48"}, "bad_response"),
        (
            {"messages": [{"role": "assistant", "content": ["#### 48"]}], "reference_answer": "48"},
            "bad_response",
        ),
        (
            {"messages": [{"role": "assistant", "content": [{"type": "text"}]}], "reference_answer": "48"},
            "bad_response",
        ),
        ({"messages": [{"role": "assistant", "content": "#### 48"}]}, "missing_reference"),
        (
            {"messages": [{"role": "assistant", "content": "#### 48"}], "reference_answer": ""},
            "missing_reference",
        ),
        ({"messages": [{"role": "assistant", "content": "#### 48"}], "metadata": "48"}, "missing_reference"),
    ],
)
def test_bad_samples_score_zero_with_a_reason_metric(sample: Any, reason: str) -> None:
    with pytest.raises(SampleError) as err:
        parse_sample(sample)
    assert err.value.reason == reason
    (result,) = gsm8k_handler([sample], None)
    check_result_shape(result)
    assert result["aggregate_reward_score"] == 0.0
    assert metric(result, reason) == 1.0
    assert metric(result, "format_ok") == 0.0


def test_an_earlier_assistant_turn_is_never_scored() -> None:
    sample = {
        "messages": [{"role": "assistant", "content": "#### 48"}, {"role": "user", "content": "and now?"}],
        "reference_answer": "48",
    }
    assert gsm8k_handler([sample], None)[0]["aggregate_reward_score"] == 0.0


def test_one_bad_sample_among_good_ones() -> None:
    event = [
        make_sample("#### 48", sample_id=1),
        {"id": 2, "messages": 5},
        make_sample("#### 48", sample_id=3),
    ]
    results = gsm8k_handler(event, None)
    assert [(r["id"], r["aggregate_reward_score"]) for r in results] == [(1, 1.0), (2, 0.0), (3, 1.0)]
    assert metric(results[1], "missing_response") == 1.0


@pytest.mark.parametrize("event", [{}, {"samples": []}, None, "[]", 42, True])
def test_non_list_event_returns_empty_list(event: Any) -> None:
    assert gsm8k_handler(event, None) == []


def test_empty_batch() -> None:
    assert gsm8k_handler([], None) == []


def test_runs_without_a_lambda_context() -> None:
    assert gsm8k_handler([make_sample()], None)[0]["aggregate_reward_score"] == 1.0
    assert gsm8k_handler([make_sample()], object())[0]["aggregate_reward_score"] == 1.0


# -- containment of scorer bugs, for users' own scorers -------------------------------------------


def _raises(text: str, reference: Any, sample: Sample) -> Score:
    raise KeyError("the response text would be here")


@pytest.mark.parametrize(
    ("returned", "reason"),
    [
        (math.nan, "invalid_score"),
        (math.inf, "invalid_score"),
        (-math.inf, "invalid_score"),
        (1.5, "invalid_score"),
        (-0.1, "invalid_score"),
        ("1.0", "invalid_score"),
        (None, "invalid_score"),
        (Score(math.nan), "invalid_score"),
        (Score(2.0), "invalid_score"),
        (10**400, "invalid_score"),
    ],
)
def test_invalid_scores_are_contained(returned: Any, reason: str) -> None:
    handler = make_handler(lambda text, ref, sample: returned, task="test-invalid")
    results = handler([make_sample(sample_id="a"), make_sample(sample_id="b")], None)
    for result in results:
        check_result_shape(result)
        assert result["aggregate_reward_score"] == 0.0
        assert metric(result, reason) == 1.0


def test_a_raising_scorer_costs_only_its_sample() -> None:
    def flaky(text: str, reference: Any, sample: Sample) -> float:
        if sample.id == "boom":
            raise ZeroDivisionError
        return 1.0

    handler = make_handler(flaky, task="test-raise")
    results = handler(
        [make_sample(sample_id="ok"), make_sample(sample_id="boom"), make_sample(sample_id="ok2")], None
    )
    assert [r["aggregate_reward_score"] for r in results] == [1.0, 0.0, 1.0]
    assert metric(results[1], "scorer_error") == 1.0


def test_bad_samples_never_reach_the_scorer() -> None:
    seen: list[Any] = []

    def spy(text: str, reference: Any, sample: Sample) -> float:
        seen.append(sample.id)
        return 1.0

    handler = make_handler(spy, task="test-spy")
    handler(
        [make_sample(sample_id=1), {"id": 2}, make_sample(None, sample_id=3), make_sample(sample_id=4)], None
    )
    assert seen == [1, 4]


@pytest.mark.parametrize("value", [0, 1, True, 0.25])
def test_plain_numbers_are_accepted(value: Any) -> None:
    handler = make_handler(lambda text, ref, sample: value, task="test-number")
    (result,) = handler([make_sample()], None)
    assert result["aggregate_reward_score"] == float(value)
    assert metric(result, "format_ok") == 1.0


def test_extra_metrics_are_reported_and_bad_ones_dropped() -> None:
    metrics = {"correct": 1, "latency_ms": 12.5, "nan": math.nan, "text": "x", "format_ok": 0.0, 3: 1.0}
    handler = make_handler(lambda text, ref, sample: Score(1.0, True, metrics), task="test-metrics")
    (result,) = handler([make_sample()], None)
    check_result_shape(result)
    names = [m["name"] for m in result["metrics_list"]]
    assert names == ["reward", "format_ok", "correct", "latency_ms", "invalid_metric"]
    assert metric(result, "format_ok") == 1.0


def test_require_reference_false_lets_reference_free_rewards_run() -> None:
    handler = make_handler(
        lambda text, ref, sample: float(ref is None), task="test-noref", require_reference=False
    )
    (result,) = handler([make_sample(reference=None)], None)
    assert result["aggregate_reward_score"] == 1.0


# -- batch scorers (PandaLM judge) ------------------------------------------------------------------


def test_batch_scorer_gets_parsed_samples_and_context(lambda_context: FakeLambdaContext) -> None:
    calls: list[tuple[list[Any], Any]] = []

    def batch(samples: list[Sample], context: Any) -> list[Score]:
        calls.append(([s.id for s in samples], context))
        return [Score(0.5, metrics={"judge_error": 0.0}) for _ in samples]

    handler = make_batch_handler(batch, task="test-batch")
    results = handler([make_sample(sample_id=1), "junk", make_sample(sample_id=3)], lambda_context)
    assert calls == [([1, 3], lambda_context)]
    assert [r["aggregate_reward_score"] for r in results] == [0.5, 0.0, 0.5]
    assert metric(results[1], "bad_sample") == 1.0


@pytest.mark.parametrize(
    "batch_fn",
    [
        lambda samples, context: 1 / 0,
        lambda samples, context: [Score(1.0)] * (len(samples) + 1),
        lambda samples, context: [],
        lambda samples, context: None,
    ],
)
def test_batch_scorer_failure_zeroes_the_parsed_samples_only(batch_fn: Any) -> None:
    handler = make_batch_handler(batch_fn, task="test-batch-fail")
    results = handler([make_sample(sample_id=1), {"id": 2}, make_sample(sample_id=3)], None)
    assert [r["id"] for r in results] == [1, 2, 3]
    assert [r["aggregate_reward_score"] for r in results] == [0.0, 0.0, 0.0]
    assert [metric(r, "scorer_error") for r in results] == [1.0, None, 1.0]
    assert metric(results[1], "missing_response") == 1.0


def test_batch_scorer_not_called_without_parsable_samples() -> None:
    calls: list[int] = []
    handler = make_batch_handler(lambda samples, context: calls.append(1) or [], task="test-batch-empty")
    assert handler([{"id": 1}], None)[0]["aggregate_reward_score"] == 0.0
    assert calls == []


def test_factory_rejects_ambiguous_construction() -> None:
    from rft_reward import RewardHandler

    with pytest.raises(TypeError):
        RewardHandler(task="x")


def test_an_internal_error_still_answers_every_sample(monkeypatch: pytest.MonkeyPatch) -> None:
    import rft_reward.handler as handler_module

    def broken(sample_id: Any, raw: Any) -> Any:
        raise RuntimeError("bug in the package")

    monkeypatch.setattr(handler_module, "checked_result", broken)
    handler = make_handler(lambda text, ref, sample: 1.0, task="test-internal")
    results = handler([make_sample(sample_id="a"), "junk"], None)
    assert [(r["id"], r["aggregate_reward_score"]) for r in results] == [("a", 0.0), (None, 0.0)]
    assert metric(results[0], "internal_error") == 1.0
    assert handler({"not": "a list"}, None) == []
