"""The generic judged batch (rft_reward.judge): what a user's own RLAIF task builds on."""

from __future__ import annotations

from typing import Any

import pytest
from rft_reward import Sample, Score
from rft_reward.judge import (
    UNTRUSTED_DATA_RULE,
    JudgeOutcome,
    JudgeRequest,
    Prepared,
    fence,
    make_judge_handler,
    make_rlaif_handler,
)
from rft_reward.judge.batch import judge_batch
from rft_reward.judge.client import JudgeSettings

from .converse_server import Call, Reply, converse_reply, error_reply, judge_server, no_aws  # noqa: F401
from .helpers import FakeLambdaContext, metric

pytestmark = pytest.mark.usefixtures("no_aws")
SETTINGS = JudgeSettings(model_id="us.amazon.nova-pro-v1:0")


def sample(text: str, sample_id: Any = None) -> Sample:
    return Sample(
        id=sample_id, response_text=text, reference=None, prompt_messages=[{"role": "user", "content": "q"}]
    )


def raw_sample(text: str, sample_id: Any = None) -> dict[str, Any]:
    return {
        "id": sample_id,
        "messages": [
            {"role": "user", "content": "Write a polite reply."},
            {"role": "assistant", "content": text},
        ],
    }


def score_from_text(number: int, call: Call) -> Reply:
    """The judge's score is the number after `SCORE=` in the request; `FAIL` makes it fail."""
    if "FAIL" in call.user:
        return error_reply("InternalServerException", 500)
    return converse_reply(f'{{"score": {call.user.split("SCORE=")[1].split()[0]}}}')


def ask_everything(s: Sample) -> Prepared:
    return Prepared.ask(JudgeRequest("rubric", s.response_text), state=s.id)


def judge_only(prepared: Prepared, outcome: JudgeOutcome) -> Score:
    return Score(outcome.score if outcome.score is not None else 0.0)


def test_decided_samples_skip_the_judge_and_every_sample_gets_judge_metrics(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def prepare(s: Sample) -> Prepared:
        if s.response_text == "skip":
            return Prepared.decided(Score(0.25, False, {"mine": 1.0}))
        return ask_everything(s)

    with judge_server(monkeypatch, respond=score_from_text) as server:
        scores = judge_batch(
            [sample("skip"), sample("SCORE=0.9")],
            None,
            prepare=prepare,
            combine=judge_only,
            settings=SETTINGS,
        )
    assert len(server.calls) == 1
    assert scores[0] == Score(0.25, False, {"mine": 1.0, "judge_called": 0.0, "judge_error": 0.0})
    assert scores[1].value == 0.9
    assert scores[1].metrics == {"judge_called": 1.0, "judge_error": 0.0, "judge_score": 0.9}


def test_failed_samples_get_the_mean_of_the_judged_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[JudgeOutcome] = []

    def combine(prepared: Prepared, outcome: JudgeOutcome) -> Score:
        seen.append(outcome)
        return judge_only(prepared, outcome)

    texts = ["SCORE=0.2", "SCORE=1", "FAIL", "SCORE=0.6"]
    with judge_server(monkeypatch, respond=score_from_text):
        scores = judge_batch(
            [sample(t) for t in texts], None, prepare=ask_everything, combine=combine, settings=SETTINGS
        )
    assert [s.value for s in scores] == pytest.approx([0.2, 1.0, 0.6, 0.6])
    assert seen[2] == JudgeOutcome(pytest.approx(0.6), "InternalServerException")
    assert not seen[2].judged and seen[0].judged
    assert [s.metrics["judge_error"] for s in scores] == [0.0, 0.0, 1.0, 0.0]


def test_when_the_judge_scored_nothing_the_outcome_score_is_none(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[JudgeOutcome] = []

    def combine(prepared: Prepared, outcome: JudgeOutcome) -> Score:
        seen.append(outcome)
        return Score(0.0)

    with judge_server(monkeypatch, respond=score_from_text):
        judge_batch(
            [sample("FAIL"), sample("FAIL")], None, prepare=ask_everything, combine=combine, settings=SETTINGS
        )
    assert [o.score for o in seen] == [None, None]
    assert all(o.error == "InternalServerException" for o in seen)


def test_a_raising_prepare_or_combine_costs_only_its_sample(monkeypatch: pytest.MonkeyPatch) -> None:
    def prepare(s: Sample) -> Prepared:
        if s.response_text == "boom":
            raise RuntimeError("task bug")
        if s.response_text == "nothing":
            return Prepared()  # neither decided nor a request: a task bug too
        return ask_everything(s)

    def combine(prepared: Prepared, outcome: JudgeOutcome) -> Score:
        if prepared.state == "bad":
            raise ValueError("task bug")
        return judge_only(prepared, outcome)

    batch = [sample("boom"), sample("nothing"), sample("SCORE=0.4", "bad"), sample("SCORE=0.8", "good")]
    with judge_server(monkeypatch, respond=score_from_text):
        scores = judge_batch(batch, None, prepare=prepare, combine=combine, settings=SETTINGS)
    assert [s.value for s in scores] == [0.0, 0.0, 0.0, 0.8]
    assert [s.metrics.get("scorer_error") for s in scores] == [1.0, 1.0, 1.0, None]


def test_a_custom_parse_rule(monkeypatch: pytest.MonkeyPatch) -> None:
    def parse(text: str) -> float:
        return {"GOOD": 1.0, "BAD": 0.0}[text.strip()]  # a KeyError is an unreadable verdict

    def respond(number: int, call: Call) -> Reply:
        return converse_reply("GOOD" if "yes" in call.user else "MAYBE")

    with judge_server(monkeypatch, respond=respond):
        scores = judge_batch(
            [sample("yes"), sample("no")],
            None,
            prepare=ask_everything,
            combine=judge_only,
            settings=SETTINGS,
            parse=parse,
        )
    assert [s.value for s in scores] == [1.0, 1.0]  # the unreadable one gets the batch mean
    assert [s.metrics["judge_error"] for s in scores] == [0.0, 1.0]


# -- handlers built on it -------------------------------------------------------------------------


SYSTEM = "You grade replies for politeness from 0 to 1. " + UNTRUSTED_DATA_RULE


def build_prompt(s: Sample) -> str:
    return fence(s.prompt_messages[-1]["content"], "request") + "\n\n" + fence(s.response_text, "reply")


def test_make_rlaif_handler_needs_only_a_rubric_and_a_prompt(monkeypatch: pytest.MonkeyPatch) -> None:
    handler = make_rlaif_handler(task="politeness-test", system_prompt=SYSTEM, build_prompt=build_prompt)
    with judge_server(monkeypatch, respond=score_from_text) as server:
        results = handler(
            [raw_sample("Thank you! SCORE=0.9", 1), raw_sample("go away SCORE=0.1", 2)], FakeLambdaContext()
        )
    assert [r["aggregate_reward_score"] for r in results] == [0.9, 0.1]
    assert [metric(r, "judge_score") for r in results] == [0.9, 0.1]
    assert server.calls[0].system == SYSTEM
    assert "<<<BEGIN REPLY>>>" in server.calls[0].user


def test_rlaif_handler_with_the_judge_down_pays_nothing_rather_than_guessing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    handler = make_rlaif_handler(task="politeness-test", system_prompt=SYSTEM, build_prompt=build_prompt)
    with judge_server(monkeypatch, respond=score_from_text):
        results = handler([raw_sample("FAIL", 1), raw_sample("FAIL", 2)], FakeLambdaContext())
    assert [r["aggregate_reward_score"] for r in results] == [0.0, 0.0]
    assert [metric(r, "judge_error") for r in results] == [1.0, 1.0]


def test_make_judge_handler_reads_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    handler = make_judge_handler(
        task="judged-test", prepare=ask_everything, combine=judge_only, require_reference=False
    )
    monkeypatch.setenv("JUDGE_MAX_CONCURRENCY", "2")
    with judge_server(monkeypatch, delay_s=0.05, respond=score_from_text) as server:
        results = handler([raw_sample(f"SCORE=0.{i}", i) for i in range(1, 7)], FakeLambdaContext())
    assert [r["aggregate_reward_score"] for r in results] == pytest.approx([0.1, 0.2, 0.3, 0.4, 0.5, 0.6])
    assert server.max_in_flight <= 2
