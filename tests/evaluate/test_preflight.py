"""`rft rehearse <task> --model M`: the pre-flight on the base model, end to end against loopback.

The server answers the r-th..K-th call for a training prompt wrong and the first r right, where r is
a rule of the prompt's index the test knows, so every prompt group has exactly r of K samples right
whatever order the calls arrive in, and pass@1, pass@K and the signal counts are what they must be.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from rft_eval.stats import pass_at_k
from typer.testing import CliRunner

from data_prep.dedup import prompt_key
from data_prep.validation import broken_rules
from tests.reward.converse_server import Call, Reply, converse_reply

from .conftest import gold, records, user_text

BASE_ID = "us.amazon.nova-2-lite-v1:0"
K = 4


def run(*args: str):
    from rft.cli import app

    return CliRunner().invoke(app, ["rehearse", *args], env={"COLUMNS": "160"})


def index(prompt_id: str) -> int:
    return int(prompt_id.rsplit("-", 1)[-1])


def right_of(prompt_id: str) -> int:
    """How many of a prompt's K samples the server answers right: 0..K in turn."""
    return index(prompt_id) % (K + 1)


def first_r_right(train: Path, r: Callable[[str], int]) -> Callable[[int, Call], Reply]:
    by_user = {user_text(rec): rec for rec in records(train)}
    seen: Counter[str] = Counter()
    lock = threading.Lock()

    def respond(_: int, call: Call) -> Reply:
        record = by_user[call.user]
        with lock:
            seen[record["id"]] += 1
            number = seen[record["id"]]
        answer = gold(record) if number <= r(record["id"]) else "-1"
        return converse_reply(f"Step by step.\n#### {answer}")

    return respond


def test_pass_at_1_pass_at_k_and_signal_are_what_the_answers_deserve(workdir, server) -> None:
    data = workdir("gsm8k")
    srv = server(respond=first_r_right(data / "train.jsonl", right_of))
    limit = 50
    result = run("gsm8k", "--model", "base", "--samples", str(K), "--limit", str(limit))
    assert result.exit_code == 0, result.output

    ids = [r["id"] for r in records(data / "train.jsonl")][:limit]
    assert len(srv.calls) == limit * K and {c.model_id for c in srv.calls} == {BASE_ID}
    assert {c.body["inferenceConfig"]["temperature"] for c in srv.calls} == {1.0}  # K > 1 samples differ
    counts = [right_of(i) for i in ids]
    report = json.loads(Path("reports/preflight-gsm8k.json").read_text())
    assert (report["prompts"], report["complete_prompts"], report["samples_per_prompt"]) == (limit, limit, K)
    assert report["pass_at_1"] == pytest.approx(sum(c / K for c in counts) / limit, abs=1e-6)
    assert report["pass_at_k"] == pytest.approx(sum(c > 0 for c in counts) / limit, abs=1e-6)
    assert report["pass_at_k"] == pytest.approx(sum(pass_at_k(K, c, K) for c in counts) / limit, abs=1e-6)
    assert report["all_right"] == counts.count(K) and report["all_wrong"] == counts.count(0)
    with_signal = sum(0 < c < K for c in counts)
    assert report["with_signal"] == with_signal
    assert report["no_signal_share"] == pytest.approx(1 - with_signal / limit, abs=1e-6)
    total = len(records(data / "train.jsonl"))
    assert report["training_records"] == total
    assert report["signal_records_estimate"]["records"] == round(with_signal / limit * total)
    out = " ".join(result.stdout.split())
    assert f"pass@1 {report['pass_at_1']:.1%}" in out and f"pass@{K} {report['pass_at_k']:.1%}" in out

    # Resumable: a rerun asks nothing more.
    before = len(srv.calls)
    assert run("gsm8k", "--model", "base", "--samples", str(K), "--limit", str(limit)).exit_code == 0
    assert len(srv.calls) == before


def test_write_filtered_keeps_exactly_the_records_with_signal_and_they_validate(workdir, server) -> None:
    data = workdir("gsm8k")
    server(respond=first_r_right(data / "train.jsonl", right_of))
    out = Path("filtered.jsonl")
    result = run("gsm8k", "--model", "base", "--samples", str(K), "--write-filtered", str(out), "--yes")
    assert result.exit_code == 0, result.output
    train = records(data / "train.jsonl")
    expected = [r for r in train if 0 < right_of(r["id"]) < K]
    written = records(out)
    assert written == expected  # the records themselves, in training order
    assert len(written) >= 100 and all(not broken_rules(r) for r in written)
    test_keys = {prompt_key(r) for r in records(data / "test.jsonl")}
    assert not test_keys & {prompt_key(r) for r in written}
    assert f"wrote {len(written):,} training records" in " ".join(result.stdout.split())


def test_fewer_than_100_records_with_signal_is_refused_in_one_line(workdir, server) -> None:
    data = workdir("gsm8k")
    server(respond=first_r_right(data / "train.jsonl", right_of))
    out = Path("filtered.jsonl")
    result = run("gsm8k", "--model", "base", "--limit", "100", "--write-filtered", str(out))
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    message = result.stderr.strip().splitlines()[-1]
    assert message.startswith("error:") and "carry signal" in message and "100-20,000" in message
    assert not out.exists()


def test_a_record_that_is_also_in_the_test_split_is_refused(workdir, server) -> None:
    data = workdir("gsm8k")
    train = records(data / "train.jsonl")
    test = records(data / "test.jsonl")
    # A training record that repeats a test prompt (whitespace and case differ): prompt_key finds it.
    leaked = dict(train[1], messages=[dict(m) for m in train[1]["messages"]])
    leaked["messages"][-1]["content"] = "  " + test[0]["messages"][-1]["content"].upper()
    train[1] = leaked
    (data / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in train))
    server(respond=first_r_right(data / "train.jsonl", lambda _: 2))  # every group: 2 of 4 right
    result = run("gsm8k", "--model", "base", "--write-filtered", "f.jsonl", "--yes")
    assert result.exit_code == 1, result.output
    message = result.stderr.strip().splitlines()[-1]
    assert "also in the test split" in message and train[1]["id"] in message
    assert not Path("f.jsonl").exists()


def test_missing_training_split_names_data_prep(workdir) -> None:
    result = run("gsm8k", "--model", "base")
    assert result.exit_code == 1
    assert "python -m data_prep gsm8k" in result.stderr


@pytest.mark.parametrize(
    ("args", "hint"),
    [
        (["--model", "base", "--responses", "r.jsonl"], "drop --responses"),
        (["--samples", "4"], "add --model"),
        (["--write-filtered", "f.jsonl"], "add --model"),
    ],
)
def test_mixing_the_two_modes_is_one_line(workdir, args: list[str], hint: str) -> None:
    workdir("gsm8k")
    result = run("gsm8k", *args)
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert hint in result.stderr.strip().splitlines()[-1]
