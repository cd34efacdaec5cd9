"""The lines a scaffold adds to existing files: the TaskSpec, the converter's registration, cdk.json.

Each goes where a `# rft new-task` marker says (stacks/tasks.py, data_prep/tasks/__init__.py) or
after the last task block (cdk.json), written the way ruff formats and sorts it, so `make lint`
stays green after a scaffold with no formatter run. A missing marker or an unparsable file is a
`UserError` that names the fix.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from rft.errors import UserError
from stacks.tasks import SAMPLE_HYPERPARAMETERS

SPEC_MARKER = "# rft new-task: generated task specs go above this line."
TASKS_MARKER = "# rft new-task: generated tasks go above this line."
REGISTER_MARKER = "# rft new-task: generated converters are registered above this line."


def insert_before_marker(text: str, marker: str, insertion: str, where: Path) -> str:
    lines = text.splitlines(keepends=True)
    hits = [i for i, line in enumerate(lines) if line.strip() == marker]
    if len(hits) != 1:
        raise UserError(
            f"{where} must contain the line `{marker}` exactly once (found {len(hits)}); restore it from "
            "the repository (git checkout -- <file>) so rft new-task knows where registrations go"
        )
    return "".join([*lines[: hits[0]], insertion, *lines[hits[0] :]])


def python_literal(text: str) -> str:
    """A double-quoted Python string literal (ruff's style), ASCII-only."""
    return json.dumps(text)


def spec_source(
    constant: str,
    name: str,
    stack_name: str,
    description: str,
    kind: str,
    max_tokens: int,
    data: Mapping[str, Any],
    judge_model: str,
) -> str:
    """The TaskSpec declaration, written the way ruff formats it (exploded, trailing commas)."""
    lines = [
        f"{constant} = TaskSpec(",
        f'    name="{name}",',
        f'    stack_name="{stack_name}",',
        f"    description={python_literal(description)},",
        f'    kind="{kind}",',
    ]
    if kind == "rlaif":
        # 16 prompts x 4 samples = 64 judge calls per step, as for PandaLM.
        lines.append(
            f'    hyperparameters={{**SAMPLE_HYPERPARAMETERS, "batchSize": 16, "maxPromptLength": {max_tokens}}},'
        )
    else:
        lines.append(f'    hyperparameters={{**SAMPLE_HYPERPARAMETERS, "maxPromptLength": {max_tokens}}},')
    data_items = ", ".join(f"{json.dumps(k)}: {json.dumps(v)}" for k, v in data.items())
    lines.append(f"    data={{{data_items}}},")
    if kind == "rlaif":
        lines += [
            f"    judge=JudgeSpec(model_id={python_literal(judge_model)}),",
            "    reward_timeout_s=300,",
            "    reward_memory_mb=512,",
            "    reward_reserved_concurrency=10,",
        ]
    else:
        lines += ["    reward_timeout_s=60,", "    reward_memory_mb=512,"]
    return "\n".join([*lines, ")", "", ""])


def natural_key(text: str) -> list[Any]:
    """isort's (and ruff's) natural order for module names: `task2` before `task10`."""
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", text)]


def import_block(straight: Sequence[str], from_imports: Sequence[tuple[str, str]]) -> str:
    """An isort-ordered block: `import x` lines first, then `from m import ...` by module (stable)."""
    lines = [f"import {module}" for module in sorted(straight, key=natural_key)]
    ordered = sorted(from_imports, key=lambda item: natural_key(item[0]))
    lines += [f"from {module} import {names}" for module, names in ordered]
    return "\n".join(lines)


def register_converter(init_text: str, name: str, class_name: str, where: Path) -> str:
    """data_prep/tasks/__init__.py with the converter imported (in isort order) and registered."""
    import_line = f"from data_prep.tasks.{name} import {class_name}\n"
    lines = init_text.splitlines(keepends=True)
    task_imports = [
        i for i, line in enumerate(lines) if re.match(r"from data_prep\.tasks\.\w+ import ", line)
    ]
    anchor = [i for i, line in enumerate(lines) if line.startswith("from data_prep.registry import")]
    if not task_imports and not anchor:
        raise UserError(
            f"{where} has no `from data_prep.registry import register` line to put the import after"
        )
    position = (task_imports or anchor)[-1] + 1
    for i in task_imports:
        module = lines[i].split()[1].rsplit(".", 1)[1]
        if natural_key(name) < natural_key(module):
            position = i
            break
    lines.insert(position, import_line)
    return insert_before_marker("".join(lines), REGISTER_MARKER, f"register({class_name}())\n", where)


def add_context_block(cdk_json_text: str, name: str, block: Mapping[str, Any], where: Path) -> str:
    """cdk.json with `rft:<name>` after the last task block, formatted as the file is (2 spaces)."""
    try:
        document = json.loads(cdk_json_text)
    except ValueError as error:
        raise UserError(f"{where} is not valid JSON ({error}); fix it first") from None
    context = document.get("context")
    if not isinstance(context, dict):
        raise UserError(f"{where} has no `context` object")
    keys = list(context)
    task_keys = [i for i, key in enumerate(keys) if key.startswith("rft:") and isinstance(context[key], dict)]
    at = (task_keys[-1] + 1) if task_keys else len(keys)
    items = list(context.items())
    items.insert(at, (f"rft:{name}", dict(block)))
    document["context"] = dict(items)
    return json.dumps(document, indent=2) + "\n"


def context_block(kind: str, max_tokens: int, data: Mapping[str, Any], judge_model: str) -> dict[str, Any]:
    hyperparameters = {**SAMPLE_HYPERPARAMETERS, "maxPromptLength": max_tokens}
    if kind == "rlaif":
        hyperparameters["batchSize"] = 16
    order = [*SAMPLE_HYPERPARAMETERS]  # the built-in blocks' key order
    order.insert(order.index("inferenceMaxTokens"), "maxPromptLength")
    block: dict[str, Any] = {
        "hyperParameters": {key: hyperparameters[key] for key in order if key in hyperparameters},
        "data": dict(data),
    }
    if kind == "rlaif":
        block.update(
            judgeModelId=judge_model, judgeMaxConcurrency=16, judgeTimeoutS=30, rewardReservedConcurrency=10
        )
    return block
