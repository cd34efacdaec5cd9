"""Converse on the emulator replays recorded GSM8K solutions: a real boto3 bedrock-runtime client asks.

The prompts are built by data_prep's GSM8K converter, exactly as training and `rft evaluate` send
them; the replies are scored by the deployed GSM8K reward handler, and each replayed model's accuracy
must equal the share of its solutions GSM8K's authors labeled correct.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from typing import Any

import pytest
from botocore.exceptions import ClientError
from gsm8k_reward.handler import lambda_handler

from data_prep import RawRow, get_task
from local_aws import converse_replay
from tests.integration.conftest import ClientFactory

REPLAYED = {
    "replay.gsm8k-6b-finetuning": "6b_finetuning",
    "replay.gsm8k-6b-verification": "6b_verification",
    "replay.gsm8k-175b-finetuning": "175b_finetuning",
    "replay.gsm8k-175b-verification": "175b_verification",
}
BATCH = 64  # samples per reward invocation, as Bedrock batches a group of rollouts
HTTP_SAMPLE = 25  # questions per model asked over HTTP


@pytest.fixture(scope="module")
def rows() -> list[dict[str, Any]]:
    lines = converse_replay.SOLUTIONS.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


@pytest.fixture(scope="module")
def prompts(rows: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    """test_index -> the data_prep record (system + user turns, reference answer) for that question."""
    converter = get_task("gsm8k")
    built: dict[int, dict[str, Any]] = {}
    for row in rows:
        index = int(row["test_index"])
        if index not in built:
            data = {"question": row["question"], "answer": f"#### {row['gold']}"}
            built[index] = converter.to_records(RawRow(data, "test", index, f"test[{index}]"), "test")[0]
    return built


@pytest.fixture(scope="module")
def runtime(aws: ClientFactory) -> Any:
    return aws("bedrock-runtime")


def request(record: dict[str, Any]) -> dict[str, Any]:
    """The Converse request for a record's own turns, as the sampling harness sends them."""
    turns = record["messages"]
    return {
        "system": [{"text": m["content"]} for m in turns if m["role"] == "system"],
        "messages": [
            {"role": "user", "content": [{"text": m["content"]}]} for m in turns if m["role"] == "user"
        ],
        "inferenceConfig": {"maxTokens": 1024, "temperature": 0.0},
    }


def converse(runtime: Any, model: str, record: dict[str, Any]) -> dict[str, Any]:
    return runtime.converse(modelId=model, **request(record))


def test_the_replayed_model_ids_are_the_four_recorded_models() -> None:
    assert converse_replay.recordings().model_ids() == sorted(REPLAYED)


def test_each_replayed_model_answers_with_its_recorded_solution(
    runtime: Any, rows: list[dict[str, Any]], prompts: dict[int, dict[str, Any]]
) -> None:
    recorded = {row["model"]: row["response"] for row in rows if row["test_index"] == 0}
    texts = {}
    for model, name in REPLAYED.items():
        reply = converse(runtime, model, prompts[0])
        text = reply["output"]["message"]["content"][0]["text"]
        assert reply["output"]["message"]["role"] == "assistant"
        assert reply["stopReason"] == "end_turn"
        usage = reply["usage"]
        assert usage["inputTokens"] > 0 and usage["outputTokens"] > 0
        assert usage["totalTokens"] == usage["inputTokens"] + usage["outputTokens"]
        assert reply["metrics"]["latencyMs"] == 0
        assert text == recorded[name]
        assert re.search(r"\n#### -?[\d,.]+$", text), text  # the prompt's format, not the original `A: N`
        assert not re.search(r"(?m)^A:", text)
        texts[model] = text
    assert len(set(texts.values())) == len(REPLAYED)  # four models, four different solutions


def test_whitespace_in_the_prompt_does_not_matter(runtime: Any, prompts: dict[int, dict[str, Any]]) -> None:
    record = prompts[1]
    user = next(m["content"] for m in record["messages"] if m["role"] == "user")
    spaced = {**record, "messages": [{"role": "user", "content": "  " + user.replace(" ", "\n  ") + "\n"}]}
    model = "replay.gsm8k-175b-verification"
    assert converse(runtime, model, spaced)["output"] == converse(runtime, model, record)["output"]


def test_a_question_with_no_recording_is_a_clear_validation_error(runtime: Any) -> None:
    record = {"messages": [{"role": "user", "content": "What is the capital of France?"}]}
    with pytest.raises(ClientError) as raised:
        converse(runtime, "replay.gsm8k-6b-finetuning", record)
    error = raised.value.response
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert error["Error"]["Code"] == "ValidationException"
    assert "no recorded solution for this prompt" in error["Error"]["Message"]
    assert "What is the capital of France?" in error["Error"]["Message"]


def test_an_unknown_replay_id_names_the_known_ones(runtime: Any, prompts: dict[int, dict[str, Any]]) -> None:
    with pytest.raises(ClientError) as raised:
        converse(runtime, "replay.gsm8k-7b", prompts[0])
    assert raised.value.response["Error"]["Code"] == "ValidationException"
    assert all(model in raised.value.response["Error"]["Message"] for model in REPLAYED)


def test_any_other_model_is_not_served(runtime: Any, prompts: dict[int, dict[str, Any]]) -> None:
    with pytest.raises(ClientError) as raised:
        converse(runtime, "us.amazon.nova-pro-v1:0", prompts[0])
    error = raised.value.response
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 501
    assert error["Error"]["Code"] == "NotImplementedException"
    assert "no model runs offline" in error["Error"]["Message"]


def test_the_emulator_serves_exactly_the_replay(runtime: Any, prompts: dict[int, dict[str, Any]]) -> None:
    """Over HTTP, the first questions for every model: the reply is the in-process replay's, unchanged."""
    for model in REPLAYED:
        for index in range(HTTP_SAMPLE):
            reply = converse(runtime, model, prompts[index])
            reply.pop("ResponseMetadata")
            assert reply == converse_replay.converse(model, request(prompts[index]))


def test_the_reward_on_replayed_answers_equals_the_human_labels(
    rows: list[dict[str, Any]], prompts: dict[int, dict[str, Any]]
) -> None:
    """Each replayed model over the 400 questions: accuracy by the reward == the labels' is_correct rate.

    In-process (the replay the emulator serves, checked above), so 1,600 answers take well under a second.
    """
    labels = Counter(row["model"] for row in rows if row["is_correct"])
    counts = Counter(row["model"] for row in rows)
    for model, name in REPLAYED.items():
        samples = []
        for record in prompts.values():
            reply = converse_replay.converse(model, request(record))
            samples.append(
                {
                    "id": f"{record['id']}/{name}",
                    "messages": [
                        *record["messages"],
                        {"role": "assistant", "content": reply["output"]["message"]["content"][0]["text"]},
                    ],
                    "metadata": {"reference_answer": record["reference_answer"]},
                }
            )
        scores = [
            result["aggregate_reward_score"]
            for start in range(0, len(samples), BATCH)
            for result in lambda_handler(samples[start : start + BATCH], None)
        ]
        correct = sum(score >= 0.5 for score in scores)
        print(f"{model}: {correct}/{len(scores)} = {correct / len(scores):.4f}")
        assert len(scores) == counts[name] == 400
        assert correct == labels[name]
