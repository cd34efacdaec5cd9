"""`rft evaluate` end to end: the CLI, a real boto3 client, a loopback Converse server, the real reward.

The server answers each data_prep test prompt with the gold answer or a wrong one by a rule the test
knows, so every figure of the report (accuracies, improved and regressed ids, the p-value) is checked
against what it must be.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from rft_eval.stats import mcnemar_exact, wilson
from typer.testing import CliRunner

from rft.deploy_model import DeploymentRecord, write_record
from rft.errors import UserError
from rft.evaluate.command import CONFIRM_ABOVE_CALLS, EvaluateRequest, evaluate
from tests.reward.converse_server import converse_reply, error_reply

from .conftest import answering, records

BASE_ID = "us.amazon.nova-2-lite-v1:0"  # what `base` resolves to for the configured Nova 2 Lite
TUNED_ARN = "arn:aws:bedrock:us-east-1:123456789012:custom-model-deployment/abc123def456"
OTHER = "us.amazon.nova-pro-v1:0"
LIMIT = 40

TOP_LEVEL = {"task", "data", "prompts", "samples_per_prompt", "models", "comparisons"}
MODEL_KEYS = {"model", "prompts", "responses", "accuracy", "ci95", "mean_score", "format_failures", "errors"}
MODEL_KEYS |= {"mean_output_tokens"}
COMPARISON_KEYS = {"baseline", "candidate", "delta", "p_value", "improved", "regressed"}


def run(*args: str):
    from rft.cli import app

    return CliRunner().invoke(app, ["evaluate", *args], env={"COLUMNS": "160"})


def index(prompt_id: str) -> int:
    return int(prompt_id.rsplit("-", 1)[-1])


def base_right(prompt_id: str) -> bool:
    return index(prompt_id) % 2 == 0


def tuned_right(prompt_id: str) -> bool:
    return index(prompt_id) % 4 != 2  # right on every odd prompt, wrong on every 4th even one


def right(model: str, prompt_id: str) -> bool:
    return tuned_right(prompt_id) if model == TUNED_ARN else base_right(prompt_id)


def one_line_error(result, *words: str) -> str:
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    message = result.stderr.strip().splitlines()[-1]  # after the plan line, when there is one
    assert message.startswith("error:"), result.stderr
    for word in words:
        assert word in message
    return message


@pytest.fixture
def tuned_recorded(workdir: Callable[[str], Path]) -> None:
    # Written the way `rft deploy-model` writes it: the record is the interface between the two.
    write_record(
        Path("reports"),
        DeploymentRecord(
            stack="GsmRftStack",
            job_name="gsmrftstack-0123456789ab",
            model_arn="arn:aws:bedrock:us-east-1:123456789012:custom-model/x",
            deployment_arn=TUNED_ARN,
            deployment_name="rft-gsmrftstack-0123456789ab-deadbeef",
            status="Active",
            region="us-east-1",
        ),
    )


def test_base_against_tuned_reports_exactly_what_the_answers_deserve(workdir, server, tuned_recorded) -> None:
    data = workdir("gsm8k")
    srv = server(respond=answering(data / "test.jsonl", right), throttle_every=4)
    result = run("gsm8k", "--model", "base", "--model", "tuned", "--limit", str(LIMIT))
    assert result.exit_code == 0, result.output

    ids = [r["id"] for r in records(data / "test.jsonl")][:LIMIT]
    assert {c.model_id for c in srv.calls} == {BASE_ID, TUNED_ARN}
    report = json.loads(Path("reports/evaluate-gsm8k.json").read_text())
    assert set(report) >= TOP_LEVEL
    assert (report["task"], report["prompts"], report["samples_per_prompt"]) == ("gsm8k", LIMIT, 1)
    assert report["data"].endswith("build/data/gsm8k/test.jsonl")
    base, tuned = report["models"]
    for entry in (base, tuned):
        assert set(entry) >= MODEL_KEYS
        assert (entry["prompts"], entry["responses"], entry["errors"], entry["format_failures"]) == (
            LIMIT,
            LIMIT,
            0,
            0,
        )
    base_correct = sum(base_right(i) for i in ids)
    tuned_correct = sum(tuned_right(i) for i in ids)
    assert base["accuracy"] == pytest.approx(base_correct / LIMIT)
    assert tuned["accuracy"] == pytest.approx(tuned_correct / LIMIT)
    assert base["ci95"] == pytest.approx(list(wilson(base_correct, LIMIT)), abs=1e-6)
    assert base["mean_score"] == pytest.approx(base_correct / LIMIT)  # GSM8K pays 1 or 0

    (comparison,) = report["comparisons"]
    assert set(comparison) >= COMPARISON_KEYS
    improved = [i for i in ids if tuned_right(i) and not base_right(i)]
    regressed = [i for i in ids if base_right(i) and not tuned_right(i)]
    assert (comparison["baseline"], comparison["candidate"]) == (BASE_ID, TUNED_ARN)
    assert comparison["improved"] == improved and comparison["regressed"] == regressed
    assert comparison["delta"] == pytest.approx((tuned_correct - base_correct) / LIMIT)
    assert comparison["p_value"] == pytest.approx(mcnemar_exact(len(improved), len(regressed)))

    out = " ".join(result.stdout.split())
    assert f"{base_correct / LIMIT:.1%}" in out and f"{tuned_correct / LIMIT:.1%}" in out
    assert f"{len(improved)} improved, {len(regressed)} regressed" in out
    for suffix in (".json", ".md", ".png", ".html"):
        assert Path(f"reports/evaluate-gsm8k{suffix}").is_file()
    assert "80 Converse calls to make" in " ".join(result.stderr.split())

    # A rerun asks nothing: every response is cached.
    before = len(srv.calls)
    assert run("gsm8k", "--model", "base", "--model", "tuned", "--limit", str(LIMIT)).exit_code == 0
    assert len(srv.calls) == before


def test_failed_calls_are_counted_as_errors_never_as_wrong_answers(workdir, server) -> None:
    data = workdir("gsm8k")
    ids = [r["id"] for r in records(data / "test.jsonl")][:LIMIT]
    broken = set(ids[::5])

    def fail(model: str, prompt_id: str):
        if model == OTHER and prompt_id in broken:
            return error_reply("ValidationException", 400, "The provided model identifier is invalid.")
        return None

    server(respond=answering(data / "test.jsonl", lambda *_: True, fail=fail))
    result = run("GsmRftStack", "--model", BASE_ID, "--model", OTHER, "--limit", str(LIMIT))
    assert result.exit_code == 0, result.output
    report = json.loads(Path("reports/evaluate-gsm8k.json").read_text())
    other = report["models"][1]
    assert other["errors"] == len(broken)
    assert other["responses"] == LIMIT - len(broken)
    assert other["accuracy"] == 1.0  # every answer it gave was right; the failures are not "wrong"
    assert report["comparisons"][0]["paired_prompts"] == LIMIT - len(broken)
    assert report["comparisons"][0]["regressed"] == []
    assert "ValidationException" in result.stdout


def test_several_samples_default_to_temperature_one_and_pair_by_majority(workdir, server) -> None:
    data = workdir("gsm8k")
    # OTHER answers sample 0 and 1 right and sample 2 wrong: the majority is right.
    calls: dict[tuple[str, str], int] = {}
    by_user = {r["messages"][-1]["content"]: r for r in records(data / "test.jsonl")}

    def respond(_: int, call):
        record = by_user[call.user]
        n = calls[(call.model_id, record["id"])] = calls.get((call.model_id, record["id"]), -1) + 1
        good = call.model_id == OTHER and n % 3 != 2
        return converse_reply(f"#### {record['reference_answer']['final_answer'] if good else 'nope'}")

    srv = server(respond=respond)
    result = run("gsm8k", "--model", BASE_ID, "--model", OTHER, "--limit", "10", "--samples", "3")
    assert result.exit_code == 0, result.output
    assert {c.body["inferenceConfig"]["temperature"] for c in srv.calls} == {1.0}
    assert {c.body["inferenceConfig"]["maxTokens"] for c in srv.calls} == {2048}  # inferenceMaxTokens
    report = json.loads(Path("reports/evaluate-gsm8k.json").read_text())
    assert report["samples_per_prompt"] == 3
    base, other = report["models"]
    assert (base["responses"], base["accuracy"]) == (30, 0.0)
    assert other["accuracy"] == pytest.approx(2 / 3)
    assert base["format_failures"] == 30  # `#### nope` has no number
    assert len(report["comparisons"][0]["improved"]) == 10


def test_pandalm_reports_the_verdict_only_accuracy_without_aws(workdir, server) -> None:
    data = workdir("pandalm")
    words = {0: "Tie", 1: "Response 1", 2: "Response 2"}
    by_user = {r["messages"][-1]["content"]: r for r in records(data / "test.jsonl")}

    def respond(_: int, call):
        label = int(by_user[call.user]["reference_answer"]["label"])
        verdict = label if call.model_id == OTHER else (label % 2) + 1  # OTHER agrees with the humans
        return converse_reply(
            f"JUDGMENT: {words[verdict]}\nREASONING: Response {verdict} follows it closely."
        )

    server(respond=respond)
    result = run("pandalm", "--model", BASE_ID, "--model", OTHER, "--limit", "12")
    assert result.exit_code == 0, result.output
    report = json.loads(Path("reports/evaluate-pandalm.json").read_text())
    base, other = report["models"]
    assert other["code_checked"]["label"] == "verdict only"
    assert other["code_checked"]["accuracy"] == 1.0
    assert base["code_checked"]["accuracy"] < 1.0
    assert any("code-checked verdict" in note for note in report["notes"])


def test_tuned_without_a_recorded_deployment_names_deploy_model(workdir, server) -> None:
    workdir("gsm8k")
    srv = server()
    one_line_error(run("gsm8k", "--model", "base", "--model", "tuned"), "rft deploy-model GsmRftStack")
    assert srv.calls == []


def test_missing_test_split_names_data_prep(workdir) -> None:
    one_line_error(run("gsm8k", "--model", "base"), "python -m data_prep gsm8k")


def test_training_splits_are_refused(workdir, server) -> None:
    data = workdir("gsm8k")
    srv = server()
    for split in ("train", "validation"):
        one_line_error(run("gsm8k", "--model", "base", "--data", str(data / f"{split}.jsonl")), "test split")
    assert srv.calls == []


def test_a_large_run_without_a_terminal_needs_yes(workdir, server) -> None:
    data = workdir("gsm8k")
    srv = server(respond=answering(data / "test.jsonl", lambda *_: True))
    samples = CONFIRM_ABOVE_CALLS // 200 + 1  # the bundled test split has 200 prompts
    one_line_error(run("gsm8k", "--model", "base", "--samples", str(samples)), "--yes")
    assert srv.calls == []
    request = EvaluateRequest("gsm8k", ["base"], samples=samples)
    with pytest.raises(UserError, match="not run"):
        evaluate(request, _quiet(), confirm=lambda _: False)
    assert srv.calls == []
    asked: list[str] = []
    evaluate(request, _quiet(), confirm=lambda q: asked.append(q) or True)
    assert asked and len(srv.calls) == 200 * samples


def test_an_explicit_endpoint_url_reaches_the_server(
    workdir, server, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = workdir("gsm8k")
    srv = server(respond=answering(data / "test.jsonl", lambda *_: True))
    monkeypatch.delenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME")
    result = run("gsm8k", "--model", TUNED_ARN, "--limit", "3", "--endpoint-url", srv.url)
    assert result.exit_code == 0, result.output
    assert [c.model_id for c in srv.calls] == [TUNED_ARN] * 3


def test_unknown_task_is_one_line(workdir) -> None:
    one_line_error(run("nosuch", "--model", "base"), "unknown task or stack", "gsm8k")


def _quiet():
    import io

    from rich.console import Console

    return Console(file=io.StringIO())


def test_ctrl_c_exits_130_and_the_rerun_asks_only_for_the_rest(workdir, server) -> None:
    from rft.errors import EXIT_INTERRUPTED
    from rft.evaluate.sampling import bedrock_runtime_factory

    data = workdir("gsm8k")
    srv = server(respond=answering(data / "test.jsonl", lambda *_: True))
    real = bedrock_runtime_factory("us-east-1")
    made = 0

    class Interrupting:
        """A real client whose 6th call is where the user presses Ctrl-C."""

        def __init__(self, pool: int) -> None:
            self._client = real(pool)
            self.meta = self._client.meta

        def converse(self, **request):
            nonlocal made
            made += 1
            if made == 6:
                raise KeyboardInterrupt
            return self._client.converse(**request)

    request = EvaluateRequest("gsm8k", [BASE_ID], limit=20, concurrency=1)
    with pytest.raises(UserError) as raised:
        evaluate(request, _quiet(), confirm=lambda _: True, client_factory=Interrupting)
    assert raised.value.exit_code == EXIT_INTERRUPTED
    assert "rerun the same command to resume" in raised.value.message
    answered = len(srv.calls)
    assert 4 <= answered < 20  # the 5th call may not have been sent yet: it is cancelled, not lost
    evaluate(request, _quiet(), confirm=lambda _: True)
    assert len(srv.calls) == 20  # the rerun made only the missing calls


def test_the_progress_bar_shows_calls_errors_and_tokens(workdir, server) -> None:
    import io

    from rich.console import Console

    data = workdir("gsm8k")
    ids = [r["id"] for r in records(data / "test.jsonl")][:8]

    def fail(_: str, prompt_id: str):
        return error_reply("ValidationException", 400, "bad") if prompt_id == ids[0] else None

    server(respond=answering(data / "test.jsonl", lambda *_: True, fail=fail))
    stream = io.StringIO()
    bar = Console(file=stream, force_terminal=True, width=200)
    evaluate(EvaluateRequest("gsm8k", [BASE_ID], limit=8), _quiet(), progress_console=bar)
    shown = re.sub(r"\x1b\[[0-9;?]*[a-zA-Z]", "", stream.getvalue())  # without the terminal's colours
    assert "8 Converse calls to make" in shown
    assert "8/8" in shown and "1 errors" in shown
    assert "700 in / 140 out tokens" in shown  # 7 answers x the server's usage (100 in, 20 out)


def test_no_credentials_is_one_line_and_makes_no_call(
    workdir, server, monkeypatch: pytest.MonkeyPatch
) -> None:
    workdir("gsm8k")
    srv = server()
    for name in (
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", raising=False)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")  # never ask the instance metadata service
    one_line_error(run("gsm8k", "--model", "base", "--limit", "30"), "no AWS credentials found", "rerun")
    assert srv.calls == []


def test_an_unreachable_endpoint_stops_the_run(workdir, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.reward.converse_server import point_boto3_at

    workdir("gsm8k")
    point_boto3_at(monkeypatch, "http://127.0.0.1:9")  # a closed loopback port
    one_line_error(
        run("gsm8k", "--model", "base", "--limit", "30"), "cannot reach bedrock-runtime", "--endpoint-url"
    )
