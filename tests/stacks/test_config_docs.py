"""The README's configuration tables and `rft config` agree with the real defaults and ranges.

The tables are parsed, so a default, a range or a key that changes in the code (or the README)
without the other fails here.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rft.cli import app as rft_app
from rft.config_view import shown_value
from stacks.config import (
    APP_DEFAULTS,
    DATA_OPTIONS,
    HYPERPARAMETER_SPECS,
    JUDGE_MAX_CONCURRENCY_RANGE,
    JUDGE_SETTINGS,
    JUDGE_TIMEOUT_S_RANGE,
    TASK_SETTINGS,
    VERDICT_WEIGHT_RANGE,
    Context,
    load_config,
)
from tasks import TASKS

README = Path(__file__).resolve().parents[2] / "README.md"
NOT_SET = "—"


def section(text: str, heading: str) -> str:
    start = text.index(f"\n## {heading}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else None]


def tables(markdown: str) -> list[list[list[str]]]:
    """Every pipe table in `markdown`, as rows of cells without the header separator."""
    found: list[list[list[str]]] = []
    current: list[list[str]] = []
    for line in [*markdown.splitlines(), ""]:
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if not all(set(c) <= {"-", " ", ":"} for c in cells):
                current.append(cells)
        elif current:
            found.append(current)
            current = []
    return found


def code(cell: str) -> str:
    """`x` -> x; the README writes values as inline code."""
    match = re.fullmatch(r"`([^`]*)`", cell)
    return match.group(1) if match else cell


@pytest.fixture(scope="module")
def config_tables() -> tuple[list[list[str]], list[list[str]]]:
    app_table, task_table = tables(section(README.read_text(encoding="utf-8"), "Configuration"))[:2]
    return app_table, task_table


def test_the_app_table_lists_every_app_key_with_its_real_default(config_tables):
    app_table, _ = config_tables
    header, *rows = app_table
    assert header == ["key", "default", "meaning"]
    documented = {code(key): code(default) for key, default, _ in rows}
    assert documented == {key: shown_value(value) for key, value in APP_DEFAULTS.items()}


def test_the_task_table_lists_every_task_key_with_each_tasks_real_default(config_tables):
    _, task_table = config_tables
    header, *rows = task_table
    names = [t.name for t in TASKS if t.name in header]
    assert header[:3] == ["name", "in", "allowed"] and names == ["gsm8k", "finqa", "pandalm"]
    documented = {code(row[0]): row for row in rows}
    assert set(documented) == {*HYPERPARAMETER_SPECS, *DATA_OPTIONS, *TASK_SETTINGS}
    for task in TASKS:
        if task.name not in header:
            continue
        column = header.index(task.name)
        effective = {
            s.key.rsplit(":", 1)[1]: shown_value(s.value)
            for s in load_config(task, Context({})).provenance
            if s.key.startswith(f"rft:{task.name}:")
        }
        for name, row in documented.items():
            assert code(row[column]) == effective.get(name, NOT_SET), (task.name, name)


def test_the_task_table_shows_the_real_ranges(config_tables):
    _, task_table = config_tables
    documented = {code(row[0]): (row[1], row[2]) for row in task_table[1:]}
    for name, spec in HYPERPARAMETER_SPECS.items():
        where, allowed = documented[name]
        assert where == "hyperParameters"
        if spec.choices:
            expected = ", ".join(f"`{c}`" for c in spec.choices)
        elif spec.maximum is None:
            expected = f"`≥{spec.minimum:g}`"
        else:
            expected = f"`{spec.minimum:g}`–`{spec.maximum:g}`"
        assert allowed == expected, name
    judge_ranges = {
        "verdictWeight": VERDICT_WEIGHT_RANGE,
        "judgeMaxConcurrency": JUDGE_MAX_CONCURRENCY_RANGE,
        "judgeTimeoutS": JUDGE_TIMEOUT_S_RANGE,
    }
    for name, (low, high) in judge_ranges.items():
        assert documented[name] == ("top level", f"`{low:g}`–`{high:g}`"), name
    assert all(documented[name][0] == "data" for name in DATA_OPTIONS)
    assert all(documented[name][0] == "top level" for name in (*JUDGE_SETTINGS, "rewardReservedConcurrency"))


# -- rft config -----------------------------------------------------------------------------------
def test_rft_config_prints_each_value_with_its_source(tmp_path, monkeypatch):
    cdk_json = tmp_path / "cdk.json"
    cdk_json.write_text(json.dumps({"context": {"rft:gsm8k": {"hyperParameters": {"batchSize": 64}}}}))
    monkeypatch.setattr("rft.config_view.CDK_JSON", cdk_json)
    result = CliRunner().invoke(rft_app, ["config", "GsmRftStack", "-c", "rft:gsm8k:epochCount=3"])
    assert result.exit_code == 0, result.output
    rows = {line.split()[0]: line.split()[1:] for line in result.output.splitlines()[1:]}
    assert rows["rft:gsm8k:epochCount"] == ["-c", "3"]
    assert rows["rft:gsm8k:batchSize"] == ["cdk.json", "64"]
    assert rows["rft:gsm8k:learningRate"] == ["default", "5e-05"]
    assert rows["rft:region"] == ["default", "us-east-1"]


def test_rft_config_json_and_the_synth_error_for_a_misspelled_key(tmp_path, monkeypatch):
    monkeypatch.setattr("rft.config_view.CDK_JSON", tmp_path / "absent.json")
    result = CliRunner().invoke(rft_app, ["config", "pandalm", "--json"])
    assert result.exit_code == 0, result.output
    settings = {s["key"]: s for s in json.loads(result.output)["settings"]}
    assert settings["rft:pandalm:judgeModelId"] == {
        "key": "rft:pandalm:judgeModelId",
        "value": "us.amazon.nova-pro-v1:0",
        "source": "default",
    }
    bad = CliRunner().invoke(rft_app, ["config", "gsm8k", "-c", "rft:gsm8k:epochcount=2"])
    assert bad.exit_code == 1
    assert "did you mean `rft:gsm8k:epochCount`?" in bad.output and "Traceback" not in bad.output
    unknown = CliRunner().invoke(rft_app, ["config", "NoSuchStack"])
    assert unknown.exit_code == 1 and "unknown task or stack 'NoSuchStack'" in unknown.output


# -- the Models section: the model table and the open-weight hyperparameters --------------------------
@pytest.fixture(scope="module")
def model_tables() -> tuple[list[list[str]], list[list[str]]]:
    models, hyperparameters, *_ = tables(section(README.read_text(encoding="utf-8"), "Models"))
    return models, hyperparameters


def test_the_model_table_is_the_code_table(model_tables):
    from stacks.config import RFT_MODELS

    header, *rows = model_tables[0]
    assert header == ["model", "`rft:baseModel`", "API model id", "region", "job backend"]
    documented = [
        (
            name,
            tuple(code(i.strip()) for i in ids.split(",")),
            code(api),
            tuple(code(r.strip()) for r in regions.split(",")),
            code(backend),
        )
        for name, ids, api, regions, backend in rows
    ]
    assert documented == [(m.name, m.ids, m.api_model_id, m.regions, m.backend) for m in RFT_MODELS]


def test_the_open_weight_hyperparameter_table_is_the_code_table(model_tables):
    from stacks.config import OPEN_WEIGHT_DEFAULTS, OPEN_WEIGHT_HYPERPARAMETER_SPECS

    header, *rows = model_tables[1]
    assert header == ["name", "allowed", "default", "in the Bedrock docs"]
    documented = {code(name): (allowed, code(default), in_docs) for name, allowed, default, in_docs in rows}
    assert list(documented) == list(OPEN_WEIGHT_HYPERPARAMETER_SPECS)
    for name, spec in OPEN_WEIGHT_HYPERPARAMETER_SPECS.items():
        allowed, default, in_docs = documented[name]
        if spec.choices:
            expected = ", ".join(f"`{c}`" for c in spec.choices)
        else:
            kind = "a whole number" if spec.kind is int else "a number"
            expected = f"{kind} {'>' if spec.exclusive_minimum else '≥'} {spec.minimum:g}"
            expected += ", or `auto`" if spec.auto else ""
        assert allowed == expected, name
        assert default == (
            shown_value(OPEN_WEIGHT_DEFAULTS[name]) if name in OPEN_WEIGHT_DEFAULTS else NOT_SET
        ), name
        assert in_docs == ("yes" if spec.documented else "no"), name
