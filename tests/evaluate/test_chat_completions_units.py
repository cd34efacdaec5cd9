"""The Converse <-> chat-completions translation, and reading a mantle job's events: each shape the
docs leave open is accepted."""

from __future__ import annotations

import json

import pytest

from rft.evaluate.chat_completions import chat_body, converse_result
from rft.evaluate.sampling import Inference, Prompt
from rft.open_weight import mantle_job, progress


def test_a_converse_request_becomes_the_same_turns_as_text() -> None:
    prompt = Prompt(
        "p-1",
        ({"role": "system", "content": "Answer with ####."}, {"role": "user", "content": "2+2?"}),
        "4",
    )
    body = chat_body(**Inference(max_tokens=512, temperature=0.0).request("openai.gpt-oss-20b", prompt))
    assert body == {
        "model": "openai.gpt-oss-20b",
        "messages": [
            {"role": "system", "content": "Answer with ####."},
            {"role": "user", "content": "2+2?"},
        ],
        "max_tokens": 512,
        "temperature": 0.0,
    }


@pytest.mark.parametrize(
    ("content", "text"),
    [("#### 4", "#### 4"), ([{"type": "text", "text": "#### "}, {"type": "text", "text": "4"}], "#### 4")],
)
def test_an_answer_as_a_string_or_as_parts_is_its_text(content: object, text: str) -> None:
    result = converse_result(
        {
            "choices": [{"message": {"role": "assistant", "content": content}, "finish_reason": "length"}],
            "usage": {"prompt_tokens": 11, "completion_tokens": 7},
        }
    )
    assert result["output"]["message"]["content"] == [{"text": text}]
    assert result["usage"] == {"inputTokens": 11, "outputTokens": 7}
    assert result["stopReason"] == "max_tokens"


@pytest.mark.parametrize("answer", [{}, {"choices": []}, {"choices": [{"message": {"content": None}}]}])
def test_an_answer_without_text_has_no_output_message(answer: dict) -> None:
    assert "output" not in converse_result(answer)  # the sampler records it as an error, unscored


def test_events_in_any_order_give_one_point_per_step_and_the_newest_figures() -> None:
    events = [
        {
            "id": "e3",
            "type": "metrics",
            "created_at": 30,
            "data": {"step": 3, "total_steps": 9, "critic_rewards_mean": 0.5},
        },
        {
            "id": "e1",
            "type": "metrics",
            "created_at": 10,
            "data": json.dumps({"step": 1, "critic_rewards_mean": 0.1}),
        },
        {"id": "m", "type": "message", "created_at": 5, "level": "info", "message": "Training started"},
        {"id": "e2", "created_at": 20, "data": {"step": 2, "total_steps": 9, "critic_rewards_mean": "nan"}},
    ]
    seen = progress(events, checkpoints=2)
    assert (seen.steps, seen.rewards) == ([1.0, 3.0], [0.1, 0.5])  # NaN is not a point
    assert (seen.step, seen.total_steps, seen.latest_reward) == (3, 9, 0.5)
    assert [message for _, _, message in seen.recent] == ["Training started"]
    assert seen.text() == "step 3/9, critic_rewards_mean 0.5000, 2 checkpoints"


def test_job_times_as_epoch_or_iso_and_unknown_statuses_still_running() -> None:
    job = mantle_job(
        {"id": "j", "status": "paused", "created_at": "2026-12-02T02:00:00Z", "fine_tuned_model": "x"}
    )
    assert not job.terminal and job.fine_tuned_model is None  # only a succeeded job has a tuned model
    assert job.created is not None and job.created.hour == 2
    done = mantle_job(
        {"id": "j", "status": "succeeded", "created_at": 100, "finished_at": 160, "fine_tuned_model": "m"}
    )
    assert done.terminal and done.fine_tuned_model == "m" and done.elapsed(done.created).total_seconds() == 60
