"""`rft new-task` in pieces: input checks, rendering, registrations, and all-or-nothing writing.

Everything here runs against a small fake repository in tmp_path, built from the pristine registry
below, never from this repository's files: a user's own tasks (which change tasks/registry.py) cannot
change what these tests see. The end-to-end run on a full copy is test_scaffold_e2e.py.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from data_prep.converters.jsonl_task import PromptReferenceConverter, render_messages
from data_prep.dedup import prompt_key
from data_prep.errors import RowError
from data_prep.rows import RawRow
from rft import new_task as scaffolding
from rft.cli import app
from rft.errors import UserError
from rft.templates import example_data, registrations, render
from tasks.spec import TaskSpec

REGISTRY = Path("tasks/registry.py")
# The registry as shipped: what a scaffold reads (task modules, the registry tuple, cdk.json's context).
PRISTINE = {
    "tasks/registry.py": '"""Registered tasks."""\n\nMODULES: tuple[str, ...] = (\n    "gsm8k",\n    "finqa",\n'
    '    "pandalm",\n)\n',
    "tasks/gsm8k.py": 'TASK = TaskSpec(name="gsm8k", stack_name="GsmRftStack", converter="c:C", reward_package="r")\n',
    "tasks/finqa.py": 'TASK = TaskSpec(name="finqa", stack_name="FinqaRftStack", converter="c:C", reward_package="r")\n',
    "tasks/pandalm.py": 'TASK = TaskSpec(name="pandalm", stack_name="PandalmRftStack", converter="c:C", reward_package="r")\n',
    "cdk.json": json.dumps({"app": "python app.py", "context": {"rft:region": "us-east-1"}}, indent=2) + "\n",
}


@pytest.fixture
def fake_root(tmp_path: Path) -> Path:
    """A repository holding just the pristine registry."""
    root = tmp_path / "repo"
    for name, text in PRISTINE.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text, encoding="utf-8")
    return root


def snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def write_jsonl(path: Path, rows: list[Any]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


# -- names and options --------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["Demo", "1task", "a", "my-task", "x" * 41, "demo math", "", "démo"])
def test_invalid_names_are_refused_with_the_rule(fake_root: Path, name: str) -> None:
    with pytest.raises(UserError, match="lower-case letters, digits and '_'"):
        scaffolding.plan(scaffolding.NewTaskRequest(name, "rlvr"), fake_root)


@pytest.mark.parametrize(
    "name",
    # project packages, modules a task's files would replace, keywords, soft keywords, and the names whose
    # class name (None, True, False) is a constant
    [
        *("rft", "stacks", "data_prep", "tasks", "tests", "rft_reward", "jsonl_task", "spec", "registry"),
        *("class", "match", "case", "none", "true", "false"),
    ],
)
def test_reserved_names_are_refused(fake_root: Path, name: str) -> None:
    with pytest.raises(UserError, match=r"^task name .* is reserved \(a Python or project name\)"):
        scaffolding.plan(scaffolding.NewTaskRequest(name, "rlvr"), fake_root)


def test_a_reward_suffix_is_refused(fake_root: Path) -> None:
    with pytest.raises(UserError, match="must not end in '_reward'"):
        scaffolding.plan(scaffolding.NewTaskRequest("my_reward", "rlvr"), fake_root)


@pytest.mark.parametrize("name", ["json", "typing", "os", "test", "boto3", "aws_cdk", "datasets", "pytest"])
def test_names_that_would_shadow_a_module_are_refused(fake_root: Path, name: str) -> None:
    with pytest.raises(UserError, match=rf"^task name '{name}' would shadow the Python module '{name}'"):
        scaffolding.plan(scaffolding.NewTaskRequest(name, "rlvr"), fake_root)


def test_a_name_whose_reward_package_is_taken_is_refused(
    fake_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "mine_reward.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(UserError, match="would shadow the Python module 'mine_reward'"):
        scaffolding.plan(scaffolding.NewTaskRequest("mine", "rlvr"), fake_root)


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        (scaffolding.NewTaskRequest("gsm8k", "rlvr"), "task 'gsm8k' already exists in tasks/gsm8k.py"),
        (
            scaffolding.NewTaskRequest("other", "rlvr", stack_name="GsmRftStack"),
            "already used by another task",
        ),
        (scaffolding.NewTaskRequest("other", "rlhf"), "--kind must be rlvr or rlaif"),
        (scaffolding.NewTaskRequest("other", "rlvr", stack_name="Bad-Name"), "like GsmRftStack"),
        (scaffolding.NewTaskRequest("other", "rlvr", judge_model="m"), "--judge-model is for --kind rlaif"),
        (
            scaffolding.NewTaskRequest("other", "rlaif", judge_model="no spaces please"),
            "not a Bedrock model id",
        ),
        (scaffolding.NewTaskRequest("other", "rlvr", description="two\nlines"), "one printable line"),
        (
            scaffolding.NewTaskRequest("prompt_reference_converter", "rlvr"),
            "the converter base class's name",
        ),
    ],
)
def test_conflicts_and_bad_options_are_refused(
    fake_root: Path, request_: scaffolding.NewTaskRequest, message: str
) -> None:
    with pytest.raises(UserError, match=message):
        scaffolding.plan(request_, fake_root)


def test_an_existing_reward_package_is_not_overwritten(fake_root: Path) -> None:
    (fake_root / "lambda" / "mine_reward").mkdir(parents=True)
    with pytest.raises(UserError, match="lambda/mine_reward already exists"):
        scaffolding.plan(scaffolding.NewTaskRequest("mine", "rlvr"), fake_root)


def test_an_existing_cdk_json_block_is_not_overwritten(fake_root: Path) -> None:
    cdk_json = fake_root / "cdk.json"
    document = json.loads(cdk_json.read_text())
    document["context"]["rft:mine"] = {}
    cdk_json.write_text(json.dumps(document))
    with pytest.raises(UserError, match="already has a `rft:mine` block, which would override"):
        scaffolding.plan(scaffolding.NewTaskRequest("mine", "rlvr"), fake_root)


def test_a_registered_name_without_its_module_is_still_taken(fake_root: Path) -> None:
    registry = fake_root / REGISTRY
    registry.write_text(registry.read_text().replace('"pandalm",', '"pandalm",\n    "orphan",'))
    with pytest.raises(UserError, match=r"task 'orphan' already exists in tasks/registry\.py"):
        scaffolding.plan(scaffolding.NewTaskRequest("orphan", "rlvr"), fake_root)


@pytest.mark.parametrize(
    ("registry", "message"),
    [
        ('MODULES = ("gsm8k", "finqa")\n', r"must keep MODULES one name per line with `\)` on its own line"),
        ('NAMES = (\n    "gsm8k",\n)\n', "must define MODULES as a tuple of module names"),
        ("MODULES = (\n    GSM8K,\n)\n", "must define MODULES as a tuple of module names"),
    ],
)
def test_a_reshaped_registry_names_the_file_and_the_fix(fake_root: Path, registry: str, message: str) -> None:
    (fake_root / REGISTRY).write_text(registry)
    with pytest.raises(
        UserError, match=rf"^tasks/registry\.py {message}.*git checkout -- tasks/registry\.py"
    ):
        scaffolding.plan(scaffolding.NewTaskRequest("mine", "rlvr"), fake_root)


def test_outside_the_repository_it_says_so(tmp_path: Path) -> None:
    with pytest.raises(UserError, match=r"^tasks/registry\.py not found in .*; run rft new-task inside the"):
        scaffolding.plan(scaffolding.NewTaskRequest("mine", "rlvr"), tmp_path)


# -- the user's JSONL ----------------------------------------------------------------------------------


def good_rows(count: int = 200) -> list[dict[str, Any]]:
    return [{"prompt": f"What is {i} + 1?", "reference": str(i + 1)} for i in range(count)]


def test_rows_are_read_and_blank_lines_skipped(tmp_path: Path) -> None:
    path = tmp_path / "rows.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in good_rows()) + "\n\n", encoding="utf-8")
    assert scaffolding.read_rows(path) == good_rows()


def test_every_bad_row_is_reported_with_its_line(tmp_path: Path) -> None:
    lines = [json.dumps(r) for r in good_rows(3)] + [
        '{"prompt": "", "reference": "1"}',
        "not json",
        '{"prompt": "q", "reference": NaN}',
        '{"prompt": "q"}',
        '{"prompt": "q", "reference": "1", "system": 5}',
        "[1, 2]",
    ]
    path = tmp_path / "bad.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(UserError) as raised:
        scaffolding.read_rows(path)
    message = raised.value.message
    assert "non-empty 'prompt' string: line 4;" in message
    assert "strict JSON: no NaN or Infinity): lines 5, 6;" in message
    assert "non-empty 'reference' (the answer or notes the reward checks against): line 7;" in message
    assert "optional 'system' is a string: line 8;" in message
    assert "a row is a JSON object: line 9." in message
    assert 'Fix: each line must be a JSON object {"prompt"' in message


def test_too_few_rows_for_bedrocks_minimums(tmp_path: Path) -> None:
    with pytest.raises(UserError, match=r"has 199 rows; .* at least 200 rows"):
        scaffolding.read_rows(write_jsonl(tmp_path / "few.jsonl", good_rows(199)))


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"[{}]", "looks like one JSON array"),
        (b"\xff\xfe{}", "is not UTF-8 text"),
    ],
)
def test_unreadable_files_say_why(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "rows.jsonl"
    path.write_bytes(content)
    with pytest.raises(UserError, match=message):
        scaffolding.read_rows(path)


def test_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="no such file"):
        scaffolding.read_rows(tmp_path / "nope.jsonl")


def test_a_utf8_bom_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "bom.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + "".join(json.dumps(r) + "\n" for r in good_rows()).encode())
    assert len(scaffolding.read_rows(path)) == 200


def test_prompt_token_limit_covers_the_longest_prompt_with_room() -> None:
    assert scaffolding.prompt_token_limit(good_rows(), "sys", "{prompt}") == 512
    long_row = {"prompt": "x" * 3000, "reference": "1"}  # 1,000 estimated tokens, plus 25% -> 1,280
    assert scaffolding.prompt_token_limit([long_row], "", "{prompt}") == 1280
    own_system = {"prompt": "q", "reference": "1", "system": "s" * 6000}
    assert scaffolding.prompt_token_limit([own_system], "", "{prompt}") == 2560


# -- rendering and registrations ------------------------------------------------------------------------


def test_render_fills_placeholders_and_keeps_other_braces() -> None:
    assert render('{"a": {{x}}} {x}', {"x": "1"}) == '{"a": 1} {x}'
    with pytest.raises(KeyError, match="nmae"):
        render("{{nmae}}", {"name": "x"})


def test_the_spec_module_declares_the_task_and_names_its_parts() -> None:
    data = {"source": "bundled", "seed": 13, "validationSize": 100}
    for kind in ("rlvr", "rlaif"):
        source = registrations.spec_module(
            name="mine",
            class_name="Mine",
            stack_name="MineRftStack",
            description='a "quoted" task',
            kind=kind,
            max_tokens=768,
            data=data,
            judge_model="m.x",
        )
        namespace: dict[str, Any] = {}
        exec(compile(source, "tasks/mine.py", "exec"), namespace)
        spec = namespace["TASK"]
        assert isinstance(spec, TaskSpec)
        assert (spec.name, spec.stack_name, spec.kind, spec.description) == (
            "mine",
            "MineRftStack",
            kind,
            'a "quoted" task',
        )
        assert (spec.converter, spec.reward_package) == ("data_prep.converters.mine:Mine", "mine_reward")
        assert spec.reward_handler == "mine_reward.handler.lambda_handler" and spec.rehearsal is None
        assert spec.hyperparameters["maxPromptLength"] == 768 and dict(spec.data) == data
        if kind == "rlaif":
            assert spec.judge is not None and spec.judge.model_id == "m.x"
            assert spec.hyperparameters["batchSize"] == 16 and spec.reward_reserved_concurrency == 10
        else:
            assert spec.judge is None and "JudgeSpec" not in source


def test_import_block_follows_isort_natural_order() -> None:
    block = registrations.import_block(
        ["pytest"], [("task10_reward.x", "a"), ("hypothesis", "b"), ("task2_reward.x", "c"), ("Zeta", "d")]
    )
    assert block.splitlines() == [
        "import pytest",
        "from hypothesis import b",
        "from task2_reward.x import c",
        "from task10_reward.x import a",
        "from Zeta import d",
    ]


@pytest.mark.parametrize("name", ["aardvark", "gsm9", "zebra"])
def test_registering_appends_one_line_whatever_the_name(name: str) -> None:
    pristine = PRISTINE["tasks/registry.py"]
    text = registrations.register_task(pristine, name, REGISTRY)
    assert text == pristine.replace('    "pandalm",\n)', f'    "pandalm",\n    "{name}",\n)')
    assert registrations.registered_modules(text, REGISTRY) == ["gsm8k", "finqa", "pandalm", name]


def test_a_last_entry_without_its_comma_gets_one() -> None:
    """Otherwise Python would join the two strings into one module name."""
    text = registrations.register_task(
        'MODULES = (\n    "gsm8k",\n    "finqa"  # note\n)\n', "mine", REGISTRY
    )
    assert text == 'MODULES = (\n    "gsm8k",\n    "finqa",  # note\n    "mine",\n)\n'
    assert registrations.registered_modules(text, REGISTRY) == ["gsm8k", "finqa", "mine"]


def test_the_plan_edits_only_the_registry_and_never_cdk_json(fake_root: Path) -> None:
    scaffold = scaffolding.plan(scaffolding.NewTaskRequest("mine", "rlaif"), fake_root)
    assert list(scaffold.edits) == [fake_root / REGISTRY]
    assert fake_root / "cdk.json" not in scaffold.new_files
    assert fake_root / "tasks" / "mine.py" in scaffold.new_files
    assert scaffold.edits[fake_root / REGISTRY].endswith('    "pandalm",\n    "mine",\n)\n')


def test_without_cdk_json_the_scaffold_still_plans(fake_root: Path) -> None:
    (fake_root / "cdk.json").unlink()
    assert scaffolding.plan(scaffolding.NewTaskRequest("mine", "rlvr"), fake_root).name == "mine"


# -- the generic converter --------------------------------------------------------------------------------


class Mine(PromptReferenceConverter):
    name = "mine"
    system_prompt = "Be exact."
    prompt_template = 'Q: {prompt}\nReply as JSON: {"answer": ...}'


def test_the_converter_renders_system_and_template_and_keeps_the_reference() -> None:
    reference = {"answer": 42, "unit": "kg"}
    (record,) = Mine().to_records(
        RawRow({"prompt": " 6 x 7? ", "reference": reference}, "train", 3, "f:4"), "train"
    )
    assert record == {
        "id": "mine-train-00003",
        "messages": [
            {"role": "system", "content": "Be exact."},
            {"role": "user", "content": 'Q: 6 x 7?\nReply as JSON: {"answer": ...}'},
        ],
        "reference_answer": reference,
    }


def test_a_rows_own_system_prompt_wins() -> None:
    row = RawRow({"prompt": "p", "reference": "r", "system": "Row system."}, "train", 0, "f:1")
    assert Mine().to_records(row, "train")[0]["messages"][0] == {"role": "system", "content": "Row system."}
    assert render_messages("p", system=None) == [{"role": "user", "content": "p"}]


@pytest.mark.parametrize(
    "data", [{"prompt": "p"}, {"prompt": " ", "reference": "r"}, {"reference": "r"}, ["p"]]
)
def test_rows_the_converter_cannot_use_raise_row_error(data: Any) -> None:
    with pytest.raises(RowError) as raised:
        Mine().to_records(RawRow(data, "train", 0, "f:1"), "train")
    assert "prompt" in raised.value.fix and "reference" in raised.value.fix


def test_prompts_differing_in_whitespace_or_case_are_one_prompt() -> None:
    a, b = (
        Mine().to_records(RawRow({"prompt": prompt, "reference": "r"}, "train", 0, "f:1"), "train")[0]
        for prompt in ("  What   is\nIt? ", "what is it?")
    )
    assert prompt_key(a) == prompt_key(b)  # so data_prep keeps only one of them (data_prep/dedup.py)


# -- the example data ---------------------------------------------------------------------------------


def test_example_datasets_meet_bedrocks_minimums_and_are_deterministic() -> None:
    for rows in (example_data.rlvr_rows(), example_data.rlaif_rows()):
        assert len(rows) == example_data.EXAMPLE_ROWS >= scaffolding.MIN_ROWS
        assert len({row["prompt"] for row in rows}) == len(rows)
    assert example_data.rlvr_rows() == example_data.rlvr_rows()
    assert all(float(row["reference"]) >= 0 for row in example_data.rlvr_rows())


def test_rlvr_rollouts_pair_each_prompt_with_right_wrong_and_unmarked_answers() -> None:
    rows = example_data.rlvr_rows()
    rollouts = example_data.rlvr_rollouts(rows, lambda row: [{"role": "user", "content": row["prompt"]}])
    assert len(rollouts) == 3 * example_data.RLVR_ROLLOUT_PROMPTS
    first = [r for r in rollouts if r["prompt_id"] == "row-00000"]
    assert [(r["variant"], r["label"]) for r in first] == [
        ("correct", True),
        ("wrong", False),
        ("unmarked", False),
    ]
    assert first[0]["response"].endswith(f"ANSWER: {rows[0]['reference']}")
    assert rows[0]["reference"] not in first[1]["response"].rsplit("ANSWER:", 1)[1]


def test_rlvr_rollouts_skip_references_the_example_scorer_cannot_read() -> None:
    rows = [{"prompt": "p", "reference": [1]}, {"prompt": "q", "reference": {"answer": "Paris"}}]
    rollouts = example_data.rlvr_rollouts(rows, lambda row: [])
    assert {r["prompt_id"] for r in rollouts} == {"row-00001"}
    assert rollouts[1]["response"].endswith("ANSWER: not Paris")


def test_rlaif_rollouts_for_a_users_rows_use_the_reference_unlabeled() -> None:
    rows = [{"prompt": "Say hi.", "reference": "Hi there!"}]
    rollouts = example_data.rlaif_rollouts(rows, lambda row: [])
    assert [(r["variant"], r["label"]) for r in rollouts] == [
        ("the reference itself", None),
        ("refusal", False),
    ]


# -- all or nothing ---------------------------------------------------------------------------------------


def test_a_failed_check_rolls_everything_back(fake_root: Path) -> None:
    """The fake repository has no lambda/rft_reward or data_prep, so the fresh-interpreter check fails."""
    before = snapshot(fake_root)
    with pytest.raises(UserError, match=r"failed its own check .*; nothing was kept"):
        scaffolding.new_task(scaffolding.NewTaskRequest("mine", "rlvr"), fake_root)
    assert snapshot(fake_root) == before
    assert sorted(p.relative_to(fake_root).as_posix() for p in fake_root.rglob("*") if p.is_dir()) == [
        "tasks"
    ]


def test_a_write_error_midway_rolls_everything_back(fake_root: Path) -> None:
    (fake_root / "tests").write_text("a file where the tests folder should be")
    before = snapshot(fake_root)
    with pytest.raises(UserError, match=r"could not write the new task .*; nothing was kept"):
        scaffolding.new_task(scaffolding.NewTaskRequest("mine", "rlvr"), fake_root)
    assert snapshot(fake_root) == before
    assert not (fake_root / "lambda").exists() and not (fake_root / "data_prep" / "samples").exists()


def test_the_cli_prints_one_error_line_and_no_traceback(
    fake_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("rft.project.REPO_ROOT", fake_root)
    result = CliRunner().invoke(app, ["new-task", "gsm8k", "--kind", "rlvr"])
    assert result.exit_code == 1
    assert (
        result.output.strip() == "error: task 'gsm8k' already exists in tasks/gsm8k.py; choose another name"
    )
    assert "Traceback" not in result.output


def test_the_cli_requires_kind(fake_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("rft.project.REPO_ROOT", fake_root)
    result = CliRunner().invoke(app, ["new-task", "mine"])
    assert result.exit_code == 2 and "--kind" in result.output


def test_the_invoke_batch_is_what_bedrock_sends() -> None:
    rows = example_data.rlvr_rows()
    rollouts = example_data.rlvr_rollouts(rows, lambda row: [{"role": "user", "content": row["prompt"]}])
    batch = json.loads(example_data.invoke_batch(rollouts))
    assert len(batch) == example_data.INVOKE_SAMPLES
    assert batch[0] == {
        "id": "row-00000/correct",
        "messages": [
            {"role": "user", "content": rows[0]["prompt"]},
            {
                "role": "assistant",
                "content": f"Working it through step by step.\nANSWER: {rows[0]['reference']}",
            },
        ],
        "reference_answer": rows[0]["reference"],
    }


@pytest.mark.parametrize(
    ("file", "content", "message"),
    [
        ("tasks/registry.py", "MODULES = (\n", r"tasks/registry\.py does not parse"),
        ("tasks/gsm8k.py", "TASK = TaskSpec(\n", r"tasks/gsm8k\.py does not parse"),
        ("cdk.json", "{not json", r"cdk\.json is not a valid CDK settings file"),
    ],
)
def test_a_broken_file_to_edit_is_reported_not_a_traceback(
    fake_root: Path, file: str, content: str, message: str
) -> None:
    (fake_root / file).write_text(content)
    with pytest.raises(UserError, match=message):
        scaffolding.plan(scaffolding.NewTaskRequest("mine", "rlvr"), fake_root)
