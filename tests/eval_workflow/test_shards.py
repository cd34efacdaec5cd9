"""plan_shards, answer_shard and write_report: moto's S3, the real GSM8K reward, a loopback Converse.

The server answers each prompt with the gold answer or a wrong one (chosen per model and prompt),
throttles, fails chosen calls, and counts calls in flight. Every expected figure is counted here from
those choices, independently of the handlers.
"""

from __future__ import annotations

import json
import zlib
from typing import Any

import pytest
from rft_eval.converse import OUT_OF_TIME
from rft_eval.input_errors import EvalInputError
from rft_eval.stats import mcnemar_exact
from rft_eval_workflow import handler

from tests.reward.converse_server import Reply, error_reply

from .conftest import (
    BASE_PROFILE,
    BUCKET,
    DEPLOYMENT_ARN,
    JOB_NAME,
    REWARD,
    TASK,
    Env,
    FakeContext,
    answering,
    logged,
    records,
)

PREFIX = f"rft-eval/{JOB_NAME}/"


def tuned_right(model: str, prompt_id: str) -> bool:
    """The deployment is right on 4 prompts in 5, the base model on 1 in 2 (by a hash of the id)."""
    bucket = zlib.crc32(prompt_id.encode()) % 10
    return bucket < 8 if model == DEPLOYMENT_ARN else bucket < 5


def planned(env: Env) -> dict[str, Any]:
    return env.call(handler.plan_shards, {"jobName": JOB_NAME, "deploymentArn": DEPLOYMENT_ARN})


def test_plan_covers_every_prompt_once_per_model_in_shard_size_slices(env: Env) -> None:
    count = len(records(env.test_file))
    plan = planned(env)
    assert plan["prompts"] == count
    for label, model in (("base", BASE_PROFILE), ("tuned", DEPLOYMENT_ARN)):
        shards = [s for s in plan["shards"] if s["label"] == label]
        assert [s["index"] for s in shards] == list(range(len(shards)))
        assert {s["modelId"] for s in shards} == {model}
        covered = [i for s in shards for i in range(s["start"], s["end"])]
        assert covered == list(range(count))
        assert max(s["end"] - s["start"] for s in shards) == 5
        assert all(s["jobName"] == JOB_NAME for s in shards)


def test_max_prompts_caps_the_plan(env: Env, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAX_PROMPTS", "7")
    plan = planned(env)
    assert plan["prompts"] == 7
    assert sorted((s["label"], s["start"], s["end"]) for s in plan["shards"]) == [
        ("base", 0, 5),
        ("base", 5, 7),
        ("tuned", 0, 5),
        ("tuned", 5, 7),
    ]


@pytest.mark.parametrize(
    ("bad", "says"),
    [
        (
            "gsm8k_reward.nothing_here.lambda_handler",
            "cannot import gsm8k_reward.nothing_here from the asset",
        ),
        ("gsm8k_reward.handler.missing", "gsm8k_reward.handler has no callable 'missing'"),
        ("nodots", "must look like package.module.function"),
    ],
)
def test_a_reward_handler_that_does_not_import_fails_the_plan_before_any_call(
    env: Env, converse, monkeypatch: pytest.MonkeyPatch, bad: str, says: str
) -> None:
    server = converse()
    monkeypatch.setenv("REWARD_HANDLER", bad)
    with pytest.raises(EvalInputError) as raised:
        planned(env)
    assert says in str(raised.value) and server.calls == []


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("SAMPLES", "0", "SAMPLES=0 is outside"),
        ("SHARD_SIZE", "many", "is not a whole number"),
        ("BUCKET", "", "BUCKET is not set"),
        ("TEST_DATA_URI", "bucket/key", "is not s3://bucket/key"),
        ("TEMPERATURE", "2", "outside 0..1"),
        ("TAGS", "[1]", "TAGS must be"),
    ],
)
def test_a_bad_setting_fails_with_the_variable_named(
    env: Env, monkeypatch: pytest.MonkeyPatch, name: str, value: str, says: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(EvalInputError, match=says):
        planned(env)


def shard_of(env: Env, label: str, index: int) -> dict[str, Any]:
    plan = planned(env)
    return next(s for s in plan["shards"] if s["label"] == label and s["index"] == index)


def test_a_shard_is_answered_scored_and_written_under_throttling(env: Env, converse) -> None:
    server = converse(respond=answering(env.test_file, tuned_right), throttle_every=3, delay_s=0.02)
    item = shard_of(env, "tuned", 1)
    outcome = env.call(handler.answer_shard, item)
    prompts = records(env.test_file)[item["start"] : item["end"]]
    expected_correct = sum(1 for r in prompts if tuned_right(DEPLOYMENT_ARN, r["id"]))
    assert outcome == {
        **{k: item[k] for k in ("index", "label", "modelId", "start", "end")},
        "answered": len(prompts),
        "errors": 0,
        "outOfTime": 0,
        "correct": expected_correct,
        "uri": f"s3://{BUCKET}/{PREFIX}shards/tuned/0001.jsonl",
    }
    assert server.replies.count(400) >= 1  # throttles happened, and were retried
    assert {c.model_id for c in server.calls} == {DEPLOYMENT_ARN}
    assert server.max_in_flight <= 4
    lines = env.lines(f"{PREFIX}shards/tuned/0001.jsonl")
    assert [line["prompt_id"] for line in lines] == [r["id"] for r in prompts]
    assert [line["score"] >= 0.5 for line in lines] == [tuned_right(DEPLOYMENT_ARN, r["id"]) for r in prompts]


def test_the_bound_on_calls_in_flight_holds_and_is_used(
    env: Env, converse, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHARD_SIZE", "12")
    server = converse(respond=answering(env.test_file, tuned_right), delay_s=0.05)
    env.call(handler.answer_shard, shard_of(env, "base", 0))
    assert server.max_in_flight == 4 and len(server.calls) == 12


def test_a_failed_call_is_an_error_never_a_wrong_answer(env: Env, converse) -> None:
    prompts = records(env.test_file)[0:5]
    broken = {prompts[1]["id"], prompts[3]["id"]}

    def fail(model: str, prompt_id: str) -> Reply | None:
        return error_reply("ValidationException", 400, "input too long") if prompt_id in broken else None

    converse(respond=answering(env.test_file, tuned_right, fail=fail))
    outcome = env.call(handler.answer_shard, shard_of(env, "base", 0))
    assert (outcome["answered"], outcome["errors"]) == (3, 2)
    assert outcome["correct"] == sum(
        1 for r in prompts if r["id"] not in broken and tuned_right(BASE_PROFILE, r["id"])
    )
    lines = {line["prompt_id"]: line for line in env.lines(f"{PREFIX}shards/base/0000.jsonl")}
    for prompt_id in broken:
        assert lines[prompt_id]["score"] is None and lines[prompt_id]["error"].startswith(
            "ValidationException"
        )


def test_no_access_to_the_model_fails_the_shard_for_good(env: Env, converse) -> None:
    converse(respond=lambda n, call: error_reply("AccessDeniedException", 403, "not authorized"))
    with pytest.raises(handler.ModelCallsFailed, match="no access to the model"):
        env.call(handler.answer_shard, shard_of(env, "tuned", 0))


def test_a_shard_stops_calling_before_the_time_limit_and_records_the_rest(env: Env, converse) -> None:
    """Each look at the clock costs 10 s: after the start check and three more, the reserve is reached."""
    server = converse(respond=answering(env.test_file, tuned_right))
    settings = handler.settings_module.load()
    looks = [0]

    def clock() -> int:
        left = settings.reserve_s * 1000 + 30_000 - 10_000 * looks[0]
        looks[0] += 1
        return int(left)

    outcome = env.call(handler.answer_shard, shard_of(env, "tuned", 0), FakeContext(remaining_ms=clock))
    assert len(server.calls) <= 3  # each call looks twice (before the attempt and before sending)
    assert outcome["outOfTime"] == 5 - len(server.calls) and outcome["answered"] == len(server.calls)
    lines = env.lines(f"{PREFIX}shards/tuned/0000.jsonl")
    assert len(lines) == 5
    assert (
        sum(1 for line in lines if line["error"] == OUT_OF_TIME and line["score"] is None)
        == outcome["outOfTime"]
    )


def test_a_function_with_too_short_a_timeout_is_refused_with_the_fix(env: Env, converse) -> None:
    server = converse()
    with pytest.raises(EvalInputError, match="raise the answer function's timeout"):
        env.call(handler.answer_shard, shard_of(env, "tuned", 0), FakeContext(remaining_ms=lambda: 60_000))
    assert server.calls == []


def test_the_shard_item_may_come_wrapped_beside_the_job_name(env: Env, converse) -> None:
    converse(respond=answering(env.test_file, tuned_right))
    item = shard_of(env, "base", 2)
    wrapped = {"shard": {k: v for k, v in item.items() if k != "jobName"}, "jobName": JOB_NAME}
    assert env.call(handler.answer_shard, wrapped)["uri"].endswith("shards/base/0002.jsonl")


def test_no_prompt_or_response_text_reaches_the_logs(
    env: Env, converse, caplog: pytest.LogCaptureFixture
) -> None:
    converse(respond=answering(env.test_file, tuned_right))
    env.call(handler.answer_shard, shard_of(env, "tuned", 0))
    text = "\n".join(logged(caplog))
    assert "Answered a shard" in text
    for record in records(env.test_file)[0:5]:
        user = next(m["content"] for m in record["messages"] if m["role"] == "user")
        assert user[:40] not in text
    assert "Working it out" not in text and "####" not in text


def run_all(
    env: Env, fail_shard: tuple[str, int] | None = None
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The Map state by hand: every shard answered, one turned into the Catch's failed-shard shape."""
    plan = planned(env)
    results = []
    for item in plan["shards"]:
        if fail_shard == (item["label"], item["index"]):
            cause = json.dumps(
                {"errorType": "Sandbox.Timedout", "errorMessage": "Task timed out after 900.00 seconds"}
            )
            results.append({"failed": True, "shard": item, "error": "Sandbox.Timedout", "cause": cause})
        else:
            results.append(env.call(handler.answer_shard, item))
    return plan, results


def test_the_report_pairs_the_models_and_matches_an_independent_count(env: Env, converse) -> None:
    converse(respond=answering(env.test_file, tuned_right))
    plan, results = run_all(env)
    out = env.call(
        handler.write_report,
        {
            "jobName": JOB_NAME,
            "prompts": plan["prompts"],
            "results": results,
            "deploymentArn": DEPLOYMENT_ARN,
        },
    )
    ids = [r["id"] for r in records(env.test_file)]
    base = {i: tuned_right(BASE_PROFILE, i) for i in ids}
    tuned = {i: tuned_right(DEPLOYMENT_ARN, i) for i in ids}
    improved = sum(1 for i in ids if tuned[i] and not base[i])
    regressed = sum(1 for i in ids if base[i] and not tuned[i])
    report = json.loads(env.object(f"{PREFIX}report.json"))
    assert [m["label"] for m in report["models"]] == ["base", "tuned"]
    assert [m["model"] for m in report["models"]] == [BASE_PROFILE, DEPLOYMENT_ARN]
    assert [m["correct"] for m in report["models"]] == [sum(base.values()), sum(tuned.values())]
    (comparison,) = report["comparisons"]
    assert comparison["paired_prompts"] == len(ids)
    assert (len(comparison["improved"]), len(comparison["regressed"])) == (improved, regressed)
    assert comparison["p_value"] == mcnemar_exact(improved, regressed)
    assert report["task"] == TASK and report["handler"] == REWARD and report["failed_shards"] == []
    expected = f"{TASK}: tuned {sum(tuned.values()) / len(ids) * 100:.1f} % vs base {sum(base.values()) / len(ids) * 100:.1f} %"
    assert out["summary"].startswith(expected) and f"on {len(ids):,} held-out prompts." in out["summary"]
    assert env.object(f"{PREFIX}summary.txt").strip() == out["summary"]
    assert env.object(f"{PREFIX}report.md").startswith(f"# Evaluation on {TASK}")
    assert env.object(f"{PREFIX}chart.svg").lstrip().startswith("<svg")
    assert out["reportUri"] == f"s3://{BUCKET}/{PREFIX}report.json" and out["failedShards"] == 0
    assert out["reportUri"] in out["message"] and out["summary"] in out["message"]


def test_a_permanently_failed_shard_is_reported_failed_and_left_out_of_the_pairing(
    env: Env, converse
) -> None:
    converse(respond=answering(env.test_file, tuned_right))
    plan, results = run_all(env, fail_shard=("tuned", 1))
    out = env.call(
        handler.write_report, {"jobName": JOB_NAME, "prompts": plan["prompts"], "results": results}
    )
    failed = next(s for s in plan["shards"] if (s["label"], s["index"]) == ("tuned", 1))
    lost = {r["id"] for r in records(env.test_file)[failed["start"] : failed["end"]]}
    report = json.loads(env.object(f"{PREFIX}report.json"))
    assert report["failed_shards"] == [
        {
            "label": "tuned",
            "model": DEPLOYMENT_ARN,
            "index": 1,
            "start": failed["start"],
            "end": failed["end"],
            "prompts": len(lost),
            "error": "Sandbox.Timedout: Sandbox.Timedout: Task timed out after 900.00 seconds",
        }
    ]
    tuned = report["models"][1]
    assert tuned["prompts"] == plan["prompts"] - len(lost) and tuned["errors"] == 0  # not counted as wrong
    (comparison,) = report["comparisons"]
    assert comparison["paired_prompts"] == plan["prompts"] - len(lost)
    assert not lost & set(comparison["improved"] + comparison["regressed"])
    assert out["failedShards"] == 1
    assert f"1 shard(s) failed ({len(lost):,} prompt-answers not made)" in out["summary"]
    assert f"tuned has no scored answer for {len(lost):,}" in out["summary"]
    assert "Failed shards" in env.object(f"{PREFIX}report.md")


@pytest.mark.parametrize("shape", ["flat", "catch", "nested"])
def test_every_plausible_failed_shard_shape_is_read(env: Env, converse, shape: str) -> None:
    converse(respond=answering(env.test_file, tuned_right))
    plan = planned(env)
    item = plan["shards"][0]
    cause = json.dumps({"errorType": "ModelCallsFailed", "errorMessage": "base shard 0: no access"})
    failed = {
        "flat": {**item, "failed": True, "error": "ModelCallsFailed", "cause": cause},
        "catch": {**item, "Error": "ModelCallsFailed", "Cause": cause},
        "nested": {**item, "failure": {"Error": "ModelCallsFailed", "Cause": cause}},
    }[shape]
    out = env.call(
        handler.write_report, {"jobName": JOB_NAME, "prompts": plan["prompts"], "results": [failed]}
    )
    report = json.loads(env.object(f"{PREFIX}report.json"))
    assert out["failedShards"] == 1
    assert (
        report["failed_shards"][0]["error"] == "ModelCallsFailed: ModelCallsFailed: base shard 0: no access"
    )
    assert report["failed_shards"][0]["label"] == "base" and report["failed_shards"][0]["index"] == 0


def test_a_shard_whose_file_is_gone_is_a_failed_shard(env: Env, converse) -> None:
    converse(respond=answering(env.test_file, tuned_right))
    item = shard_of(env, "base", 0)
    outcome = env.call(handler.answer_shard, item)
    env.s3.delete_object(Bucket=BUCKET, Key=f"{PREFIX}shards/base/0000.jsonl")
    out = env.call(handler.write_report, {"jobName": JOB_NAME, "prompts": 5, "results": [outcome]})
    assert out["failedShards"] == 1
    assert "is missing" in json.loads(env.object(f"{PREFIX}report.json"))["failed_shards"][0]["error"]


def test_the_report_has_the_schema_of_rft_evaluate(env: Env, converse) -> None:
    """The same top-level and per-model names as the JSON `rft evaluate` writes (Evaluation.to_json)."""
    from rft_eval.results import Evaluation

    from rft.evaluate import report as cli_report

    converse(respond=answering(env.test_file, tuned_right))
    plan, results = run_all(env)
    env.call(handler.write_report, {"jobName": JOB_NAME, "prompts": plan["prompts"], "results": results})
    report = json.loads(env.object(f"{PREFIX}report.json"))
    empty = Evaluation(TASK, "d", 0, 1, 1, 0.0, REWARD, []).to_json()
    assert set(report) == set(empty)
    assert cli_report.write_json.__module__ == "rft.evaluate.report"
