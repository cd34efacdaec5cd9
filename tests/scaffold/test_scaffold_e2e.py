"""`rft new-task` end to end, in a throwaway copy of the repository, exactly as a user would run it.

Three tasks are scaffolded with no hand edits: an RLVR task from the generated example data, an
RLAIF task from the generated example data, and an RLVR task from a user's own JSONL. Then, in the
copy: the generated files are lint-clean, the generated tests pass (the RLAIF ones against a
loopback judge, never AWS), each new stack synthesizes with cdk-nag and passes the same stack tests
as the built-in tasks (tests/stacks/test_task_stacks.py), and `rft rehearse` scores the bundled
rollouts as labeled. The real repository is never touched.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from rft.templates import example_data
from tests.scaffold.repo_copy import REPO_ROOT, copy_repo

pytestmark = pytest.mark.slow

RLVR, RLAIF, FROM_JSONL = "demo_math", "brand_voice", "support_qa"
NAMES = (RLVR, RLAIF, FROM_JSONL)
WATCHED = ("tasks/registry.py", "cdk.json")


def fingerprint(root: Path) -> dict[str, str]:
    """What a scaffold would change in a repository: the edited files and the new task folders."""
    state = {name: hashlib.sha256((root / name).read_bytes()).hexdigest() for name in WATCHED}
    for name in NAMES:
        paths = (
            f"tasks/{name}.py",
            f"lambda/{name}_reward",
            f"data_prep/converters/{name}.py",
            f"data_prep/samples/{name}",
            f"tests/tasks/test_{name}_reward.py",
        )
        state[name] = str([path for path in paths if (root / path).exists()])
    return state


def run(repo: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "AWS_")) and k != "PYTHONPATH"}
    env.update(AWS_EC2_METADATA_DISABLED="true", PYTHONDONTWRITEBYTECODE="1")
    return subprocess.run(
        [sys.executable, *args],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def user_rows(count: int = 210) -> list[dict[str, object]]:
    """A user's own file: questions with text answers, some with their own system prompt."""
    capitals = ["Paris", "Rome", "Madrid", "Lisbon", "Berlin", "Vienna", "Oslo"]
    rows: list[dict[str, object]] = []
    for i in range(count):
        city = capitals[i % len(capitals)]
        row: dict[str, object] = {"prompt": f"Ticket {i}: which city is office {city[:2].upper()}-{i}?"}
        row["reference"] = {"answer": city} if i % 3 == 0 else city
        if i % 5 == 0:
            row["system"] = "You answer support tickets with a city name."
        rows.append(row)
    return rows


@pytest.fixture(scope="module")
def scaffolded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, dict[str, str]]]:
    before = fingerprint(REPO_ROOT)
    repo = copy_repo(tmp_path_factory.mktemp("scaffold") / "repo")
    (repo.parent / "cdk.json.before").write_bytes((repo / "cdk.json").read_bytes())
    rows_file = repo.parent / "tickets.jsonl"
    rows_file.write_text(example_data.to_jsonl(user_rows()), encoding="utf-8")
    commands = {
        RLVR: ["--kind", "rlvr"],
        RLAIF: ["--kind", "rlaif"],
        FROM_JSONL: ["--kind", "rlvr", "--from-jsonl", str(rows_file), "--stack-name", "SupportQaStack"],
    }
    outputs: dict[str, str] = {}
    for name, options in commands.items():
        result = run(repo, "-m", "rft", "new-task", name, *options)
        assert result.returncode == 0, result.stdout + result.stderr
        outputs[name] = result.stdout
    yield repo, outputs
    assert fingerprint(REPO_ROOT) == before, "the scaffold test changed the real repository"


def test_the_scaffold_reports_what_it_made_and_what_to_run_next(
    scaffolded: tuple[Path, dict[str, str]],
) -> None:
    repo, outputs = scaffolded
    output = outputs[RLVR]
    assert output.startswith("Created task demo_math (RLVR, checked in code), stack DemoMathRftStack:")
    for path in (
        "tasks/demo_math.py",
        "data_prep/converters/demo_math.py",
        "data_prep/samples/demo_math/train.jsonl",
        "lambda/demo_math_reward/scoring.py",
        "lambda/demo_math_reward/handler.py",
        "tests/tasks/test_demo_math_reward.py",
    ):
        assert f"  {path} " in output and (repo / path).is_file()
    assert "Checked: data_prep demo_math -> 140 training + 100 validation records" in output
    assert "rft rehearse demo_math --responses data_prep/samples/demo_math/rollouts.jsonl" in output
    assert "npx cdk synth DemoMathRftStack" in output and "npx cdk deploy DemoMathRftStack" in output
    assert "--judge bedrock" in outputs[RLAIF]
    assert "Checked: data_prep support_qa -> 110 training + 100 validation records" in outputs[FROM_JSONL]


def test_each_task_is_one_module_and_one_registry_line(scaffolded: tuple[Path, dict[str, str]]) -> None:
    repo, _ = scaffolded
    registry = (repo / "tasks" / "registry.py").read_text()
    assert registry.endswith('\n    "demo_math",\n    "brand_voice",\n    "support_qa",\n)\n')
    assert (repo / "cdk.json").read_bytes() == (repo.parent / "cdk.json.before").read_bytes()
    listed = run(repo, "-m", "tasks", "names")
    assert listed.returncode == 0 and listed.stdout.split()[-3:] == list(NAMES)
    stacks = run(repo, "-m", "tasks", "stacks").stdout.split()
    assert stacks[-3:] == ["DemoMathRftStack", "BrandVoiceRftStack", "SupportQaStack"]
    spec = (repo / "tasks" / "brand_voice.py").read_text()
    assert 'judge=JudgeSpec(model_id="us.amazon.nova-pro-v1:0")' in spec
    assert 'converter="data_prep.converters.brand_voice:BrandVoice"' in spec
    assert '"maxPromptLength": 512' in (repo / "tasks" / "demo_math.py").read_text()
    copied = (repo / "data_prep" / "samples" / FROM_JSONL / "train.jsonl").read_text().splitlines()
    assert [json.loads(line) for line in copied] == user_rows()


def test_generated_and_edited_files_pass_ruff(scaffolded: tuple[Path, dict[str, str]]) -> None:
    repo, _ = scaffolded
    ruff = Path(sys.executable).with_name("ruff")
    targets = ["tasks", "tests/tasks", *(f"lambda/{n}_reward" for n in NAMES)]
    targets += [f"data_prep/converters/{n}.py" for n in NAMES]
    for command in (["check"], ["format", "--check"]):
        result = subprocess.run(
            [str(ruff), *command, *targets], cwd=repo, capture_output=True, text=True, timeout=60, check=False
        )
        assert result.returncode == 0, result.stdout + result.stderr


def test_generated_tests_pass_and_each_stack_synthesizes_with_cdk_nag(
    scaffolded: tuple[Path, dict[str, str]],
) -> None:
    """The generated tests, plus the built-in tasks' stack tests (synth with cdk-nag) for each new stack."""
    repo, _ = scaffolded
    result = run(
        repo,
        "-m",
        "pytest",
        "-vv",  # with addopts' -q: one line per test
        "-p",
        "no:cacheprovider",
        "tests/tasks",
        "tests/stacks/test_task_stacks.py",
        "-k",
        " or ".join(NAMES),
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert " FAILED" not in result.stdout and " SKIPPED" not in result.stdout
    for name in NAMES:
        for test in (
            f"tests/tasks/test_{name}_reward.py::test_the_handler_honours_the_contract_for_any_batch",
            f"tests/stacks/test_task_stacks.py::test_reward_function_runs_the_tasks_handler[{name}]",
            f"tests/stacks/test_task_stacks.py::test_each_function_asset_ships_only_its_own_packages[{name}]",
            f"tests/stacks/test_task_stacks.py::test_job_uses_the_hyperparameters_in_cdk_json[{name}]",
            f"tests/stacks/test_task_stacks.py::test_data_assets_meet_bedrock_minimums[{name}]",
        ):
            assert f"{test} PASSED" in result.stdout, f"{test} did not pass:\n{result.stdout[-3000:]}"


def test_rehearse_scores_the_bundled_rollouts_as_labeled(
    scaffolded: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    repo, _ = scaffolded
    for name, rollouts in ((RLVR, 150), (FROM_JSONL, 150)):
        result = run(
            repo,
            "-m",
            "rft",
            "rehearse",
            name,
            "--responses",
            f"data_prep/samples/{name}/rollouts.jsonl",
            "--out",
            str(tmp_path),
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert f"{rollouts}/{rollouts} (100.0%)" in result.stdout
        report = json.loads((tmp_path / f"rehearse-{name}.json").read_text())
        assert report["degenerate"] == []


def test_an_rlaif_task_is_not_rehearsed_offline_by_accident(scaffolded: tuple[Path, dict[str, str]]) -> None:
    repo, _ = scaffolded
    result = run(
        repo, "-m", "rft", "rehearse", RLAIF, "--responses", f"data_prep/samples/{RLAIF}/rollouts.jsonl"
    )
    assert result.returncode == 1
    assert "calls a judge model; rehearse it with --judge bedrock" in result.stderr


def test_a_second_scaffold_of_the_same_name_changes_nothing(scaffolded: tuple[Path, dict[str, str]]) -> None:
    repo, _ = scaffolded
    before = fingerprint(repo)
    result = run(repo, "-m", "rft", "new-task", RLVR, "--kind", "rlvr")
    assert result.returncode == 1
    assert (
        result.stderr.strip()
        == "error: task 'demo_math' already exists in tasks/demo_math.py; choose another name"
    )
    assert fingerprint(repo) == before


def test_the_invoke_batch_is_answered_by_the_generated_handler(
    scaffolded: tuple[Path, dict[str, str]],
) -> None:
    """batch.json is what `rft invoke` sends once deployed; the handler in the copy answers it in full."""
    repo, _ = scaffolded
    check = (
        "import json, sys; sys.path.insert(0, 'lambda');"
        "from demo_math_reward.handler import lambda_handler; from rft.contract import check_results;"
        "batch = json.load(open('data_prep/samples/demo_math/batch.json'));"
        "results, problems = check_results(batch, lambda_handler(batch, None));"
        "print(json.dumps({'problems': problems, 'scores': [r.score for r in results]}))"
    )
    result = run(repo, "-c", check)
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout.strip().splitlines()[-1])
    assert answer == {"problems": [], "scores": [1.0, 0.0, 0.0, 1.0, 0.0, 0.0]}


def test_the_scaffolds_own_tests_still_pass_with_the_new_tasks(
    scaffolded: tuple[Path, dict[str, str]],
) -> None:
    """They read a pristine fixture, not the registry the scaffold just changed (a user's `make test`)."""
    repo, _ = scaffolded
    result = run(repo, "-m", "pytest", "-p", "no:cacheprovider", "tests/scaffold/test_new_task.py")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert " passed" in result.stdout and " failed" not in result.stdout
