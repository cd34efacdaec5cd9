"""What a scaffold writes into the task registry: the task's own module and its one registry line.

A task is `tasks/<name>.py` (its `TaskSpec`) plus the line `"<name>",` in `tasks/registry.py`'s
`MODULES`. Both are written the way ruff formats them, so `make lint` stays green after a scaffold
with no formatter run; a registry line is a string in a tuple, so there is no import order to keep and
no marker comment to find. An unparsable or reshaped registry is a `UserError` that names the fix.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from rft.errors import UserError

REGISTRY = "MODULES"  # the tuple in tasks/registry.py
RESTORE = "restore it from the repository (git checkout -- tasks/registry.py) and re-add your tasks' lines"


def python_literal(text: str) -> str:
    """A double-quoted Python string literal (ruff's style), ASCII-only."""
    return json.dumps(text)


def parse(text: str, where: Path) -> ast.Module:
    try:
        return ast.parse(text, filename=str(where))
    except SyntaxError as error:
        raise UserError(f"{where} does not parse ({error.msg}, line {error.lineno}); fix it first") from None


def _registry_tuple(text: str, where: Path) -> ast.Tuple:
    for node in parse(text, where).body:
        target = node.targets[0] if isinstance(node, ast.Assign) and len(node.targets) == 1 else None
        target = node.target if isinstance(node, ast.AnnAssign) else target
        if isinstance(target, ast.Name) and target.id == REGISTRY:
            value = node.value
            if isinstance(value, ast.Tuple) and all(
                isinstance(e, ast.Constant) and isinstance(e.value, str) for e in value.elts
            ):
                return value
    raise UserError(f"{where} must define {REGISTRY} as a tuple of module names; {RESTORE}")


def registered_modules(text: str, where: Path) -> list[str]:
    """The module names `tasks/registry.py` lists."""
    return [element.value for element in _registry_tuple(text, where).elts]  # type: ignore[attr-defined]


def register_task(text: str, name: str, where: Path) -> str:
    """tasks/registry.py with `"<name>",` as the last entry of MODULES, on its own line."""
    registry = _registry_tuple(text, where)
    lines = text.splitlines(keepends=True)
    closing = registry.end_lineno - 1 if registry.end_lineno else -1
    if registry.lineno == registry.end_lineno or lines[closing].strip() != ")":
        raise UserError(f"{where} must keep {REGISTRY} one name per line with `)` on its own line; {RESTORE}")
    if registry.elts:  # a last entry without its trailing comma would join the new one into one string
        last = registry.elts[-1]
        row = lines[last.end_lineno - 1]  # type: ignore[operator]
        rest = row[last.end_col_offset :]
        if not rest.lstrip().startswith(","):
            lines[last.end_lineno - 1] = f"{row[: last.end_col_offset]},{rest}"  # type: ignore[operator]
    lines.insert(closing, f"    {python_literal(name)},\n")
    return "".join(lines)


def spec_module(
    *,
    name: str,
    class_name: str,
    stack_name: str,
    description: str,
    kind: str,
    max_tokens: int,
    data: Mapping[str, Any],
    judge_model: str,
) -> str:
    """`tasks/<name>.py`: the task's TaskSpec, written the way ruff formats it (exploded, trailing commas)."""
    names = (
        "SAMPLE_HYPERPARAMETERS, JudgeSpec, TaskSpec"
        if kind == "rlaif"
        else "SAMPLE_HYPERPARAMETERS, TaskSpec"
    )
    lines = [
        f'"""{name}: {description}',
        "",
        f"Written by `rft new-task {name} --kind {kind}`. These are the defaults `cdk synth` uses; override",
        f"them per deployment in cdk.json context (`rft:{name}` -> hyperParameters, data, ...).",
        '"""',
        "",
        "from __future__ import annotations",
        "",
        f"from tasks.spec import {names}",
        "",
        "TASK = TaskSpec(",
        f"    name={python_literal(name)},",
        f"    stack_name={python_literal(stack_name)},",
        f"    description={python_literal(description)},",
        f'    converter="data_prep.converters.{name}:{class_name}",',
        f'    reward_package="{name}_reward",',
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
    return "\n".join([*lines, ")", ""])


def natural_key(text: str) -> list[Any]:
    """isort's (and ruff's) natural order for module names: `task2` before `task10`."""
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", text)]


def import_block(straight: Sequence[str], from_imports: Sequence[tuple[str, str]]) -> str:
    """An isort-ordered block: `import x` lines first, then `from m import ...` by module (stable)."""
    lines = [f"import {module}" for module in sorted(straight, key=natural_key)]
    ordered = sorted(from_imports, key=lambda item: natural_key(item[0]))
    lines += [f"from {module} import {names}" for module, names in ordered]
    return "\n".join(lines)
