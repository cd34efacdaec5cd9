"""`rft status` and `rft stop` on an open-weight stack: the real MantleClient against a loopback mantle.

The stack's outputs are moto's (`JobBackend` mantle, `MantleJobId`); the job, its events and
checkpoints are the loopback server's, which checks every request's SigV4 signature.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from rft import job_control, plots, project
from rft.errors import EXIT_JOB_FAILED

from .helpers import assert_one_line_error, deploy_stack
from .mantle_stack import JOB_ID, REGION, TUNED_MODEL, LoopbackMantle, open_weight_outputs, start_mantle

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
STACK = "GsmRftStack"
REWARDS = [0.125, 0.25, 0.4375]


def words(text: str) -> str:
    return " ".join(text.replace("│", " ").split())


@pytest.fixture
def mantle(aws: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[LoopbackMantle]:
    """GsmRftStack deployed open-weight in us-west-2 (moto) and its loopback mantle API."""
    monkeypatch.chdir(tmp_path)
    deploy_stack(open_weight_outputs(), STACK, REGION)
    server = start_mantle(monkeypatch)
    yield server
    server.stop()


@pytest.fixture
def curves(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Every reward curve drawn (the shared rft.plots code still draws the PNG)."""
    drawn: list[dict[str, Any]] = []
    real = plots.reward_curve

    def spy(path: Path, **kwargs: Any) -> Path:
        drawn.append({"path": path, **kwargs})
        return real(path, **kwargs)

    monkeypatch.setattr(plots, "reward_curve", spy)
    return drawn


def status(run_cli: Callable[..., Result], *extra: str) -> Result:
    return run_cli("status", STACK, "--region", REGION, *extra)


def assert_signed(server: LoopbackMantle) -> None:
    assert server.requests, "the CLI made no mantle request"
    assert server.rejected_signatures == 0
    assert all("bedrock-mantle/aws4_request" in r.headers["authorization"] for r in server.requests)
    assert all(f"/{REGION}/" in r.headers["authorization"] for r in server.requests)


def test_running_job_shows_steps_reward_checkpoints_events_and_draws_the_curve(
    mantle: LoopbackMantle, run_cli: Callable[..., Result], curves: list[dict[str, Any]]
) -> None:
    mantle.job("running")
    mantle.message("Fine-tuning job started")
    mantle.metrics(REWARDS, total=67)
    mantle.checkpoint(2)
    result = status(run_cli)
    assert result.exit_code == 0, result.output
    out = words(result.stdout)
    assert f"Open-weight fine-tuning job {JOB_ID}" in out
    assert "status running" in out and "(running)" in out
    assert "steps 3/67" in out
    assert "critic_rewards_mean 0.4375 (latest)" in out
    assert "checkpoints 1" in out
    assert "Fine-tuning job started" in out
    assert "base model openai.gpt-oss-20b" in out
    assert "hyperparameters batch_size=4, learning_rate_multiplier=1.0, n_epochs=1" in out
    assert "tuned model" not in out
    (curve,) = curves
    assert curve["training"] == {"critic_rewards_mean": ([1.0, 2.0, 3.0], REWARDS)}
    png = Path("reports") / f"{STACK}-reward-curve.png"
    assert png.read_bytes().startswith(PNG_MAGIC)
    assert f"wrote {png}" in out
    assert_signed(mantle)


def test_succeeded_job_shows_the_tuned_model_and_how_to_evaluate_it(
    mantle: LoopbackMantle, run_cli: Callable[..., Result]
) -> None:
    job = mantle.job("succeeded", fine_tuned_model=TUNED_MODEL)
    job["finished_at"] = job["created_at"] + 2 * 3600 + 5 * 60 + 7
    mantle.metrics(REWARDS, total=3)
    result = status(run_cli)
    assert result.exit_code == 0, result.output
    out = words(result.stdout)
    assert "status succeeded" in out
    assert "elapsed 2h 05m 07s" in out and "(running)" not in out
    assert f"tuned model {TUNED_MODEL} (callable directly, no deployment)" in out
    assert f"rft evaluate {STACK} --model base --model tuned" in out


def test_failed_job_exits_4_with_the_error(mantle: LoopbackMantle, run_cli: Callable[..., Result]) -> None:
    mantle.job("failed", error={"code": "invalid_training_file", "message": "line 7 is not valid JSON"})
    result = status(run_cli)
    assert result.exit_code == EXIT_JOB_FAILED
    assert "invalid_training_file: line 7 is not valid JSON" in words(result.stdout)
    assert_one_line_error(result, JOB_ID, "failed", "line 7 is not valid JSON")


def test_a_string_error_is_shown_as_given(mantle: LoopbackMantle, run_cli: Callable[..., Result]) -> None:
    mantle.job("failed", error="reward function timed out")
    result = status(run_cli)
    assert result.exit_code == EXIT_JOB_FAILED
    assert "reward function timed out" in result.stderr


def test_cancelled_job_is_shown_and_is_not_an_error(
    mantle: LoopbackMantle, run_cli: Callable[..., Result]
) -> None:
    mantle.job("cancelled")
    mantle.metrics([0.1], total=67)
    result = status(run_cli)
    assert result.exit_code == 0, result.output
    out = words(result.stdout)
    assert "status cancelled" in out and "steps 1/67" in out
    assert "(running)" not in out and "tuned model" not in out


def test_every_page_of_events_and_checkpoints_is_read(
    mantle: LoopbackMantle, run_cli: Callable[..., Result], curves: list[dict[str, Any]]
) -> None:
    mantle.job("running")
    rewards = [round(step / 250, 4) for step in range(1, 251)]
    mantle.metrics(rewards, total=300)
    for step in range(10, 251, 10):
        mantle.checkpoint(step)
    for page_size_multiple in range(1, 4):  # the server lists newest first: pages hold later steps
        mantle.message(f"note {page_size_multiple}", after_s=page_size_multiple)
    result = status(run_cli)
    assert result.exit_code == 0, result.output
    out = words(result.stdout)
    assert "steps 250/300" in out and "critic_rewards_mean 1.0000 (latest)" in out
    assert "checkpoints 25" in out and "events 253" in out
    pages = mantle.pages("events")
    assert len(pages) == 3  # 253 events, 100 a page
    assert [p.query.get("after", [None])[0] is None for p in pages] == [True, False, False]
    assert len(mantle.pages("checkpoints")) == 1
    (curve,) = curves
    steps, values = curve["training"]["critic_rewards_mean"]
    assert steps == [float(s) for s in range(1, 251)] and values == rewards


class Training:
    """Stands in for the poll wait: each wait moves the job on (more metrics, a new status)."""

    def __init__(self, server: LoopbackMantle, plan: list[tuple[str, list[float]]], total: int) -> None:
        self.server, self.plan, self.total = server, plan, total
        self.waits: list[float] = []
        self.step = len(server.state.events.get(JOB_ID, []))

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        status, rewards = self.plan.pop(0)
        self.server.metrics(rewards, total=self.total, first_step=self.step + 1)
        self.step += len(rewards)
        job = self.server.state.jobs[JOB_ID]
        job["status"] = status
        if status == "succeeded":
            job["fine_tuned_model"], job["finished_at"] = TUNED_MODEL, int(time.time())


def test_watch_prints_a_line_per_poll_and_redraws_the_curve_until_it_succeeds(
    mantle: LoopbackMantle,
    run_cli: Callable[..., Result],
    monkeypatch: pytest.MonkeyPatch,
    curves: list[dict[str, Any]],
) -> None:
    mantle.job("queued")
    training = Training(mantle, [("running", [0.1, 0.2]), ("running", []), ("succeeded", [0.3])], total=3)
    monkeypatch.setattr(job_control, "POLL_SLEEP", training)
    result = status(run_cli, "--watch")
    assert result.exit_code == 0, result.output
    assert training.waits == [15.0, 22.5, 33.75]  # the shared backoff
    lines = result.stdout.splitlines()
    polls = [line for line in lines if "(poll " in line]
    assert len(polls) == 3
    assert "queued" in polls[0] and "no metrics events yet" in polls[0] and "next check in 15 s" in polls[0]
    assert "running" in polls[1] and "step 2/3" in polls[1] and "critic_rewards_mean 0.2000" in polls[1]
    assert "step 2/3" in polls[2]
    assert any("queued → running" in line for line in lines)
    assert any("running → succeeded" in line for line in lines)
    redraws = [line for line in lines if "redrew" in line]
    assert len(redraws) == 2 and "(2 points)" in redraws[0] and "(3 points)" in redraws[1]
    assert "final state after 4 polls" in result.stdout
    assert f"tuned model {TUNED_MODEL}" in words(result.stdout)
    # Redrawn when new points came, and once more with the final state.
    drawn = [c["training"]["critic_rewards_mean"][0] for c in curves]
    assert drawn == [[1.0, 2.0], [1.0, 2.0, 3.0], [1.0, 2.0, 3.0]]
    assert (Path("reports") / f"{STACK}-reward-curve.png").read_bytes().startswith(PNG_MAGIC)
    assert_signed(mantle)


def test_watch_ending_in_failed_exits_4(
    mantle: LoopbackMantle, run_cli: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    mantle.job("running")

    def fail(_: float) -> None:
        job = mantle.state.jobs[JOB_ID]
        job["status"], job["error"] = "failed", {"message": "reward Lambda AccessDenied"}

    monkeypatch.setattr(job_control, "POLL_SLEEP", fail)
    result = status(run_cli, "--watch")
    assert result.exit_code == EXIT_JOB_FAILED
    assert "running → failed" in result.stdout
    assert_one_line_error(result, "reward Lambda AccessDenied")


def test_a_missing_job_is_one_line_naming_the_output(
    mantle: LoopbackMantle, run_cli: Callable[..., Result]
) -> None:
    assert_one_line_error(status(run_cli), JOB_ID, "MantleJobId", "does not exist in us-west-2")


def test_a_signature_the_service_rejects_is_one_line(
    mantle: LoopbackMantle, run_cli: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    mantle.job("running")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret")
    assert_one_line_error(status(run_cli), "rejected the credentials", "403", "refresh them")
    assert mantle.rejected_signatures == 1


def test_an_unreachable_endpoint_is_one_line(
    aws: None, run_cli: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    deploy_stack(open_weight_outputs(), STACK, REGION)
    monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_MANTLE", "http://127.0.0.1:9")
    assert_one_line_error(status(run_cli), "cannot reach bedrock-mantle", "AWS_ENDPOINT_URL_BEDROCK_MANTLE")


# -- stop ---------------------------------------------------------------------------------------


def stop(run_cli: Callable[..., Result], *extra: str, input: str | None = None) -> Result:
    return run_cli("stop", STACK, "--region", REGION, *extra, input=input)


def cancels(server: LoopbackMantle) -> int:
    return len(server.calls("POST", f"/v1/fine_tuning/jobs/{JOB_ID}/cancel"))


def test_stop_cancels_a_running_job(mantle: LoopbackMantle, run_cli: Callable[..., Result]) -> None:
    mantle.job("running")
    result = stop(run_cli, "--yes")
    assert result.exit_code == 0, result.output
    assert f"cancel requested: job {JOB_ID} is now cancelled" in result.stdout
    assert mantle.state.jobs[JOB_ID]["status"] == "cancelled" and cancels(mantle) == 1
    assert_signed(mantle)


def test_stop_asks_first_and_a_no_cancels_nothing(
    mantle: LoopbackMantle, run_cli: Callable[..., Result]
) -> None:
    mantle.job("running")
    result = stop(run_cli, input="n\n")
    assert result.exit_code == 0, result.output
    assert "Cancel job" in result.stdout and "not cancelled" in result.stdout
    assert cancels(mantle) == 0 and mantle.state.jobs[JOB_ID]["status"] == "running"


@pytest.mark.parametrize("finished", ["succeeded", "failed", "cancelled"])
def test_stop_on_a_finished_job_says_so(
    mantle: LoopbackMantle, run_cli: Callable[..., Result], finished: str
) -> None:
    mantle.job(finished)
    result = stop(run_cli, "--yes")
    assert result.exit_code == 0, result.output
    assert f"job {JOB_ID} is {finished}; nothing to stop" in result.stdout
    assert cancels(mantle) == 0


def test_stop_on_a_missing_job_says_it_is_gone(
    mantle: LoopbackMantle, run_cli: Callable[..., Result]
) -> None:
    result = stop(run_cli, "--yes")
    assert result.exit_code == 0, result.output
    assert f"job {JOB_ID} is gone (not found in {REGION}); nothing to stop" in result.stdout
    assert cancels(mantle) == 0


def test_stop_when_the_job_finishes_first_says_so(
    mantle: LoopbackMantle, run_cli: Callable[..., Result]
) -> None:
    mantle.job("running")
    mantle.finish_before_cancel = "succeeded"
    result = stop(run_cli, "--yes")
    assert result.exit_code == 0, result.output
    assert f"job {JOB_ID} finished (succeeded) before it could be cancelled" in result.stdout
    assert cancels(mantle) == 1


@pytest.mark.parametrize("extra", [(), ("--delete", "--yes")])
def test_deploy_model_says_an_open_weight_model_needs_no_deployment(
    mantle: LoopbackMantle, run_cli: Callable[..., Result], extra: tuple[str, ...]
) -> None:
    mantle.job("succeeded", fine_tuned_model=TUNED_MODEL)
    result = run_cli("deploy-model", STACK, "--region", REGION, *extra)
    assert_one_line_error(result, "open-weight model", "no deployment", f"rft evaluate {STACK} --model tuned")


def test_without_region_the_stack_is_found_where_the_model_runs(
    mantle: LoopbackMantle, run_cli: Callable[..., Result], monkeypatch: pytest.MonkeyPatch
) -> None:
    context = {k: v for k, v in project.cdk_context().items() if k != "rft:region"}
    monkeypatch.setattr(project, "cdk_context", lambda *_: {**context, "rft:baseModel": "openai.gpt-oss-20b"})
    mantle.job("running")
    assert run_cli("status", STACK).exit_code == 0
    result = run_cli("stop", STACK, "--yes")
    assert result.exit_code == 0, result.output
    assert mantle.state.jobs[JOB_ID]["status"] == "cancelled"
    assert_signed(mantle)  # signed for us-west-2


def test_a_stack_deployed_without_a_job_says_how_to_launch_one(
    aws: None, run_cli: Callable[..., Result]
) -> None:
    deploy_stack({"JobBackend": "mantle", "JobName": "not-launched"}, STACK, REGION)
    assert_one_line_error(status(run_cli), "rft:launchJob=false", "set it to true")


def test_a_denied_permission_names_the_action(mantle: LoopbackMantle, run_cli: Callable[..., Result]) -> None:
    mantle.job("running")
    body = {
        "error": {
            "message": "not authorized to perform bedrock-mantle:GetFineTuningJob",
            "type": "access_denied",
        }
    }
    mantle.fail("GET", f"/v1/fine_tuning/jobs/{JOB_ID}", 403, body=body)
    assert_one_line_error(status(run_cli), "denied permission", "grant bedrock-mantle:GetFineTuningJob")
