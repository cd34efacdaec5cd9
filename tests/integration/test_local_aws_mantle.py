"""The emulated mantle API (Bedrock's OpenAI-compatible fine-tuning endpoint), spoken to over HTTP with
plain botocore-signed requests: every endpoint, signature checks, paging, cancel and the job's life
cycle, graded by the project's real GSM8K reward Lambda running in the emulator."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from unittest import mock

import pytest

from local_aws import client_env, converse_replay
from local_aws.mantle import replay
from local_aws.server import Emulator
from tests.integration.mantle_support import (
    MODEL,
    REGION,
    Signed,
    bundled_train_rows,
    create_function,
    gsm8k_reward,
    job_body,
    jsonl,
    labels,
    package,
    recorded_rows,
)


@pytest.fixture(scope="module")
def api(emulator: Emulator) -> Signed:
    return Signed(emulator.endpoint)


@pytest.fixture(scope="module")
def grader(emulator: Emulator, role_arn: str) -> str:
    return gsm8k_reward(emulator.endpoint, role_arn)


@pytest.fixture(scope="module")
def training_file(api: Signed) -> str:
    reply = api.upload(jsonl(recorded_rows(100)))
    assert reply.status == 200, reply.body
    return str(reply.body["id"])


def _create(api: Signed, body: dict[str, Any]) -> dict[str, Any]:
    reply = api.call("POST", "/v1/fine_tuning/jobs", json_body=body)
    assert reply.status == 200, reply.body
    return dict(reply.body)


def _poll(api: Signed, job_id: str) -> dict[str, Any]:
    reply = api.call("GET", f"/v1/fine_tuning/jobs/{job_id}")
    assert reply.status == 200, reply.body
    return dict(reply.body)


def _all_events(api: Signed, job_id: str, limit: int) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    after = ""
    while True:
        query = f"?limit={limit}" + (f"&after={after}" if after else "")
        page = api.call("GET", f"/v1/fine_tuning/jobs/{job_id}/events{query}").body
        assert len(page["data"]) <= limit
        events += page["data"]
        if not page["has_more"]:
            return events
        after = page["data"][-1]["id"]


# -- files -------------------------------------------------------------------------------------------
def test_files_upload_retrieve_list_page_content_and_delete(api: Signed) -> None:
    data = jsonl(recorded_rows(3))
    first = api.upload(data, filename="first.jsonl")
    second = api.upload(b'{"messages": []}\n', filename="second.jsonl")
    assert first.status == second.status == 200
    file = first.body
    assert file["object"] == "file"
    assert (file["bytes"], file["filename"], file["purpose"]) == (len(data), "first.jsonl", "fine-tune")
    assert api.call("GET", f"/v1/files/{file['id']}").body == file
    content = api.call("GET", f"/v1/files/{file['id']}/content")
    assert (content.status, content.body) == (200, data)

    listed = api.call("GET", "/v1/files?purpose=fine-tune").body
    ids = [f["id"] for f in listed["data"]]
    assert ids.index(second.body["id"]) < ids.index(file["id"])  # newest first
    one = api.call("GET", "/v1/files?limit=1").body
    assert len(one["data"]) == 1 and one["has_more"] is True
    rest = api.call("GET", f"/v1/files?limit=100&after={one['data'][0]['id']}").body
    assert [f["id"] for f in one["data"] + rest["data"]] == ids

    deleted = api.call("DELETE", f"/v1/files/{file['id']}")
    assert deleted.body == {"id": file["id"], "object": "file", "deleted": True}
    gone = api.call("GET", f"/v1/files/{file['id']}")
    assert gone.status == 404 and gone.error["code"] == "not_found"
    assert api.call("DELETE", f"/v1/files/{file['id']}").status == 404


def test_a_file_for_any_other_purpose_or_without_a_file_part_is_refused(api: Signed) -> None:
    wrong = api.upload(b"{}\n", purpose="assistants")
    assert wrong.status == 400 and wrong.error["param"] == "purpose"
    not_multipart = api.call("POST", "/v1/files", json_body={"purpose": "fine-tune"})
    assert not_multipart.status == 400 and "multipart/form-data" in not_multipart.error["message"]


def test_files_are_per_region(api: Signed, emulator: Emulator) -> None:
    file_id = api.upload(b'{"messages": []}\n').body["id"]
    east = Signed(emulator.endpoint, region="us-east-1")
    assert east.call("GET", f"/v1/files/{file_id}").status == 404


# -- signatures --------------------------------------------------------------------------------------
def test_an_unsigned_request_is_refused_with_403(api: Signed) -> None:
    reply = api.send("GET", f"{api.endpoint}/v1/files", b"", {})
    assert reply.status == 403
    assert reply.error["code"] == "MissingAuthenticationTokenException"


def test_a_request_signed_with_the_wrong_secret_is_refused(emulator: Emulator) -> None:
    reply = Signed(emulator.endpoint, secret="not-the-secret").call("GET", "/v1/files")
    assert reply.status == 403
    assert reply.error["code"] == "InvalidSignatureException"
    assert "does not match" in reply.error["message"]


def test_an_unknown_access_key_is_refused(emulator: Emulator) -> None:
    reply = Signed(emulator.endpoint, access_key="AKIAOTHER").call("GET", "/v1/files")
    assert reply.status == 403 and reply.error["code"] == "UnrecognizedClientException"


def test_a_request_signed_for_service_bedrock_is_refused_naming_bedrock_mantle(emulator: Emulator) -> None:
    reply = Signed(emulator.endpoint, service="bedrock").call("GET", "/v1/files")
    assert reply.status == 403
    assert "'bedrock-mantle'" in reply.error["message"] and "'bedrock'" in reply.error["message"]


def test_a_body_changed_after_signing_is_refused(api: Signed, training_file: str, grader: str) -> None:
    url = f"{api.endpoint}/v1/fine_tuning/jobs"
    signed_body = json.dumps(job_body(training_file, grader)).encode()
    headers = api.signed_headers("POST", url, signed_body, {"Content-Type": "application/json"})
    tampered = json.dumps(job_body(training_file, grader, n_epochs=9)).encode()
    headers.pop("Content-Length", None)
    reply = api.send("POST", url, tampered, headers)
    assert reply.status == 403 and reply.error["code"] == "InvalidSignatureException"


def test_a_changed_query_is_refused(api: Signed) -> None:
    url = f"{api.endpoint}/v1/files?limit=1"
    headers = api.signed_headers("GET", url, b"")
    reply = api.send("GET", f"{api.endpoint}/v1/files?limit=2", b"", headers)
    assert reply.status == 403


def test_a_stale_signature_is_refused(api: Signed) -> None:
    url = f"{api.endpoint}/v1/files"
    stale = datetime.now(UTC) - timedelta(minutes=20)
    with mock.patch("botocore.auth.get_current_datetime", return_value=stale.replace(tzinfo=None)):
        headers = api.signed_headers("GET", url, b"")
    reply = api.send("GET", url, b"", headers)
    assert reply.status == 403 and "Signature expired" in reply.error["message"]


def test_a_bearer_key_is_refused_saying_sigv4_is_verified(api: Signed) -> None:
    reply = api.send("GET", f"{api.endpoint}/v1/files", b"", {"Authorization": "Bearer bedrock-api-key-x"})
    assert reply.status == 403 and "SigV4" in reply.error["message"]


def test_a_signed_request_to_an_unknown_path_or_method_is_404_or_405(api: Signed) -> None:
    assert api.call("GET", "/v1/fine_tuning/jobs/x/pause").status == 404
    assert api.call("PUT", "/v1/files").status == 405


# -- the job life cycle ------------------------------------------------------------------------------
def test_a_job_validates_trains_with_the_real_reward_and_succeeds_over_polls(
    api: Signed, training_file: str, grader: str
) -> None:
    created = _create(api, job_body(training_file, grader))
    assert created["object"] == "fine_tuning.job"
    assert (created["status"], created["model"], created["fine_tuned_model"]) == (
        "validating_files",
        MODEL,
        None,
    )
    assert created["method"]["reinforcement"]["grader"]["lambda"]["function"] == grader

    statuses = [_poll(api, created["id"])["status"] for _ in range(4)]
    assert statuses == ["running", "running", "running", "succeeded"]
    job = _poll(api, created["id"])  # a finished job no longer moves
    assert job["status"] == "succeeded" and job["finished_at"] >= job["created_at"]
    assert job["fine_tuned_model"].startswith(f"ft:{MODEL}:")

    # Each metrics event's critic_rewards_mean is the reward Lambda's mean on that batch: here the
    # batch's replayed solutions are recorded ones, so it equals the mean of GSM8K's correctness labels.
    events = list(reversed(_all_events(api, job["id"], 100)))
    metrics = [e for e in events if e["type"] == "metrics"]
    assert [m["data"]["step"] for m in metrics] == [1, 2, 3]
    assert {m["data"]["total_steps"] for m in metrics} == {3}
    truth, rows = labels(), recorded_rows(12)
    for metric in metrics:
        step = metric["data"]["step"]
        model = replay.scheduled_model(step, 3)
        batch = rows[(step - 1) * 4 : step * 4]
        expected = [
            truth[(model, converse_replay.recordings().question_in(r["messages"][1]["content"]))]
            for r in batch
        ]
        assert metric["data"]["critic_rewards_mean"] == pytest.approx(sum(expected) / 4)
        assert "replayed" in metric["message"] and metric["object"] == "fine_tuning.job.event"
    assert events[-1]["message"] == "The job has successfully completed"

    checkpoints = api.call("GET", f"/v1/fine_tuning/jobs/{job['id']}/checkpoints").body
    assert [c["step_number"] for c in checkpoints["data"]] == [3, 2, 1]
    assert all(
        c["fine_tuned_model_checkpoint"].startswith(job["fine_tuned_model"]) for c in checkpoints["data"]
    )
    assert (
        checkpoints["data"][0]["metrics"]["critic_rewards_mean"] == metrics[-1]["data"]["critic_rewards_mean"]
    )


def test_the_tuned_model_answers_chat_completions_with_a_labelled_replay(
    api: Signed, training_file: str, grader: str
) -> None:
    job = _create(api, job_body(training_file, grader))
    while job["status"] != "succeeded":
        job = _poll(api, job["id"])
    row = recorded_rows(1)[0]
    reply = api.call(
        "POST",
        "/v1/chat/completions",
        json_body={"model": job["fine_tuned_model"], "messages": row["messages"], "max_tokens": 100},
    )
    assert reply.status == 200, reply.body
    question = converse_replay.recordings().question_in(row["messages"][1]["content"])
    recorded = converse_replay.recordings().solutions[replay.TUNED_MODEL_REPLAY][question]
    assert reply.body["choices"][0]["message"] == {"role": "assistant", "content": recorded}
    assert reply.body["object"] == "chat.completion" and reply.body["model"] == job["fine_tuned_model"]
    assert reply.body["system_fingerprint"] == f"local_aws-replay:{replay.TUNED_MODEL_REPLAY}"
    assert reply.body["usage"]["total_tokens"] > reply.body["usage"]["completion_tokens"] > 0
    models = [m["id"] for m in api.call("GET", "/v1/models").body["data"]]
    assert job["fine_tuned_model"] in models and MODEL in models

    unknown = api.call(
        "POST",
        "/v1/chat/completions",
        json_body={"model": job["fine_tuned_model"], "messages": [{"role": "user", "content": "Hi"}]},
    )
    assert unknown.status == 400 and "replay" in unknown.error["message"]
    missing = api.call(
        "POST", "/v1/chat/completions", json_body={"model": "ft:nothing", "messages": row["messages"]}
    )
    assert missing.status == 404 and missing.error["code"] == "model_not_found"


def test_rows_without_a_recording_are_scored_on_their_reference_answer(api: Signed, grader: str) -> None:
    file_id = api.upload(jsonl(bundled_train_rows(100))).body["id"]
    job = _create(api, job_body(file_id, grader, batch_size=5))
    _poll(api, job["id"])
    _poll(api, job["id"])
    events = api.call("GET", f"/v1/fine_tuning/jobs/{job['id']}/events").body["data"]
    (metrics,) = [e for e in events if e["type"] == "metrics"]
    # Every reference was replayed as the response, and the reward found each in `metadata`.
    assert metrics["data"]["critic_rewards_mean"] == 1.0
    assert "0/5 recorded" in metrics["message"]


def test_events_page_through_with_after_and_has_more(api: Signed, training_file: str, grader: str) -> None:
    job = _create(api, job_body(training_file, grader))
    for _ in range(4):
        _poll(api, job["id"])
    everything = api.call("GET", f"/v1/fine_tuning/jobs/{job['id']}/events?limit=100").body
    assert everything["has_more"] is False
    for limit in (1, 2, 5):
        assert _all_events(api, job["id"], limit) == everything["data"]
    first = api.call("GET", f"/v1/fine_tuning/jobs/{job['id']}/events?limit=2").body
    assert first["has_more"] is True and first["last_id"] == first["data"][-1]["id"]
    created = [e["created_at"] for e in everything["data"]]
    assert created == sorted(created, reverse=True)  # newest first
    assert api.call("GET", f"/v1/fine_tuning/jobs/{job['id']}/events?after=ftevent-nope").status == 400
    assert api.call("GET", f"/v1/fine_tuning/jobs/{job['id']}/events?limit=0").status == 400
    assert api.call("GET", f"/v1/fine_tuning/jobs/{job['id']}/events?limit=101").status == 400
    one = api.call("GET", f"/v1/fine_tuning/jobs/{job['id']}/checkpoints?limit=1").body
    assert len(one["data"]) == 1 and one["has_more"] is True


def test_jobs_list_newest_first_with_paging(api: Signed, training_file: str, grader: str) -> None:
    made = [_create(api, job_body(training_file, grader))["id"] for _ in range(3)]
    listed = api.call("GET", "/v1/fine_tuning/jobs?limit=100").body
    ids = [j["id"] for j in listed["data"]]
    assert ids[:3] == list(reversed(made))
    page = api.call("GET", "/v1/fine_tuning/jobs?limit=2").body
    assert page["has_more"] is True
    after = api.call("GET", f"/v1/fine_tuning/jobs?limit=100&after={page['data'][-1]['id']}").body
    assert [j["id"] for j in page["data"] + after["data"]] == ids


def test_cancel_stops_a_job_for_good(api: Signed, training_file: str, grader: str) -> None:
    job = _create(api, job_body(training_file, grader))
    _poll(api, job["id"])
    cancelled = api.call("POST", f"/v1/fine_tuning/jobs/{job['id']}/cancel")
    assert cancelled.status == 200 and cancelled.body["status"] == "cancelled"
    assert cancelled.body["finished_at"] is not None
    assert _poll(api, job["id"])["status"] == "cancelled"  # polls no longer move it
    again = api.call("POST", f"/v1/fine_tuning/jobs/{job['id']}/cancel")
    assert again.status == 400 and "cancelled" in again.error["message"]
    events = api.call("GET", f"/v1/fine_tuning/jobs/{job['id']}/events").body["data"]
    assert events[0]["message"] == "Fine-tuning job cancelled"
    missing = api.call("POST", "/v1/fine_tuning/jobs/ftjob-missing/cancel")
    assert missing.status == 404
    assert api.call("GET", "/v1/fine_tuning/jobs/ftjob-missing").status == 404


# -- what create refuses -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("change", "param", "words"),
    [
        (lambda b: b.update(suffix="x"), "suffix", "not supported"),
        (lambda b: b.update(model="qwen.qwen3-32b-v1:0"), "model", "not available for fine-tuning"),
        (lambda b: b.update(model="amazon.nova-2-lite-v1:0:256k"), "model", "us-west-2"),
        (lambda b: b.update(training_file="file-missing"), "training_file", "not a file"),
        (lambda b: b.update(surprise=1), "surprise", "Unrecognized request argument"),
        (lambda b: b["method"].update(type="supervised"), "method.type", "reinforcement"),
        (
            lambda b: b["method"]["reinforcement"]["hyperparameters"].update(epochCount=2),
            "method.reinforcement.hyperparameters.epochCount",
            "Unknown hyperparameter",
        ),
        (
            lambda b: b["method"]["reinforcement"]["hyperparameters"].update(batch_size=0),
            "method.reinforcement.hyperparameters.batch_size",
            "positive integer",
        ),
        (
            lambda b: b["method"]["reinforcement"]["hyperparameters"].update(reasoning_effort="max"),
            "method.reinforcement.hyperparameters.reasoning_effort",
            "low, medium, high, default",
        ),
        (
            lambda b: b["method"]["reinforcement"]["grader"]["lambda"].update(
                function=f"arn:aws:lambda:{REGION}:123456789012:function:absent"
            ),
            "method.reinforcement.grader.lambda.function",
            "does not exist",
        ),
    ],
)
def test_create_refuses_a_bad_request_naming_the_field(
    api: Signed, training_file: str, grader: str, change: Any, param: str, words: str
) -> None:
    body = job_body(training_file, grader)
    change(body)
    reply = api.call("POST", "/v1/fine_tuning/jobs", json_body=body)
    assert reply.status == 400, reply.body
    assert reply.error["param"] == param and words in reply.error["message"]


def test_fine_tuning_outside_us_west_2_is_refused(emulator: Emulator, grader: str) -> None:
    east = Signed(emulator.endpoint, region="us-east-1")
    file_id = east.upload(jsonl(recorded_rows(100))).body["id"]
    reply = east.call("POST", "/v1/fine_tuning/jobs", json_body=job_body(file_id, grader))
    assert reply.status == 400 and "served in us-west-2" in reply.error["message"]


def test_an_undocumented_field_can_be_refused_to_rehearse_a_fallback(
    api: Signed, emulator: Emulator, training_file: str, grader: str
) -> None:
    body = {**job_body(training_file, grader), "metadata": {"definition-hash": "abc"}}
    assert _create(api, body)["metadata"] == {"definition-hash": "abc"}
    emulator.mantle.rejected_fields = ("metadata",)
    try:
        reply = api.call("POST", "/v1/fine_tuning/jobs", json_body=body)
    finally:
        emulator.mantle.rejected_fields = ()
    assert reply.status == 400 and reply.error["param"] == "metadata"


def test_a_training_file_with_fewer_than_100_examples_fails_the_job(api: Signed, grader: str) -> None:
    file_id = api.upload(jsonl(recorded_rows(99))).body["id"]
    job = _poll(api, _create(api, job_body(file_id, grader))["id"])
    assert job["status"] == "failed"
    assert job["error"]["code"] == "invalid_training_file" and "99 examples" in job["error"]["message"]


def test_a_failing_grader_fails_the_job_with_its_reason(
    api: Signed, emulator: Emulator, role_arn: str, training_file: str
) -> None:
    code = package(
        extra={"broken.py": "def handler(event, context):\n    raise ValueError('no scores today')\n"}
    )
    arn = create_function(emulator.endpoint, role_arn, "broken-grader", code, "broken.handler")
    job = _create(api, job_body(training_file, arn))
    _poll(api, job["id"])
    failed = _poll(api, job["id"])
    assert failed["status"] == "failed" and failed["error"]["code"] == "grader_error"
    assert "no scores today" in failed["error"]["message"]


# -- reaching it -------------------------------------------------------------------------------------
def test_an_emulated_function_reaches_the_endpoint_signed_for_its_own_region(
    emulator: Emulator, role_arn: str
) -> None:
    """What the job function does: read AWS_ENDPOINT_URL_BEDROCK_MANTLE and sign for AWS_REGION."""
    source = (
        "import json, os, urllib.request\n"
        "from botocore.auth import SigV4Auth\n"
        "from botocore.awsrequest import AWSRequest\n"
        "from botocore.session import Session\n"
        "def handler(event, context):\n"
        "    url = os.environ['AWS_ENDPOINT_URL_BEDROCK_MANTLE'] + '/v1/models'\n"
        "    request = AWSRequest(method='GET', url=url)\n"
        "    SigV4Auth(Session().get_credentials(), 'bedrock-mantle', os.environ['AWS_REGION']).add_auth(request)\n"
        "    with urllib.request.urlopen(urllib.request.Request(url, headers=dict(request.headers))) as r:\n"
        "        return {'region': os.environ['AWS_REGION'], 'models': json.load(r)}\n"
    )
    arn = create_function(
        emulator.endpoint, role_arn, "mantle-caller", package(extra={"caller.py": source}), "caller.handler"
    )
    from tests.integration.mantle_support import lambda_client

    reply = lambda_client(emulator.endpoint).invoke(FunctionName=arn, Payload=b"{}")
    result = json.loads(reply["Payload"].read())
    assert "FunctionError" not in reply, result
    assert result["region"] == REGION
    assert MODEL in [m["id"] for m in result["models"]["data"]]


def test_the_cli_environment_points_at_the_endpoint() -> None:
    env = client_env.client_env("http://localhost:4566")
    assert env["AWS_ENDPOINT_URL_BEDROCK_MANTLE"] == "http://localhost:4566"
    assert "export AWS_ENDPOINT_URL_BEDROCK_MANTLE=http://localhost:4566" in client_env.export_lines(
        "http://localhost:4566"
    )
