"""`python -m local_aws up | status | env | down` as a user runs them, in a private state folder."""

from __future__ import annotations

import os
import shlex
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from local_aws import client_env, daemon, settings
from tests.integration.conftest import create_job

pytestmark = pytest.mark.slow  # starts the emulator as a background process (~3 s)


@pytest.fixture
def state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("LOCAL_AWS_STATE_DIR", str(tmp_path))
    yield tmp_path
    daemon.stop()  # never leave a background emulator behind, even when a test fails


def local_aws(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "local_aws", *args],
        cwd=settings.PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env=dict(os.environ),
    )


def parse_exports(text: str) -> dict[str, str]:
    exports = {}
    for line in text.splitlines():
        if line.startswith("export "):
            key, _, value = line.removeprefix("export ").partition("=")
            exports[key] = shlex.split(value)[0]
    return exports


def test_up_env_down_round_trip(state_dir: Path) -> None:
    up = local_aws("up")
    assert up.returncode == 0, up.stderr
    state = daemon.read_state()
    assert state is not None and f"localhost:{state.port}" in up.stdout
    assert (state_dir / "emulator.log").exists()

    env = local_aws("env")
    assert env.returncode == 0
    exports = parse_exports(env.stdout)
    assert exports["AWS_ENDPOINT_URL"] == state.endpoint
    identity = client_env.client_factory(exports["AWS_ENDPOINT_URL"])("sts").get_caller_identity()
    assert identity["Account"] == settings.ACCOUNT_ID

    again = local_aws("up")
    assert again.returncode == 0 and "already running" in again.stdout
    assert daemon.read_state() == state

    down = local_aws("down")
    assert down.returncode == 0 and f"pid {state.pid}" in down.stdout
    assert not daemon.healthy(state.endpoint)
    assert local_aws("status").returncode == 1
    failed_env = local_aws("env")
    assert failed_env.returncode == 1 and "make local-up" in failed_env.stderr


def test_up_fails_loudly_when_the_port_is_taken(state_dir: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]

        up = local_aws("up", "--port", str(port))

    assert up.returncode == 1
    assert "error: The emulator exited" in up.stderr
    assert "Address already in use" in up.stderr
    assert daemon.read_state() is None


def test_complete_job_finishes_an_emulated_job_and_says_why_it_cannot(state_dir: Path) -> None:
    assert local_aws("up").returncode == 0
    state = daemon.read_state()
    assert state is not None
    aws = client_env.client_factory(state.endpoint)
    aws("s3").create_bucket(Bucket="complete-job-data")
    create_job(aws, "cli-job-1", "complete-job-data")

    done = local_aws("complete-job", "cli-job-1")

    assert done.returncode == 0, done.stderr
    job = aws("bedrock").get_model_customization_job(jobIdentifier="cli-job-1")
    assert job["status"] == "Completed" and job["outputModelArn"] in done.stdout
    again = local_aws("complete-job", "cli-job-1")  # a finished job cannot finish twice
    assert again.returncode == 1
    assert again.stderr.strip() == (
        "error: could not complete cli-job-1: Job cli-job-1 is Completed; only an InProgress job can complete"
    )
    missing = local_aws("complete-job", "no-such-job")
    assert missing.returncode == 1 and "no-such-job not found" in missing.stderr
