"""MantleClient against a loopback server that recomputes each SigV4 signature with botocore."""

from __future__ import annotations

import json
import logging

import pytest
from botocore.credentials import Credentials
from rft_mantle import ENDPOINT_ENV, MantleClient, MantleError, default_endpoint
from rft_mantle.client import multipart_body, safe_filename

from tests.mantle.server import ACCESS_KEY, REGION, SECRET_KEY, SESSION_TOKEN, mantle_server

SAMPLE = b'{"messages": [{"role": "user", "content": "What is 6 x 7?"}], "reference_answer": "42"}\n'


@pytest.fixture
def server():
    with mantle_server() as server:
        yield server


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def client(server, sleeps) -> MantleClient:
    return MantleClient(
        REGION,
        endpoint_url=server.url,
        credentials=Credentials(ACCESS_KEY, SECRET_KEY, SESSION_TOKEN),
        sleep=sleeps.append,
    )


def test_every_request_is_signed_for_bedrock_mantle_over_its_body(client, server):
    uploaded = client.upload_file("train.jsonl", SAMPLE)
    client.create_job({"model": "openai.gpt-oss-20b", "training_file": uploaded["id"]})
    client.list_jobs(limit=5)
    assert server.rejected_signatures == 0
    for request in server.requests:
        auth = request.headers["authorization"]
        assert f"/{REGION}/bedrock-mantle/aws4_request" in auth
        assert "host" in auth and "x-amz-content-sha256" in auth
        assert request.headers["x-amz-security-token"] == SESSION_TOKEN
        assert "bearer" not in auth.lower()


def test_a_wrong_secret_is_rejected_with_403_and_not_retried(server, sleeps):
    wrong = MantleClient(
        REGION,
        endpoint_url=server.url,
        credentials=Credentials(ACCESS_KEY, "not-the-secret"),
        sleep=sleeps.append,
    )
    with pytest.raises(MantleError) as raised:
        wrong.list_jobs()
    assert raised.value.status == 403
    assert not raised.value.retryable and not raised.value.missing
    assert "signature" in raised.value.message
    assert server.rejected_signatures == 1 and sleeps == []


def test_a_signature_for_another_service_is_rejected(server, monkeypatch):
    client = MantleClient(REGION, endpoint_url=server.url, credentials=Credentials(ACCESS_KEY, SECRET_KEY))
    # The signing name is a module constant: a client that signs for `bedrock` must fail.
    monkeypatch.setattr("rft_mantle.client.SIGNING_SERVICE", "bedrock")
    with pytest.raises(MantleError) as raised:
        client.list_jobs()
    assert raised.value.status == 403 and "bedrock-mantle" in raised.value.message


def test_upload_sends_a_multipart_body_the_server_parses_back(client, server):
    data = SAMPLE * 3 + b"\r\n--not-a-boundary\r\n"
    uploaded = client.upload_file("gsmrftstack-0123456789ab train.jsonl", data)
    [request] = server.calls("POST", "/v1/files")
    form = request.form()
    assert form["purpose"] == (None, b"fine-tune")
    filename, content = form["file"]
    assert content == data
    assert filename == "gsmrftstack-0123456789ab-train.jsonl"
    assert request.headers["content-type"].startswith("multipart/form-data; boundary=")
    assert uploaded["id"] in server.state.files and uploaded["bytes"] == len(data)
    assert server.state.contents[uploaded["id"]] == data


def test_file_retrieve_and_delete(client, server):
    file_id = client.upload_file("v.jsonl", SAMPLE)["id"]
    assert client.retrieve_file(file_id)["filename"] == "v.jsonl"
    assert client.delete_file(file_id) == {"id": file_id, "object": "file", "deleted": True}
    with pytest.raises(MantleError) as raised:
        client.delete_file(file_id)
    assert raised.value.missing and raised.value.status == 404


def test_create_retrieve_list_and_cancel_a_job(client, server):
    file_id = client.upload_file("t.jsonl", SAMPLE)["id"]
    body = {
        "model": "openai.gpt-oss-20b",
        "training_file": file_id,
        "method": {
            "type": "reinforcement",
            "reinforcement": {
                "grader": {"type": "lambda", "lambda": {"function": "arn:aws:lambda:us-west-2:1:function:g"}},
                "hyperparameters": {"n_epochs": 1, "batch_size": 4, "learning_rate_multiplier": 1.0},
            },
        },
    }
    job = client.create_job(body)
    assert server.calls("POST", "/v1/fine_tuning/jobs")[0].json() == body
    assert client.retrieve_job(job["id"])["training_file"] == file_id
    assert [j["id"] for j in client.list_jobs()["data"]] == [job["id"]]
    assert client.cancel_job(job["id"])["status"] == "cancelled"
    with pytest.raises(MantleError) as raised:
        client.cancel_job(job["id"])  # already cancelled: the service refuses, it is not "missing"
    assert raised.value.status == 400 and not raised.value.missing


def test_list_jobs_passes_limit_and_after(client, server):
    client.list_jobs(limit=7, after="ftjob-x")
    [request] = server.calls("GET", "/v1/fine_tuning/jobs")
    assert request.query == {"limit": ["7"], "after": ["ftjob-x"]}


def test_iter_events_follows_every_page(client, server):
    job = server.add_job()
    events = server.add_events(job["id"], 7)
    seen = list(client.iter_events(job["id"], limit=3))
    assert [e["id"] for e in seen] == [e["id"] for e in events]
    pages = server.calls("GET", f"/v1/fine_tuning/jobs/{job['id']}/events")
    assert len(pages) == 3
    assert pages[1].query["after"] == [events[2]["id"]]
    page = client.list_events(job["id"], limit=2)
    assert page["has_more"] is True and len(page["data"]) == 2


def test_iter_events_stops_when_a_page_cannot_advance(client, server):
    job = server.add_job()
    server.fail(
        "GET",
        f"/v1/fine_tuning/jobs/{job['id']}/events",
        200,
        times=5,
        body={"object": "list", "data": [{"id": "ftevent-same"}], "has_more": True},
    )
    assert [e["id"] for e in client.iter_events(job["id"])] == ["ftevent-same", "ftevent-same"]


def test_checkpoints(client, server):
    job = server.add_job(status="succeeded")
    checkpoint = {
        "id": "ftckpt-1",
        "object": "fine_tuning.job.checkpoint",
        "step_number": 20,
        "fine_tuned_model_checkpoint": "openai.gpt-oss-20b:ckpt-20",
        "metrics": {"step": 20},
    }
    server.state.checkpoints[job["id"]].append(checkpoint)
    assert client.list_checkpoints(job["id"], limit=10)["data"] == [checkpoint]
    assert server.calls("GET", rf"/v1/fine_tuning/jobs/{job['id']}/checkpoints")[0].query["limit"] == ["10"]


def test_chat_completion(client, server):
    body = {"model": "ft:openai.gpt-oss-20b:tuned", "messages": [{"role": "user", "content": "6 x 7?"}]}
    answer = client.chat_completion(body)
    assert answer["choices"][0]["message"]["content"] == "#### 42"
    assert server.calls("POST", "/v1/chat/completions")[0].json() == body


def test_429_then_success_is_retried_after_a_bounded_jittered_wait(client, server, sleeps):
    server.fail("GET", "/v1/fine_tuning/jobs", 429, times=2)
    assert client.list_jobs()["object"] == "list"
    assert len(server.calls("GET", "/v1/fine_tuning/jobs")) == 3
    assert len(sleeps) == 2 and all(0 <= s <= 1.0 for s in sleeps)


def test_retry_after_sets_the_least_wait(client, server, sleeps):
    server.fail("GET", "/v1/fine_tuning/jobs", 503, headers={"Retry-After": "3"})
    client.list_jobs()
    assert sleeps == [3.0]


def test_500_until_the_attempts_are_used_up_raises_a_retryable_error(client, server, sleeps):
    server.fail("POST", "/v1/fine_tuning/jobs", 500, times=10)
    with pytest.raises(MantleError) as raised:
        client.create_job({"model": "m", "training_file": "f"})
    assert raised.value.status == 500 and raised.value.retryable
    assert len(server.calls("POST", "/v1/fine_tuning/jobs")) == 4
    assert len(sleeps) == 3


def test_404_is_missing_and_not_retried(client, server, sleeps):
    with pytest.raises(MantleError) as raised:
        client.retrieve_job("ftjob-nope")
    assert raised.value.missing and not raised.value.retryable
    assert raised.value.param == "fine_tuning_job_id"
    assert sleeps == []


@pytest.mark.parametrize(
    ("body", "headers", "code", "message"),
    [
        (
            {"error": {"message": "bad", "type": "invalid_request_error", "param": "x"}},
            {},
            "invalid_request_error",
            "bad",
        ),
        (
            {"message": "denied", "__type": "com.amazon#AccessDeniedException"},
            {},
            "AccessDeniedException",
            "denied",
        ),
        (
            {"Message": "nope"},
            {"x-amzn-ErrorType": "ValidationException:http://x"},
            "ValidationException",
            "nope",
        ),
        ({"error": "plain text"}, {}, "bad_request", "plain text"),
    ],
)
def test_error_shapes_are_all_read(client, server, body, headers, code, message):
    server.fail("GET", "/v1/fine_tuning/jobs", 400, body=body, headers=headers)
    with pytest.raises(MantleError) as raised:
        client.list_jobs()
    assert (raised.value.code, raised.value.message) == (code, message)


def test_an_unreachable_endpoint_is_a_retryable_connection_error(sleeps):
    client = MantleClient(
        REGION, endpoint_url="http://127.0.0.1:9", credentials=Credentials("a", "b"), sleep=sleeps.append
    )
    with pytest.raises(MantleError) as raised:
        client.list_jobs()
    assert raised.value.status == 0 and raised.value.retryable and raised.value.code == "connection_error"
    assert len(sleeps) == 3


def test_ids_cannot_escape_their_path_segment(client, server):
    with pytest.raises(MantleError):
        client.retrieve_job("../files/x")
    assert server.requests[-1].path == "/v1/fine_tuning/jobs/..%2Ffiles%2Fx"


def test_endpoint_override_order(monkeypatch):
    monkeypatch.delenv(ENDPOINT_ENV, raising=False)
    assert MantleClient("us-west-2").endpoint_url == default_endpoint("us-west-2")
    assert default_endpoint("us-west-2") == "https://bedrock-mantle.us-west-2.api.aws"
    monkeypatch.setenv(ENDPOINT_ENV, "http://localhost:4566/v1/")
    assert MantleClient("us-west-2").endpoint_url == "http://localhost:4566"
    assert MantleClient("us-west-2", endpoint_url="http://other:1").endpoint_url == "http://other:1"


def test_nothing_secret_or_sampled_is_logged(server, caplog):
    caplog.set_level(logging.DEBUG)
    client = MantleClient(
        REGION,
        endpoint_url=server.url,
        credentials=Credentials(ACCESS_KEY, SECRET_KEY, SESSION_TOKEN),
        sleep=lambda _: None,
    )
    server.fail("POST", "/v1/files", 500)
    client.upload_file("t.jsonl", SAMPLE)
    text = "\n".join(r.getMessage() for r in caplog.records if r.name.startswith("rft_mantle"))
    assert "retrying" in text
    for secret in (SECRET_KEY, SESSION_TOKEN, "What is 6 x 7", "Signature="):
        assert secret not in text


def test_multipart_boundary_never_occurs_in_the_data():
    body, content_type = multipart_body({"purpose": "fine-tune"}, "file", "a.jsonl", b"x" * 10)
    boundary = content_type.split("boundary=")[1]
    assert body.count(boundary.encode()) == 3
    assert safe_filename('a"b\r\nc.jsonl') == "a-b-c.jsonl" and safe_filename("///") == "data.jsonl"


def test_json_bodies_are_sent_compact_and_exact(client, server):
    client.chat_completion({"model": "m", "messages": []})
    assert (
        server.requests[-1].body == json.dumps({"model": "m", "messages": []}, separators=(",", ":")).encode()
    )
