"""The job function's own client (`lambda/rft_mantle`'s MantleClient) against the emulated mantle API:
every method, a bad signature, a missing job, paging through events, cancel, the life cycle."""

from __future__ import annotations

import pytest
from botocore.credentials import Credentials
from rft_mantle import MantleClient, MantleError

from local_aws import settings
from local_aws.mantle import replay
from local_aws.server import Emulator
from tests.integration.mantle_support import (
    REGION,
    gsm8k_reward,
    job_body,
    jsonl,
    recorded_rows,
)


def _client(emulator: Emulator, *, secret: str = settings.SECRET_ACCESS_KEY, **kw: object) -> MantleClient:
    return MantleClient(
        REGION,
        endpoint_url=emulator.endpoint,
        credentials=Credentials(settings.ACCESS_KEY_ID, secret),
        **kw,  # type: ignore[arg-type]
    )


@pytest.fixture(scope="module")
def client(emulator: Emulator) -> MantleClient:
    return _client(emulator)


@pytest.fixture(scope="module")
def grader(emulator: Emulator, role_arn: str) -> str:
    return gsm8k_reward(emulator.endpoint, role_arn, name="gsm8k-reward-client")


@pytest.fixture(scope="module")
def training_file(client: MantleClient) -> str:
    return str(client.upload_file("train data.jsonl", jsonl(recorded_rows(100)))["id"])


def test_files_round_trip_through_the_client(client: MantleClient) -> None:
    data = jsonl(recorded_rows(2))
    uploaded = client.upload_file("two rows.jsonl", data)
    assert (uploaded["bytes"], uploaded["purpose"], uploaded["filename"]) == (
        len(data),
        "fine-tune",
        "two-rows.jsonl",
    )
    assert client.retrieve_file(uploaded["id"]) == uploaded
    assert client.delete_file(uploaded["id"])["deleted"] is True
    with pytest.raises(MantleError) as missing:
        client.retrieve_file(uploaded["id"])
    assert missing.value.missing and not missing.value.retryable


def test_a_client_with_the_wrong_secret_gets_403(emulator: Emulator) -> None:
    with pytest.raises(MantleError) as refused:
        _client(emulator, secret="wrong").list_jobs()
    assert refused.value.status == 403
    assert refused.value.code == "InvalidSignatureException" and not refused.value.retryable


def test_the_client_runs_a_job_to_success_and_reads_its_events_and_checkpoints(
    client: MantleClient, training_file: str, grader: str
) -> None:
    created = client.create_job(job_body(training_file, grader))
    assert created["status"] == "validating_files"
    assert created["id"] in [j["id"] for j in client.list_jobs(limit=100)["data"]]
    statuses = [client.retrieve_job(created["id"])["status"] for _ in range(4)]
    assert statuses == ["running", "running", "running", "succeeded"]

    events = list(client.iter_events(created["id"], limit=2))  # many pages of two
    assert events == client.list_events(created["id"], limit=100)["data"]
    assert len({e["id"] for e in events}) == len(events) > 2
    metrics = [e["data"] for e in events if e["type"] == "metrics"]
    assert sorted(m["step"] for m in metrics) == [1, 2, 3]
    assert all(0.0 <= m["critic_rewards_mean"] <= 1.0 for m in metrics)
    page = client.list_events(created["id"], limit=1)
    assert page["has_more"] is True
    assert client.list_events(created["id"], limit=1, after=page["data"][0]["id"])["data"][0] == events[1]

    checkpoints = client.list_checkpoints(created["id"], limit=2)
    assert [c["step_number"] for c in checkpoints["data"]] == [3, 2] and checkpoints["has_more"] is True
    rest = client.list_checkpoints(created["id"], after=checkpoints["data"][-1]["id"])
    assert [c["step_number"] for c in rest["data"]] == [1]

    tuned = client.retrieve_job(created["id"])["fine_tuned_model"]
    answer = client.chat_completion({"model": tuned, "messages": recorded_rows(1)[0]["messages"]})
    assert answer["system_fingerprint"] == f"local_aws-replay:{replay.TUNED_MODEL_REPLAY}"
    assert answer["choices"][0]["message"]["content"].strip()
    # The checkpoint of step 1 replays the weakest recorded model.
    first_checkpoint = rest["data"][0]["fine_tuned_model_checkpoint"]
    early = client.chat_completion({"model": first_checkpoint, "messages": recorded_rows(1)[0]["messages"]})
    assert early["system_fingerprint"] == f"local_aws-replay:{replay.SCHEDULE[0]}"


def test_the_client_cancels_a_job_and_a_second_cancel_is_refused(
    client: MantleClient, training_file: str, grader: str
) -> None:
    job = client.create_job(job_body(training_file, grader))
    assert client.cancel_job(job["id"])["status"] == "cancelled"
    with pytest.raises(MantleError) as again:
        client.cancel_job(job["id"])
    assert again.value.status == 400 and not again.value.missing
    with pytest.raises(MantleError) as gone:
        client.cancel_job("ftjob-does-not-exist")
    assert gone.value.missing


def test_a_refused_field_is_named_so_the_job_function_can_retry_without_it(
    client: MantleClient, emulator: Emulator, training_file: str, grader: str
) -> None:
    body = {**job_body(training_file, grader), "metadata": {"definition-hash": "abc"}}
    emulator.mantle.rejected_fields = ("metadata",)
    try:
        with pytest.raises(MantleError) as refused:
            client.create_job(body)
    finally:
        emulator.mantle.rejected_fields = ()
    assert refused.value.status == 400 and refused.value.names("metadata")
    assert client.create_job(body)["metadata"] == {"definition-hash": "abc"}


def test_the_client_finds_the_endpoint_from_the_environment(
    emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_MANTLE", emulator.endpoint)
    client = MantleClient(REGION, credentials=Credentials(settings.ACCESS_KEY_ID, settings.SECRET_ACCESS_KEY))
    assert client.endpoint_url == emulator.endpoint
    uploaded = client.upload_file("env.jsonl", b'{"messages": []}\n')
    assert _client(emulator).retrieve_file(uploaded["id"])["filename"] == "env.jsonl"
