"""Your own task from JSONL rows of `{prompt, reference}`: the converter scaffolded tasks subclass.

The simplest dataset a user has is a file of prompts and, for each, what the reward checks the
response against: the right answer (RLVR) or grading notes for a judge (RLAIF). A task built on
it is one subclass with a name; `rft new-task` writes it (see docs/own-task.md)::

    class MyTask(PromptReferenceConverter):
        name = "my_task"
        prompt_template = "{prompt}\\n\\nGive your final answer on the last line as `ANSWER: <answer>`."

A row is `{"prompt": str, "reference": <any JSON>, "system": str (optional)}`; other fields are
ignored. The record sent to Bedrock is an optional system turn (the row's own `system`, else the
class's `system_prompt`), one user turn (`prompt_template` with `{prompt}` replaced by the row's
prompt) and `reference_answer` = the row's `reference`, unchanged, so what a row says is exactly
what the reward's `score(response_text, reference, sample)` receives. Rows whose user turns
are equal once whitespace is collapsed and case folded are one prompt, kept once (in test if it
is there): see `data_prep/dedup.py`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

from data_prep.converter import Converter
from data_prep.errors import RowError
from data_prep.options import PrepOptions
from data_prep.rows import RawRow

PROMPT = "prompt"
REFERENCE = "reference"
SYSTEM = "system"
PROMPT_PLACEHOLDER = "{prompt}"
ROW_FIX = (
    'each line must be a JSON object {"prompt": "<text>", "reference": <answer or grading notes>} '
    'with an optional "system": "<text>"; fix or remove those rows'
)


def is_blank(value: Any) -> bool:
    """No usable content: None, blank text or an empty container (data_prep rejects these too)."""
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    return isinstance(value, (dict, list)) and not value


def render_messages(
    prompt: str, *, system: str | None, prompt_template: str = PROMPT_PLACEHOLDER
) -> list[dict[str, str]]:
    """The prompt turns of one record. Plain replacement, not `str.format`: a template may quote JSON."""
    user = prompt_template.replace(PROMPT_PLACEHOLDER, prompt.strip())
    turns = [{"role": "system", "content": system.strip()}] if system and system.strip() else []
    return [*turns, {"role": "user", "content": user}]


def check_row(data: Any) -> str | None:
    """Why a row cannot become a record (a rule, worded for the error message), or None if it can."""
    if not isinstance(data, Mapping):
        return "a row is a JSON object"
    if not isinstance(data.get(PROMPT), str) or not data[PROMPT].strip():
        return f"a row has a non-empty {PROMPT!r} string"
    if is_blank(data.get(REFERENCE)):
        return f"a row has a non-empty {REFERENCE!r} (the answer or notes the reward checks against)"
    if data.get(SYSTEM) is not None and not isinstance(data.get(SYSTEM), str):
        return f"a row's optional {SYSTEM!r} is a string"
    return None


class PromptReferenceConverter(Converter):
    """Rows of `{prompt, reference}` (+ optional `system`) from a bundled sample or your own file."""

    description: ClassVar[str] = "prompts and references from JSONL rows {prompt, reference}"
    sources: ClassVar[tuple[str, ...]] = ("bundled", "local")
    default_max_prompt_tokens: ClassVar[int] = 1024
    #: The system turn for rows without their own `system`; None or "" for no system turn.
    system_prompt: ClassVar[str | None] = None
    #: The user turn; `{prompt}` is replaced by the row's prompt (say here how to format the answer).
    prompt_template: ClassVar[str] = PROMPT_PLACEHOLDER

    def messages(self, data: Mapping[str, Any]) -> list[dict[str, str]]:
        system = data.get(SYSTEM) if isinstance(data.get(SYSTEM), str) else self.system_prompt
        return render_messages(data[PROMPT], system=system, prompt_template=self.prompt_template)

    def to_records(self, row: RawRow, split: str, options: PrepOptions | None = None) -> list[dict[str, Any]]:
        problem = check_row(row.data)
        if problem is not None:
            raise RowError(problem, ROW_FIX)
        return [
            {
                "id": self.row_id(row),
                "messages": self.messages(row.data),
                "reference_answer": row.data[REFERENCE],
            }
        ]
