"""The task registry (`tasks/`) is the one place a task is declared, and everything reads it.

The CDK app, data_prep, the CLI and `make demo` all take their task lists from `tasks.TASKS`; every
part a spec names (converter, reward package, rehearsal) must exist. Parametrized over the live
registry, so a user's own tasks are checked the same way as the built-in ones.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import data_prep
import tasks
from data_prep import Converter, DataPrepError
from rft import project
from rft.errors import UserError
from rft.rehearse.sources import TaskRehearsal, rehearsal_for
from tasks.spec import TaskRegistryError, TaskSpec, resolve

REPO_ROOT = Path(__file__).resolve().parents[2]
BUILT_IN = ["gsm8k", "finqa", "pandalm"]


def spec(**changes: object) -> TaskSpec:
    fields: dict[str, object] = {
        "name": "mine",
        "stack_name": "MineRftStack",
        "description": "d",
        "converter": "data_prep.converters.gsm8k:Gsm8k",
        "reward_package": "mine_reward",
    }
    return TaskSpec(**{**fields, **changes})  # type: ignore[arg-type]


def test_the_built_in_tasks_come_first_in_registry_order() -> None:
    assert tasks.names()[:3] == BUILT_IN
    assert tasks.stack_names()[:3] == ["GsmRftStack", "FinqaRftStack", "PandalmRftStack"]
    assert tasks.task_for_stack("FinqaRftStack") is tasks.task_by_name("finqa")


@pytest.mark.parametrize("task", tasks.TASKS, ids=lambda t: t.name)
def test_every_part_a_spec_names_exists(task: TaskSpec) -> None:
    converter = data_prep.get_task(task.name)
    assert isinstance(converter, Converter) and converter.name == task.name
    assert (REPO_ROOT / "lambda" / task.reward_package / "handler.py").is_file()
    assert task.reward_handler == f"{task.reward_package}.handler.lambda_handler"
    if task.rehearsal is not None:
        assert isinstance(resolve(task.rehearsal), TaskRehearsal)
        assert rehearsal_for(task.name) is resolve(task.rehearsal)


def test_data_prep_and_the_cli_list_exactly_the_registry() -> None:
    assert list(data_prep.TASKS) == tasks.names() and len(data_prep.TASKS) == len(tasks.TASKS)
    assert project.known_task_names() == tasks.names()
    assert project.known_stack_names() == tasks.stack_names()
    assert project.resolve_stack("pandalm") == "PandalmRftStack"
    assert project.task_for_stack("NoSuchStack") is None and project.task_spec("nope") is None


def test_an_unknown_task_is_one_clear_error_everywhere() -> None:
    with pytest.raises(DataPrepError, match=r"unknown task 'sudoku'; known tasks: .*gsm8k"):
        data_prep.get_task("sudoku")
    with pytest.raises(UserError, match=r"unknown task 'sudoku'; known tasks: gsm8k, finqa, pandalm"):
        project.reward_handler_path("sudoku")
    with pytest.raises(KeyError, match="unknown stack 'Nope'"):
        tasks.task_for_stack("Nope")
    assert "sudoku" not in data_prep.TASKS
    with pytest.raises(KeyError):
        data_prep.TASKS["sudoku"]


def test_the_makefile_lists_come_from_the_registry() -> None:
    for command, expected in (("names", tasks.names()), ("stacks", tasks.stack_names())):
        result = subprocess.run(
            [sys.executable, "-m", "tasks", command],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
        assert result.stdout.split() == expected
    wrong = subprocess.run(
        [sys.executable, "-m", "tasks", "all"], cwd=REPO_ROOT, capture_output=True, text=True
    )
    assert wrong.returncode == 1 and wrong.stderr.strip() == "usage: python -m tasks names|stacks"
    makefile = (REPO_ROOT / "Makefile").read_text()
    assert "TASKS = $(shell $(PY) -m tasks names)" in makefile
    assert "STACKS = $(shell $(PY) -m tasks stacks)" in makefile


def test_importing_the_registry_imports_no_cdk_data_prep_or_cli() -> None:
    probe = (
        "import json, sys, tasks; "
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules} & "
        "{'aws_cdk', 'constructs', 'data_prep', 'rft', 'stacks', 'boto3', 'botocore'})))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    )
    assert json.loads(result.stdout) == []


def test_two_tasks_with_one_name_or_stack_are_refused() -> None:
    with pytest.raises(TaskRegistryError, match="share the name 'mine'"):
        tasks.checked([spec(), spec(stack_name="Other")])
    with pytest.raises(TaskRegistryError, match="share the stack_name 'MineRftStack'"):
        tasks.checked([spec(), spec(name="other")])
    assert tasks.checked([spec(), spec(name="b", stack_name="B")])[1].name == "b"


def test_a_registry_line_without_its_module_says_which() -> None:
    with pytest.raises(
        TaskRegistryError, match=r"lists 'nope_missing' but there is no tasks/nope_missing\.py"
    ):
        tasks.load("nope_missing")


@pytest.mark.parametrize(
    ("reference", "message"),
    [
        ("data_prep.converters.gsm8k", "must be written as 'package.module:attribute'"),
        ("data_prep.converters.nope:X", "cannot import data_prep.converters.nope"),
        ("data_prep.converters.gsm8k:Nope", "data_prep.converters.gsm8k has no 'Nope'"),
    ],
)
def test_a_bad_reference_is_worded_as_the_fix(reference: str, message: str) -> None:
    with pytest.raises(TaskRegistryError, match=message):
        resolve(reference)


def test_a_converter_for_another_task_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """The converter's name is its record id prefix and output folder, so it must be the task's."""
    monkeypatch.setattr(tasks, "TASKS", (*tasks.TASKS, spec()))
    with pytest.raises(
        DataPrepError, match=r"converter 'data_prep.converters.gsm8k:Gsm8k' must be .* named 'mine'"
    ):
        data_prep.get_task("mine")
