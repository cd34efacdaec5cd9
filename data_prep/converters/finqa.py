"""FinQA: numerical reasoning over financial report text and tables (RLVR).

Rows come in two shapes and are normalised into one (`FinqaRow`) before anything else:

* the official czyssrs/FinQA JSON (`train.json`, `dev.json`, `test.json`): `pre_text` and
  `post_text` sentence lists, `table` (rows of cells, the first row the header) and
  `qa.{question, program, exe_ans, answer}`;
* the Hugging Face copies, whose fields are flattened (`question`, `answer`, `exe_ans`,
  `program` or `program_re`, ...). They use loading scripts that `datasets` >= 4 refuses, so
  the hub source reads their Parquet conversion (`revision="refs/convert/parquet"`).

The prompt ends with a single `Question: <question>` line followed by the answer instructions.
The FinQA reward relies on that layout: it reads the question from the line after the label to
decide whether a bare `9.37` may stand for 0.0937, and must never see the instructions or the
table (both mention `%`). Keep `QUESTION_LABEL` equal to `finqa_reward.scoring.QUESTION_LABEL`.
"""

from __future__ import annotations

import argparse
import math
import re
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from data_prep.converter import Converter
from data_prep.errors import RowError
from data_prep.options import PrepOptions
from data_prep.rows import RawRow

QUESTION_LABEL = "Question:"
SYSTEM_PROMPT = (
    "You are a careful financial analyst. You answer questions about financial reports by reading "
    "their text and tables and calculating exactly."
)
INSTRUCTIONS = (
    "Answer the question from the report excerpt above. Work through the calculation briefly, "
    "then end your response with one final line of the form `ANSWER: <answer>`.\n"
    "- Percentages: write them with a percent sign, for example `ANSWER: 12.5%`.\n"
    "- Other amounts: write the number in the units the table or text uses, without currency "
    "symbols or scale words such as million, for example `ANSWER: 1250` for $1,250 million.\n"
    "- Yes/no questions: answer `ANSWER: yes` or `ANSWER: no`."
)

ROW_FIX = (
    "FinQA rows need the official schema (pre_text, post_text, table, qa.{question, exe_ans, ...}) "
    "or a flattened Hugging Face copy's (question, exe_ans or answer, ...); fix or remove those rows"
)
_PAGE_SUFFIX = re.compile(r"-\d+$")
_NUMERIC = re.compile(r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?")
_YES_NO = ("yes", "no")


@dataclass(frozen=True, slots=True)
class FinqaRow:
    """One FinQA question with its context, whichever shape it was read from."""

    question: str
    pre_text: tuple[str, ...]
    table: tuple[tuple[str, ...], ...]
    post_text: tuple[str, ...]
    gold: float | int | str
    answer_text: str
    program: str


def _first(mappings: Sequence[Mapping[str, Any]], *keys: str) -> Any:
    """The first present, non-null value of any key, looking in each mapping in turn."""
    for mapping in mappings:
        for key in keys:
            value = mapping.get(key)
            if value is not None and not (isinstance(value, float) and math.isnan(value)):
                return value
    return None


def _sentences(value: Any, field: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, (list, tuple)) or not all(isinstance(s, str) or s is None for s in value):
        raise RowError(f"a FinQA row's '{field}' is a list of sentences (strings)", ROW_FIX)
    return tuple(" ".join(s.split()) for s in value if s and s.strip())


def _cell(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return " ".join(str(value).split())


def _table(value: Any) -> tuple[tuple[str, ...], ...]:
    if value is None:
        return ()
    if not isinstance(value, (list, tuple)) or not all(isinstance(row, (list, tuple)) for row in value):
        raise RowError("a FinQA row's 'table' is a list of rows, each a list of cells", ROW_FIX)
    return tuple(tuple(_cell(cell) for cell in row) for row in value)


def _gold(value: Any) -> float | int | str | None:
    """exe_ans as the reward reads it: a finite number, "yes"/"no", or a numeric string (a `%`
    string stays a string: the reward reads it as a percentage). None when unusable."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        try:
            return value if math.isfinite(value) else None
        except OverflowError:  # an int too large for a float
            return None
    if not isinstance(value, str):
        return None
    text = value.strip()
    if text.lower() in _YES_NO:
        return text.lower()
    bare = text.replace("$", "").replace(",", "").replace(" ", "")
    negative = bare.startswith("(") and bare.endswith(")")
    bare = bare.strip("()")
    if bare.endswith("%"):
        return text if _NUMERIC.fullmatch(bare[:-1]) else None
    if not _NUMERIC.fullmatch(bare):
        return None
    number = float(bare)
    return -number if negative else number


def normalize_row(data: Mapping[str, Any]) -> FinqaRow:
    """Read an official or a flattened hub row; raise RowError naming what is wrong."""
    qa = data.get("qa")
    if qa is not None and not isinstance(qa, Mapping):
        raise RowError("a FinQA row's 'qa' is an object", ROW_FIX)
    places: list[Mapping[str, Any]] = [qa, data] if qa is not None else [data]
    question = _first(places, "question")
    if not isinstance(question, str) or not question.strip():
        raise RowError("a FinQA row has a non-empty question (qa.question)", ROW_FIX)
    answer_text = _first(places, "answer", "answers")
    exe_ans = _first(places, "exe_ans")
    gold = _gold(exe_ans if exe_ans is not None else answer_text)
    if gold is None:
        raise RowError(
            "a FinQA row has a gold answer (qa.exe_ans): a number, a numeric string or yes/no", ROW_FIX
        )
    program = _first(places, "program", "program_re")
    return FinqaRow(
        question=" ".join(question.split()),
        pre_text=_sentences(data.get("pre_text"), "pre_text"),
        table=_table(data.get("table")),
        post_text=_sentences(data.get("post_text"), "post_text"),
        gold=gold,
        answer_text="" if answer_text is None else _cell(answer_text),
        program=program if isinstance(program, str) else "",
    )


def render_table(table: Sequence[Sequence[str]]) -> str:
    """A markdown pipe table; the first row is the header. `|` in cells is escaped, short rows
    are padded, so every line has the same number of columns."""
    rows = [row for row in table if row]
    if not rows:
        return ""
    width = max(len(row) for row in rows)

    def line(cells: Sequence[str]) -> str:
        padded = [cell.replace("|", "\\|") for cell in cells] + [""] * (width - len(cells))
        return "| " + " | ".join(padded) + " |"

    return "\n".join([line(rows[0]), line(["---"] * width), *(line(row) for row in rows[1:])])


def build_prompt(row: FinqaRow) -> str:
    """Pre-text, table, post-text, then the one-line question and the answer instructions."""
    sections = ["\n".join(row.pre_text), render_table(row.table), "\n".join(row.post_text)]
    sections = [section for section in sections if section]
    sections += [f"{QUESTION_LABEL} {row.question}", INSTRUCTIONS]
    return "\n\n".join(sections)


class Finqa(Converter):
    name = "finqa"
    description = "FinQA numerical reasoning over financial reports (czyssrs/FinQA), answer after ANSWER:"
    default_max_prompt_tokens = 4000
    sources = ("bundled", "local", "hub")
    split_files: ClassVar[Mapping[str, Sequence[str]]] = {
        "train": ("train.json", "train.jsonl"),
        "validation": ("dev.json", "validation.json", "dev.jsonl", "validation.jsonl"),
        "test": ("test.json", "test.jsonl"),
    }
    hub_dataset = "dreamerdeo/finqa"
    hub_load_kwargs: ClassVar[Mapping[str, Any]] = {"revision": "refs/convert/parquet"}
    #: FinQA prompts carry whole tables, so a few real ones exceed any sane maxPromptLength;
    #: dropping them (with a count in stats.json) is the useful default. Applied to the CLI here;
    #: `prepare()` callers (the stacks) pass PrepOptions.on_overlong themselves.
    default_on_overlong: ClassVar[str] = "drop"

    def group_key(self, row: RawRow, options: PrepOptions) -> Hashable:
        """Questions about one report page stay in one split: `ADI/2009/page_49.pdf-1` and `-2`."""
        page = row.data.get("filename") or row.data.get("id")
        if isinstance(page, str) and page:
            return _PAGE_SUFFIX.sub("", page)
        return super().group_key(row, options)

    def to_records(self, row: RawRow, split: str, options: PrepOptions | None = None) -> list[dict[str, Any]]:
        finqa = normalize_row(row.data)
        return [
            {
                "id": self.row_id(row),
                "messages": [
                    {"role": "system", "content": SYSTEM_PROMPT},
                    {"role": "user", "content": build_prompt(finqa)},
                ],
                "reference_answer": {
                    "answer": finqa.gold,
                    "answer_text": finqa.answer_text,
                    "program": finqa.program,
                    "question": finqa.question,
                },
            }
        ]

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        """No FinQA-only flags; over-long prompts are dropped unless --on-overlong fail is given."""
        parser.set_defaults(on_overlong=self.default_on_overlong)
