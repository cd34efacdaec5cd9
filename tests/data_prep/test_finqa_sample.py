"""The bundled, illustrative FinQA sample: enough records, disjoint test, reproducible, gradable."""

from __future__ import annotations

import importlib.util
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from data_prep import PrepOptions, PrepResult, prepare
from data_prep.converters.finqa import normalize_row
from data_prep.sources import SAMPLES_DIR
from data_prep.validation import MIN_RECORDS
from tests.data_prep.prep_testing import read_jsonl

SAMPLE_DIR = SAMPLES_DIR / "finqa"
QUIET = PrepOptions(progress=False)


def load(name: str) -> list[dict[str, Any]]:
    return json.loads((SAMPLE_DIR / name).read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def make_sample() -> Iterator[ModuleType]:
    """The generator script, imported from its path (samples/ is data, not a package)."""
    spec = importlib.util.spec_from_file_location("finqa_make_sample", SAMPLE_DIR / "make_sample.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the script runs
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.modules.pop(spec.name, None)


@pytest.fixture(scope="module")
def bundled(tmp_path_factory: pytest.TempPathFactory) -> PrepResult:
    return prepare("finqa", tmp_path_factory.mktemp("finqa"), QUIET)


def test_bundled_sample_meets_bedrock_minimums(bundled: PrepResult) -> None:
    assert bundled.stats["source_rows"] == {"train": 130, "validation": 110, "test": 30}
    assert bundled.stats["splits"] == {"train": 130, "validation": 100, "test": 30}
    assert bundled.stats["splits"]["train"] >= MIN_RECORDS
    assert bundled.stats["splits"]["validation"] >= MIN_RECORDS
    assert bundled.stats["dropped_overlong"] == 0
    assert bundled.stats["prompt_tokens"]["max"] <= bundled.stats["prompt_tokens"]["limit"] == 4000


def test_test_split_is_disjoint_from_training(bundled: PrepResult) -> None:
    def prompts(path: Path | None) -> set[str]:
        assert path is not None
        return {r["messages"][1]["content"] for r in read_jsonl(path)}

    held_out = prompts(bundled.test_path)
    assert not held_out & prompts(bundled.train_path)
    assert not held_out & prompts(bundled.validation_path)
    companies = {
        name: {r["filename"].split("/")[0] for r in load(name)}
        for name in ("train.json", "dev.json", "test.json")
    }
    assert not companies["test.json"] & (companies["train.json"] | companies["dev.json"])
    assert not companies["train.json"] & companies["dev.json"]


def test_sample_files_are_a_byte_exact_rebuild(make_sample: ModuleType) -> None:
    assert make_sample.main(["--check"]) == 0
    assert make_sample.build_splits() == make_sample.build_splits()


def test_exe_ans_is_the_program_executed(make_sample: ModuleType) -> None:
    for name in ("train.json", "dev.json", "test.json"):
        for record in load(name):
            qa = record["qa"]
            steps = [
                (op, *[arg.strip() for arg in args.split(",")])
                for op, args in (step.rstrip(")").split("(") for step in qa["program"].split("), "))
            ]
            result = make_sample.run_program(steps)
            expected = result if isinstance(result, str) else round(result, 5)
            assert qa["exe_ans"] == expected, record["id"]


def test_sample_is_varied_like_finqa() -> None:
    records = load("train.json") + load("dev.json")
    answers = [r["qa"]["answer"] for r in records]
    cells = [cell for r in records for row in r["table"] for cell in row]
    assert sum(a.endswith("%") for a in answers) >= 20
    assert sum(a in ("yes", "no") for a in answers) >= 10
    assert sum(a.startswith("-") for a in answers) >= 10
    assert any(c.startswith("( ") and c.endswith(" )") for c in cells)
    assert any(c.startswith("$ ") and "," in c for c in cells)
    assert any("in millions" in c for c in cells)
    ops = {step.split("(")[0] for r in records for step in r["qa"]["program"].split("), ")}
    assert ops == {"add", "subtract", "divide", "greater"}


def test_every_sample_answer_text_earns_full_reward() -> None:
    """The answer text, given as the policy would give it, must match exe_ans under the reward."""
    from finqa_reward.scoring import score

    for name in ("train.json", "dev.json", "test.json"):
        for record in load(name):
            row = normalize_row(record)
            result = score(f"ANSWER: {row.answer_text}", {"answer": row.gold, "question": row.question})
            assert result.value == 1.0, record["id"]


def test_readme_says_the_sample_is_synthetic() -> None:
    readme = (SAMPLE_DIR / "README.md").read_text(encoding="utf-8")
    assert "illustrative and synthetic, NOT FinQA data" in readme
    assert "--source local --path" in readme and "refs/convert/parquet" in readme
