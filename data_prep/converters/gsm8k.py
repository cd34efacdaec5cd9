"""GSM8K: grade-school math word problems with a verifiable numeric answer (RLVR).

The prompt asks for the final answer on its own line as `#### <number>`, the same anchor the
gold solutions use and the first one the GSM8K reward looks for.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, ClassVar

from data_prep.converter import Converter
from data_prep.errors import RowError
from data_prep.options import PrepOptions
from data_prep.rows import RawRow

SYSTEM_PROMPT = "You are a careful math tutor. You solve grade-school math word problems accurately."
USER_TEMPLATE = (
    "{question}\n\n"
    "Reason step by step. Then give the final answer on its own line as `#### <number>`, "
    "with the number only."
)

# The gold's last line: `#### 72`, `#### 1,080`, `#### -3`, `#### 0.5`.
_FINAL_LINE = re.compile(r"####\s*([-+]?(?:\d[\d,]*(?:\.\d+)?|\.\d+))\s*")
ROW_FIX = (
    "GSM8K rows need a non-empty 'question' and an 'answer' whose last line is '#### <number>' "
    "(the openai/gsm8k 'main' format); fix or remove those rows"
)


def final_answer(solution: str) -> str | None:
    """The number on the gold solution's `#### N` last line, as written (commas kept)."""
    last_line = solution.rstrip().rsplit("\n", 1)[-1]
    match = _FINAL_LINE.fullmatch(last_line.strip())
    return match.group(1) if match else None


class Gsm8k(Converter):
    name = "gsm8k"
    description = "GSM8K grade-school math (openai/gsm8k), numeric answers after ####"
    default_max_prompt_tokens = 512
    sources = ("bundled", "local", "hub")
    hub_dataset = "openai/gsm8k"
    hub_config = "main"
    hub_splits: ClassVar[Mapping[str, str]] = {"train": "train", "test": "test"}

    def to_records(self, row: RawRow, split: str, options: PrepOptions | None = None) -> list[dict[str, Any]]:
        question, solution = row.data.get("question"), row.data.get("answer")
        if not isinstance(question, str) or not question.strip():
            raise RowError("a GSM8K row has a non-empty 'question' string", ROW_FIX)
        if not isinstance(solution, str) or (answer := final_answer(solution)) is None:
            raise RowError("a GSM8K row's 'answer' ends with a line '#### <number>'", ROW_FIX)
        return [
            {
                "id": self.row_id(row),
                "messages": [
                    {"role": "system", "content": SYSTEM_PROMPT},
                    {"role": "user", "content": USER_TEMPLATE.format(question=question.strip())},
                ],
                "reference_answer": {"final_answer": answer, "solution": solution},
            }
        ]
