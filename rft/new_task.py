"""`rft new-task`: scaffold your own task, RLVR or RLAIF, that tests green and synthesizes as written.

A task is one unit, declared the way the built-in tasks are: its `TaskSpec` (`tasks/<name>.py`),
which names its converter (a one-class subclass of `PromptReferenceConverter`), its reward package
(`score` for RLVR, a rubric for RLAIF) and its defaults; bundled data and tests; and one line in the
task registry (`tasks/registry.py`) that makes the CDK app, data_prep, the CLI and `make demo` see it.
No infrastructure code changes and nothing is written to cdk.json, which holds only a user's
overrides. See docs/own-task.md for the walk-through.

Nothing is ever half-written. Every file is rendered in memory and every input checked first;
then new files are written and the registry replaced atomically, and any failure restores it and
removes what was created. A last check runs in a fresh interpreter, the way `cdk synth` will see the
repository: it loads the spec with cdk.json's overrides, prepares the data with data_prep and
imports the handler. If that fails, the scaffold is rolled back too.
"""

from __future__ import annotations

import ast
import importlib.metadata
import importlib.util
import json
import keyword
import math
import os
import re
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from data_prep.converters.jsonl_task import ROW_FIX, check_row, render_messages
from data_prep.validation import estimate_tokens
from rft.errors import UserError
from rft.templates import example_data, render_file
from rft.templates.registrations import (
    import_block,
    parse,
    python_literal,
    register_task,
    registered_modules,
    spec_module,
)

KINDS: tuple[str, ...] = ("rlvr", "rlaif")

NAME_PATTERN = re.compile(r"[a-z][a-z0-9_]{1,39}")
# Letters and digits only: the job name prefix is the stack name in lower case, and job names allow no run of symbols.
STACK_PATTERN = re.compile(r"[A-Za-z][A-Za-z0-9]{0,63}")
# The project's own top-level packages (a task's `<name>_reward` would sit next to them in lambda/), and
# modules a task's files would replace (tasks/spec.py, tasks/registry.py, the shared converter base).
PROJECT_PACKAGES = frozenset(
    {
        "rft",
        "stacks",
        "data_prep",
        "tasks",
        "tests",
        "lambda",
        "local_aws",
        "benchmarks",
        "app",
        "rft_reward",
        "rft_job",
    }
)
RESERVED_NAMES = PROJECT_PACKAGES | {"jsonl_task", "spec", "registry", "none", "true", "false"}

VALIDATION_SIZE = 100  # Bedrock (Nova 2) wants at least 100 validation records when there are any
MIN_TRAIN = 100
MAX_TRAIN = 20_000
MIN_ROWS = MIN_TRAIN + VALIDATION_SIZE
SEED = 13
CHARS_PER_TOKEN = 3.0  # data_prep's conservative default
MIN_PROMPT_TOKENS = 512
DEFAULT_JUDGE_MODEL = "us.amazon.nova-pro-v1:0"
SHOWN_LINES = 5

PROMPTS: dict[str, tuple[str, str]] = {  # kind -> (system prompt, user template)
    "rlvr": (
        "You solve problems carefully and answer concisely.",
        "{prompt}\n\nGive your final answer on the last line as `ANSWER: <answer>`.",
    ),
    "rlaif": ("You are a helpful assistant.", "{prompt}"),
}
KIND_LABELS = {"rlvr": "RLVR, checked in code", "rlaif": "RLAIF, graded by an LLM judge"}
DEFAULT_DESCRIPTIONS = {  # worded like the built-in tasks' descriptions
    "rlvr": "your own prompts, answer checked in code (RLVR)",
    "rlaif": "your own prompts, responses graded by an LLM judge (RLAIF)",
}


@dataclass(frozen=True)
class NewTaskRequest:
    name: str
    kind: str
    from_jsonl: Path | None = None
    stack_name: str | None = None
    description: str | None = None
    judge_model: str | None = None


@dataclass
class Plan:
    """Everything a scaffold writes, decided before anything is written."""

    name: str
    kind: str
    stack_name: str
    root: Path
    new_files: dict[Path, str] = field(default_factory=dict)
    edits: dict[Path, str] = field(default_factory=dict)
    rows: int = 0
    rollouts: int = 0
    max_prompt_tokens: int = MIN_PROMPT_TOKENS
    notes: list[str] = field(default_factory=list)

    def relative(self, path: Path) -> str:
        return path.relative_to(self.root).as_posix()


@dataclass(frozen=True)
class Verified:
    train_records: int
    validation_records: int


# -- names ------------------------------------------------------------------------------------------


def camel(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in name.split("_") if part)


def importable_elsewhere(module: str) -> bool:
    """True when `module` is already a top-level module: standard library, installed, or on sys.path."""
    if module in sys.stdlib_module_names or module in sys.builtin_module_names:
        return True
    if module in importlib.metadata.packages_distributions():
        return True
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return True  # a broken module of that name is still a name taken


def check_name(name: str) -> None:
    if not NAME_PATTERN.fullmatch(name):
        raise UserError(
            f"task name {name!r} must be 2-40 characters of lower-case letters, digits and '_', starting "
            "with a letter (it names Python modules, lambda/<name>_reward and the cdk.json block rft:<name>)"
        )
    if name in RESERVED_NAMES or keyword.iskeyword(name) or keyword.issoftkeyword(name):
        raise UserError(f"task name {name!r} is reserved (a Python or project name); choose another name")
    if name.endswith("_reward"):
        raise UserError(f"task name {name!r} must not end in '_reward' (its reward package is <name>_reward)")


def check_unshadowed(name: str) -> None:
    """A task's modules must not hide, or be hidden by, a module of the same name."""
    for module in (name, f"{name}_reward"):
        if importable_elsewhere(module):
            raise UserError(
                f"task name {name!r} would shadow the Python module {module!r} (standard library or "
                "installed); choose another name"
            )


def declared_tasks(root: Path) -> dict[str, tuple[str, Path]]:
    """name -> (stack name, file) of every TaskSpec(...) written in tasks/*.py."""
    declared: dict[str, tuple[str, Path]] = {}
    for path in sorted((root / "tasks").glob("*.py")):
        for node in ast.walk(parse(path.read_text(encoding="utf-8"), path.relative_to(root))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "TaskSpec":
                fields = {k.arg: k.value.value for k in node.keywords if isinstance(k.value, ast.Constant)}
                if isinstance(fields.get("name"), str):
                    declared[fields["name"]] = (str(fields.get("stack_name", "")), path.relative_to(root))
    return declared


# -- the user's rows -------------------------------------------------------------------------------


def _reject_constant(token: str) -> Any:
    raise ValueError(f"{token} is not JSON")


def read_rows(path: Path) -> list[dict[str, Any]]:
    """The `{prompt, reference}` rows of a JSONL file; every problem reported with its line numbers."""
    if not path.is_file():
        raise UserError(f"--from-jsonl {path}: no such file")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise UserError(f"--from-jsonl {path} is not UTF-8 text; save it as UTF-8 JSONL") from None
    except OSError as error:
        raise UserError(f"cannot read --from-jsonl {path}: {error.strerror or error}") from None
    if text.lstrip().startswith("["):
        raise UserError(
            f"--from-jsonl {path} looks like one JSON array; write one JSON object per line (JSONL)"
        )
    rows: list[dict[str, Any]] = []
    problems: dict[str, list[int]] = {}
    for line_no, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line, parse_constant=_reject_constant)
        except ValueError:
            problems.setdefault("each line is one JSON object (strict JSON: no NaN or Infinity)", []).append(
                line_no
            )
            continue
        rule = check_row(row)
        if rule is not None:
            problems.setdefault(rule, []).append(line_no)
            continue
        rows.append(row)
    if problems:
        described = "; ".join(
            f"{rule}: line{'s' if len(lines) > 1 else ''} "
            + ", ".join(map(str, lines[:SHOWN_LINES]))
            + (f" and {len(lines) - SHOWN_LINES} more" if len(lines) > SHOWN_LINES else "")
            for rule, lines in problems.items()
        )
        raise UserError(f"--from-jsonl {path}: {described}. Fix: {ROW_FIX}")
    if len(rows) < MIN_ROWS:
        raise UserError(
            f"--from-jsonl {path} has {len(rows)} rows; Bedrock needs at least {MIN_TRAIN} training and "
            f"{VALIDATION_SIZE} validation records, so a task needs at least {MIN_ROWS} rows. Add rows, or "
            "leave out --from-jsonl to start from a generated example dataset and replace it later"
        )
    return rows


def prompt_token_limit(rows: Sequence[Mapping[str, Any]], system: str, template: str) -> int:
    """maxPromptLength for these rows: the longest estimated prompt plus 25%, in steps of 256."""
    longest = 0
    for row in rows:
        own = row.get("system")
        messages = render_messages(row["prompt"], system=own if own else system, prompt_template=template)
        chars = sum(len(m["content"]) for m in messages)
        longest = max(longest, estimate_tokens(chars, CHARS_PER_TOKEN))
    return max(MIN_PROMPT_TOKENS, math.ceil(longest * 1.25 / 256) * 256)


# -- planning ----------------------------------------------------------------------------------------


def plan(request: NewTaskRequest, root: Path) -> Plan:
    """Check the request against the repository and render every file; writes nothing."""
    name, kind = request.name, request.kind
    check_name(name)
    if kind not in KINDS:
        raise UserError(f"--kind must be rlvr or rlaif, got {kind!r}")
    if request.judge_model is not None and kind != "rlaif":
        raise UserError(
            "--judge-model is for --kind rlaif (an RLVR reward is checked in code, with no judge)"
        )
    stack_name = request.stack_name or f"{camel(name)}RftStack"
    if not STACK_PATTERN.fullmatch(stack_name):
        raise UserError(
            f"--stack-name {stack_name!r} must be 1-64 letters and digits, starting with a letter "
            "(like GsmRftStack)"
        )
    description = request.description or DEFAULT_DESCRIPTIONS[kind]
    if len(description) > 200 or not description.isprintable() or "\\" in description or '"""' in description:
        raise UserError(
            "--description must be one printable line of at most 200 characters, without backslashes"
        )
    judge_model = request.judge_model or DEFAULT_JUDGE_MODEL
    if kind == "rlaif" and not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9.:/_-]{2,255}", judge_model):
        raise UserError(
            f"--judge-model {judge_model!r} is not a Bedrock model id, inference profile id or ARN"
        )

    paths = _paths(root, name)
    registry = paths["registry"]
    shown = registry.relative_to(root)
    if not registry.is_file():
        raise UserError(f"{shown} not found in {root}; run rft new-task inside the bedrock-rft repository")
    registry_text = registry.read_text(encoding="utf-8")
    declared = declared_tasks(root)
    if name in declared or name in registered_modules(registry_text, shown):
        where = declared[name][1] if name in declared else shown
        raise UserError(f"task {name!r} already exists in {where.as_posix()}; choose another name")
    check_unshadowed(name)
    if stack_name in {stack for stack, _ in declared.values()}:
        raise UserError(f"stack {stack_name!r} is already used by another task; pass --stack-name")
    class_name = camel(name)
    if class_name == "PromptReferenceConverter":
        raise UserError(f"{class_name} is the converter base class's name; choose another task name")
    existing = [p for key, p in paths.items() if key.startswith("new_") and p.exists()]
    if existing:
        listed = ", ".join(p.relative_to(root).as_posix() for p in existing)
        raise UserError(
            f"{listed} already exist{'s' if len(existing) == 1 else ''}; choose another task name"
        )
    if f"rft:{name}" in _cdk_context(paths["cdk_json"]):
        raise UserError(
            f"cdk.json already has a `rft:{name}` block, which would override the new task's defaults; "
            "remove it or choose another task name"
        )

    system, template = PROMPTS[kind]
    if request.from_jsonl is not None:
        rows = read_rows(request.from_jsonl)
        origin = f"copied from {request.from_jsonl.name}"
    else:
        rows = example_data.rlvr_rows() if kind == "rlvr" else example_data.rlaif_rows()
        origin = "generated examples: " + (
            "arithmetic word problems" if kind == "rlvr" else "writing requests with grading notes"
        )

    def messages(row: Mapping[str, Any]) -> list[dict[str, str]]:
        own = row.get("system")
        return render_messages(row["prompt"], system=own if own else system, prompt_template=template)

    if kind == "rlvr":
        rollouts = example_data.rlvr_rollouts(rows, messages)
        if not rollouts:
            raise UserError(
                f"none of the references in {request.from_jsonl} is text or a number, which the example RLVR "
                'reward compares answers with; make them text (or {"answer": ...}), or use --kind rlaif'
            )
    else:
        rollouts = example_data.rlaif_rollouts(rows, messages)

    max_tokens = prompt_token_limit(rows, system, template)
    data: dict[str, Any] = {"source": "bundled", "seed": SEED, "validationSize": VALIDATION_SIZE}
    result = Plan(
        name, kind, stack_name, root, rows=len(rows), rollouts=len(rollouts), max_prompt_tokens=max_tokens
    )
    if len(rows) - VALIDATION_SIZE > MAX_TRAIN:
        data["maxTrainRecords"] = MAX_TRAIN
        result.notes.append(
            f"{len(rows):,} rows: training uses the first {MAX_TRAIN:,} after validation is carved out "
            f"(Bedrock's maximum; `maxTrainRecords` in tasks/{name}.py)"
        )

    values = {
        "name": name,
        "class_name": class_name,
        "kind": kind,
        "kind_label": KIND_LABELS[kind],
        "stack_name": stack_name,
        "description": description,
        "description_literal": python_literal(description),
        "max_prompt_tokens": str(max_tokens),
        "system_prompt_literal": python_literal(system),
        "prompt_template_literal": python_literal(template),
        "data_origin": origin,
        "rows": str(len(rows)),
        "rollouts": str(len(rollouts)),
        "validation_size": str(VALIDATION_SIZE),
        "third_party_imports": _test_imports(name, kind),
    }
    result.new_files = {
        paths["new_spec"]: spec_module(
            name=name,
            class_name=class_name,
            stack_name=stack_name,
            description=description,
            kind=kind,
            max_tokens=max_tokens,
            data=data,
            judge_model=judge_model,
        ),
        paths["new_converter"]: render_file("converter.py.tmpl", values),
        paths["new_samples"] / "train.jsonl": example_data.to_jsonl(rows),
        paths["new_samples"] / "rollouts.jsonl": example_data.to_jsonl(rollouts),
        paths["new_samples"] / "batch.json": example_data.invoke_batch(rollouts),
        paths["new_samples"] / "README.md": render_file("sample_readme.md.tmpl", values),
        paths["new_reward"] / "__init__.py": render_file("reward_init.py.tmpl", values),
        paths["new_reward"] / "scoring.py": render_file(f"{kind}/scoring.py.tmpl", values),
        paths["new_reward"] / "handler.py": render_file(f"{kind}/handler.py.tmpl", values),
        paths["new_test"]: render_file(f"{kind}/test_reward.py.tmpl", values),
    }

    result.edits = {registry: register_task(registry_text, name, shown)}
    for path, text in [*result.new_files.items(), *result.edits.items()]:
        if path.suffix == ".py":
            try:
                compile(text, str(path), "exec")
            except SyntaxError as error:  # a bug in a template, never the user's
                raise UserError(
                    f"internal error: the generated {path.name} does not compile ({error})"
                ) from None
    return result


def _cdk_context(cdk_json: Path) -> dict[str, Any]:
    if not cdk_json.is_file():
        return {}
    try:
        context = json.loads(cdk_json.read_text(encoding="utf-8")).get("context")
    except (ValueError, AttributeError) as error:
        raise UserError(f"cdk.json is not a valid CDK settings file ({error}); fix it first") from None
    return context if isinstance(context, dict) else {}


def _paths(root: Path, name: str) -> dict[str, Path]:
    return {
        "registry": root / "tasks" / "registry.py",
        "cdk_json": root / "cdk.json",
        "new_spec": root / "tasks" / f"{name}.py",
        "new_converter": root / "data_prep" / "converters" / f"{name}.py",
        "new_samples": root / "data_prep" / "samples" / name,
        "new_reward": root / "lambda" / f"{name}_reward",
        "new_test": root / "tests" / "tasks" / f"test_{name}_reward.py",
    }


def _test_imports(name: str, kind: str) -> str:
    reward = f"{name}_reward"
    if kind == "rlvr":
        from_imports = [
            ("hypothesis", "given, settings"),
            ("hypothesis", "strategies as st"),
            (f"{reward}.handler", "lambda_handler"),
            (f"{reward}.scoring", "score"),
        ]
    else:
        from_imports = [
            ("hypothesis", "given, settings"),
            ("hypothesis", "strategies as st"),
            ("rft_reward", "Sample"),
            ("rft_reward.judge", "UNTRUSTED_DATA_RULE"),
            (f"{reward}.handler", "lambda_handler"),
            (f"{reward}.scoring", "RUBRIC, build_prompt"),
        ]
    return import_block(["pytest"], from_imports)


# -- writing, all or nothing ---------------------------------------------------------------------------


class _Transaction:
    """New files and replaced files, undone together if anything fails."""

    def __init__(self) -> None:
        self.created_files: list[Path] = []
        self.created_dirs: list[Path] = []
        self.originals: dict[Path, bytes] = {}

    def _mkdirs(self, directory: Path) -> None:
        missing: list[Path] = []
        while not directory.exists():
            missing.append(directory)
            directory = directory.parent
        for folder in reversed(missing):
            folder.mkdir()
            self.created_dirs.append(folder)

    def _write(self, path: Path, text: str) -> None:
        staging = path.with_name(f".{path.name}.rft-new-task")
        staging.write_text(text, encoding="utf-8", newline="\n")
        os.replace(staging, path)

    def create(self, path: Path, text: str) -> None:
        self._mkdirs(path.parent)
        self.created_files.append(path)
        self._write(path, text)

    def replace(self, path: Path, text: str) -> None:
        self.originals[path] = path.read_bytes()
        self._write(path, text)

    def rollback(self) -> None:
        for path, original in self.originals.items():
            path.write_bytes(original)
            path.with_name(f".{path.name}.rft-new-task").unlink(missing_ok=True)
        for path in reversed(self.created_files):
            path.unlink(missing_ok=True)
            path.with_name(f".{path.name}.rft-new-task").unlink(missing_ok=True)
        for folder in reversed(self.created_dirs):
            for leftover in folder.glob("__pycache__"):
                for cached in leftover.iterdir():
                    cached.unlink()
                leftover.rmdir()
            if folder.exists() and not any(folder.iterdir()):
                folder.rmdir()


_VERIFY = r"""
import importlib, json, sys, tempfile
from pathlib import Path

name = sys.argv[1]
sys.path.insert(0, "lambda")
try:
    from stacks.config import load_config
    from tasks import task_by_name
    from data_prep import PrepOptions, prepare

    task = task_by_name(name)
    cdk_json = Path("cdk.json")
    context = json.loads(cdk_json.read_text()).get("context", {}) if cdk_json.is_file() else {}
    config = load_config(task, context.get)
    with tempfile.TemporaryDirectory() as out:
        options = PrepOptions(max_prompt_tokens=config.max_prompt_tokens, progress=False, **config.data_options)
        result = prepare(name, out, options)
        counts = [len(p.read_text().splitlines()) if p else 0 for p in (result.train_path, result.validation_path)]
    module = importlib.import_module(task.reward_handler.rsplit(".", 1)[0])
    if not callable(getattr(module, "lambda_handler", None)):
        raise TypeError(f"{task.reward_handler} is not callable")
except Exception as error:
    print(f"{type(error).__name__}: {error}", file=sys.stderr)
    sys.exit(1)
print(json.dumps(counts))
"""


def verify(root: Path, name: str) -> Verified:
    """Load the new task the way `cdk synth` will, in a fresh interpreter; UserError if it fails."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONSTARTUP")}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    try:
        completed = subprocess.run(
            [sys.executable, "-c", _VERIFY, name],
            cwd=root,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as error:
        raise UserError(f"could not check the new task: {error}") from None
    if completed.returncode != 0:
        detail = completed.stderr.strip().splitlines()[-1:] or ["no output"]
        raise UserError(f"the new task failed its own check ({detail[0]})")
    train, validation = json.loads(completed.stdout.strip().splitlines()[-1])
    return Verified(train, validation)


def apply(scaffold: Plan) -> Verified:
    """Write the plan, then check it; on any failure, undo everything and re-raise."""
    transaction = _Transaction()
    try:
        for path, text in scaffold.new_files.items():
            transaction.create(path, text)
        for path, text in scaffold.edits.items():
            transaction.replace(path, text)
        return verify(scaffold.root, scaffold.name)
    except UserError as error:
        transaction.rollback()
        raise UserError(f"{error.message}; nothing was kept") from None
    except (OSError, UnicodeError) as error:
        transaction.rollback()
        raise UserError(f"could not write the new task ({error}); nothing was kept") from None
    except BaseException:
        transaction.rollback()
        raise


def new_task(request: NewTaskRequest, root: Path) -> tuple[Plan, Verified]:
    scaffold = plan(request, root)
    return scaffold, apply(scaffold)


# -- what to tell the user ----------------------------------------------------------------------------

_ROLES = {
    "scoring.py": "the reward: edit it for your rule",
    "handler.py": "the Lambda entry point",
    "README.md": "where the data came from",
}


def summary_lines(scaffold: Plan, verified: Verified) -> list[str]:
    name, kind, stack = scaffold.name, scaffold.kind, scaffold.stack_name
    samples = f"data_prep/samples/{name}"
    lines = [f"Created task {name} ({KIND_LABELS[kind]}), stack {stack}:"]
    roles = {
        f"tasks/{name}.py": "the TaskSpec: stack, defaults, converter, reward package",
        f"data_prep/converters/{name}.py": "converter: the prompt wording",
        f"{samples}/train.jsonl": f"{scaffold.rows:,} rows of {{prompt, reference}}",
        f"{samples}/rollouts.jsonl": f"{scaffold.rollouts:,} labeled responses for `rft rehearse`",
        f"{samples}/batch.json": "a reward batch as Bedrock sends it, for `rft invoke`",
        f"tests/tasks/test_{name}_reward.py": "examples and the contract fuzz test",
    }
    created = [scaffold.relative(p) for p in scaffold.new_files]
    width = max(map(len, created)) + 2
    for path in created:
        role = roles.get(path) or _ROLES.get(Path(path).name, "")
        lines.append(f"  {path:<{width}}{role}".rstrip())
    lines.append("Updated:")
    lines.append(
        f"  {'tasks/registry.py':<{width}}{python_literal(name)} added to MODULES (the task registry)"
    )
    lines.append(
        f"Checked: data_prep {name} -> {verified.train_records} training + {verified.validation_records} "
        f"validation records; {name}_reward.handler imports."
    )
    lines += [f"Note: {note}" for note in scaffold.notes]
    rehearse = f"  .venv/bin/rft rehearse {name} --responses {samples}/rollouts.jsonl"
    if kind == "rlaif":
        rehearse += " --judge bedrock   # calls the judge model: needs AWS credentials, billed per call"
    lines += [
        "",
        "Next:",
        f"  .venv/bin/pytest tests/tasks/test_{name}_reward.py",
        rehearse,
        f"  npx cdk synth {stack}",
        f"  npx cdk deploy {stack}   # launches the RFT job (billed)",
    ]
    return lines
