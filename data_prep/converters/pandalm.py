"""PandaLM: train the policy to judge which of two responses to an instruction is better (RLAIF).

Sources (each row is one instruction, an optional input and two responses):

* the bundled human-annotated PandaLM test set (`samples/pandalm/testset-v1.json`, 999 rows,
  Apache-2.0): `annotator1..3` votes, 0 for a tie, 1 or 2 for the better response. Missing inputs
  may be a bare `NaN`, which the reader accepts;
* PandaLM's training format, flat or nested (`{"inputs": {instruction, input, response1,
  response2}, "outputs": {"evaluation_result": "1" | "2" | "Tie", ...}}`), with the label in
  `evaluation_result` or `output` (whose first token counts, e.g. `"2\\n\\n### Reason: ..."`);
* a local JSON array or JSONL file, or a directory of split files, in either format.

Rows with a blank instruction are skipped (counted in stats.json's `skipped_rows`): there is
nothing for the responses to follow. Empty responses are kept; they are a real model output.

The label is the **strict majority of the annotators**; when no label has more than half of the
votes (three annotators who all disagree), it is a **tie (0)**.

Position bias: by default every pair is also emitted with the responses swapped and the label
swapped (1 <-> 2, a tie stays a tie), so a policy cannot score by always preferring one position.
Both orders of a pair always land in the same split.

Splits without leakage: a single source file has no official test split, so a seeded
`test_fraction` of it is held out as the test split, by *group*: with `group_by="prompt"` (the
default) a group is every row with the same instruction and input, so the test split never shares
an instruction, let alone a pair, with training or validation; `group_by="pair"` groups only rows
with the same instruction, input and pair of responses (in either order). Validation is then
carved from the rest, by the same groups. An official test split (a directory with `test.jsonl`)
is kept as is, and training or validation rows in the same group as a test row are dropped.
Before any of that, duplicate items are dropped (see `data_prep/dedup.py`): rows with the same
instruction, input and pair of responses, whitespace and case aside and in either order, are one
item, kept once. A row is never a duplicate of its own swapped copy, so both orders stay together.
When the source is the PandaLM benchmark test set itself, the held-out split is no longer a clean
benchmark: its rows come from the same annotation effort and instruction pool as the training rows.
"""

from __future__ import annotations

import argparse
import math
import re
from collections import Counter
from collections.abc import Hashable, Mapping, Sequence
from functools import partial
from typing import Any, ClassVar

from data_prep.converter import Converter
from data_prep.dedup import normalize
from data_prep.errors import DataPrepError, RowError
from data_prep.options import PrepOptions
from data_prep.progress import Progress
from data_prep.readers import read_rows
from data_prep.rows import RawRow
from data_prep.sources import SAMPLES_DIR, read_local
from data_prep.splitting import carve

TIE = 0
LABELS = (1, 2, TIE)
BUNDLED_FILE = "testset-v1.json"
GROUP_BY = ("prompt", "pair")
DEFAULT_TEST_FRACTION = 0.15
MAX_TEST_FRACTION = 0.5

SYSTEM_PROMPT = (
    "You are an impartial expert judge of AI assistant responses. You compare two responses to "
    "the same instruction and decide which one follows it better: which is more correct, helpful, "
    "relevant, complete and clear. Neither the order in which the responses are shown nor their "
    "length decides the verdict."
)
ANSWER_FORM = (
    "Answer in exactly this form:\n"
    "JUDGMENT: Response 1 | Response 2 | Tie\n"
    "REASONING: <your reasons>\n\n"
    'On the JUDGMENT line write exactly one of "Response 1", "Response 2" or "Tie" (Tie when both '
    "are equally good or equally bad). Then give REASONING that names specific strengths and "
    "faults of both responses."
)

ROW_FIX = (
    "PandaLM rows need 'instruction', 'response1', 'response2' (top level or under 'inputs') and a "
    "label: annotator1..N votes (0 tie, 1, 2) or 'evaluation_result'/'output' of 1, 2 or Tie; "
    "fix or remove those rows"
)
_LABEL_TEXT = re.compile(r"\s*(?:response\s*)?(1|2|0|tie)\b", re.IGNORECASE)
_VOTE_KEY = re.compile(r"^(?:annotator_?\d+|label_\d+)$")


def is_missing(value: Any) -> bool:
    """None, NaN (PandaLM's missing input) or blank text."""
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and not value.strip()


def as_text(value: Any) -> str:
    """A field as text. Booleans and numbers are a pandas export's reading of texts such as
    `True` (the bundled set has `"response1": true` for the answer "True"), so they are written
    back as text rather than rejected."""
    if is_missing(value):
        return ""
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
        return str(int(value))
    return value if isinstance(value, str) else str(value)


def parse_label(value: Any) -> int | None:
    """1, 2 or 0 (tie) from 1 / "1" / "Response 1" / "Tie" / "2\\n\\n### Reason: ..."; else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return int(value) if value in LABELS else None
    if isinstance(value, str):
        match = _LABEL_TEXT.match(value)
        if match is None:
            return None
        token = match.group(1).lower()
        return TIE if token in ("0", "tie") else int(token)
    return None


def majority(votes: Sequence[int]) -> int:
    """The label more than half of the votes agree on; a tie (0) when none has a majority."""
    if not votes:
        raise ValueError("no votes")
    label, count = Counter(votes).most_common(1)[0]
    return label if count * 2 > len(votes) else TIE


def _fields(data: Mapping[str, Any]) -> Mapping[str, Any]:
    inputs = data.get("inputs")
    return inputs if isinstance(inputs, Mapping) else data


def row_label(data: Mapping[str, Any]) -> int:
    """The row's label: the annotators' majority, else its evaluation result; raises RowError."""
    vote_keys = sorted(key for key in data if _VOTE_KEY.match(key))
    if vote_keys:
        votes = [parse_label(data[key]) for key in vote_keys if not is_missing(data[key])]
        if not votes or any(vote is None for vote in votes):
            raise RowError("every annotator vote is 0 (tie), 1 or 2", ROW_FIX)
        return majority([vote for vote in votes if vote is not None])
    outputs = data.get("outputs")
    for source in (outputs if isinstance(outputs, Mapping) else {}, data):
        for key in ("evaluation_result", "output", "label"):
            if key in source and not is_missing(source[key]):
                label = parse_label(source[key])
                if label is None:
                    raise RowError(f"'{key}' is 1, 2 or Tie", ROW_FIX)
                return label
    raise RowError("a PandaLM row has a label (annotator votes or an evaluation result)", ROW_FIX)


def _item(row: RawRow) -> tuple[str, str, frozenset[str]]:
    """(instruction, input, {response1, response2}), normalized: one judging question in either order."""
    fields = _fields(row.data)
    responses = frozenset(normalize(as_text(fields.get(key))) for key in ("response1", "response2"))
    return (normalize(as_text(fields.get("instruction"))), normalize(as_text(fields.get("input"))), responses)


def build_prompt(instruction: str, given: str, response1: str, response2: str) -> str:
    """The user turn: the task, both responses between clear delimiters, and the answer form."""
    parts = [
        "Which of the two responses below follows the instruction better?",
        f"<instruction>\n{instruction.strip()}\n</instruction>",
    ]
    if given.strip():
        parts.append(f"<input>\n{given.strip()}\n</input>")
    parts.append(f"<response_1>\n{response1.strip()}\n</response_1>")
    parts.append(f"<response_2>\n{response2.strip()}\n</response_2>")
    parts.append(ANSWER_FORM)
    return "\n\n".join(parts)


def swap_label(label: int) -> int:
    return {1: 2, 2: 1}.get(label, TIE)


class Pandalm(Converter):
    name = "pandalm"
    description = "PandaLM pairwise judging (human-annotated test set or PandaLM training format), RLAIF"
    # The bundled prompts, estimated at 3 characters per token (pessimistic): median ~430, p95 ~800,
    # max ~1,080. 2048 leaves room for longer local data; match the job's maxPromptLength.
    default_max_prompt_tokens = 2048
    sources = ("bundled", "local")
    split_files: ClassVar[Mapping[str, Sequence[str]]] = {
        "train": ("train.jsonl", "train.json"),
        "validation": ("validation.jsonl", "validation.json", "dev.jsonl", "dev.json"),
        "test": ("test.jsonl", "test.json"),
    }
    task_option_defaults: ClassVar[Mapping[str, Any]] = {
        "swap": True,
        "test_fraction": DEFAULT_TEST_FRACTION,
        "group_by": "prompt",
    }
    # ---- loading ---------------------------------------------------------------------------

    def load_bundled(self, options: PrepOptions) -> dict[str, list[dict[str, Any]]]:
        """The bundled file is one split; `split` holds part of it out as the test split."""
        path = SAMPLES_DIR / self.name / BUNDLED_FILE
        return {"train": read_rows(path, Progress(f"reading {BUNDLED_FILE}:", enabled=options.progress))}

    def load_local(self, options: PrepOptions) -> dict[str, list[dict[str, Any]]]:
        return dict(read_local(options.local_path, self.split_files, options.progress))

    # ---- options ---------------------------------------------------------------------------

    def check_task_options(self, options: PrepOptions) -> None:
        """Fail on a bad swap, test_fraction or group_by before any row is read.

        Only checks: every hook receives the run's options, so nothing is kept on the converter.
        """
        super().check_task_options(options)
        swap = self.task_option(options, "swap")
        if not isinstance(swap, bool):
            raise DataPrepError(f"pandalm option swap={swap!r} is invalid: expected true or false")
        fraction = self.task_option(options, "test_fraction")
        if (
            isinstance(fraction, bool)
            or not isinstance(fraction, (int, float))
            or not 0.0 <= fraction <= MAX_TEST_FRACTION
        ):
            raise DataPrepError(
                f"pandalm option test_fraction={fraction!r} is invalid: expected a number from 0 to "
                f"{MAX_TEST_FRACTION} (0: no held-out test split)"
            )
        group_by = self.task_option(options, "group_by")
        if group_by not in GROUP_BY:
            raise DataPrepError(
                f"pandalm option group_by={group_by!r} is invalid: expected {' or '.join(GROUP_BY)}"
            )

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--no-swap",
            action="store_true",
            help="do not also emit each pair with the responses swapped (position-bias control)",
        )
        parser.add_argument(
            "--test-fraction",
            type=float,
            default=DEFAULT_TEST_FRACTION,
            help="share of rows held out as the test split when the source has none; 0: none "
            "(default: %(default)s)",
        )
        parser.add_argument(
            "--group-by",
            choices=GROUP_BY,
            default="prompt",
            help="rows kept in one split together: same instruction+input (prompt), or same "
            "instruction+input+pair of responses (pair) (default: %(default)s)",
        )

    def task_options_from_args(self, args: argparse.Namespace) -> dict[str, Any]:
        return {"swap": not args.no_swap, "test_fraction": args.test_fraction, "group_by": args.group_by}

    # ---- splitting -------------------------------------------------------------------------

    def group_key(self, row: RawRow, options: PrepOptions) -> Hashable:
        return _item(row) if self.task_option(options, "group_by") == "pair" else _item(row)[:2]

    def duplicate_key(self, row: RawRow, options: PrepOptions) -> Hashable | None:
        """The instruction, input and unordered pair: a pair given again in the other order is the
        same item (the swap emits that order anyway), so --no-swap keeps exactly the same rows."""
        return _item(row)

    def leak_key(self, row: RawRow, options: PrepOptions) -> Hashable | None:
        """The group: with an official test split, no training row shares a test row's group."""
        return self.group_key(row, options)

    def split(self, raw: Mapping[str, list[RawRow]], options: PrepOptions) -> dict[str, list[RawRow]]:
        """Hold out a seeded test share by group (unless there is an official test split), then
        carve validation from the rest, by the same groups.

        The test split is carved first, so changing `validation_size` never changes it.
        """
        test = list(raw.get("test", []))
        if test:
            return super().split(raw, options)
        size = round(len(raw["train"]) * self.task_option(options, "test_fraction"))
        train, test = carve(raw["train"], size, options.seed, partial(self.group_key, options=options))
        return {**super().split({**raw, "train": train}, options), "test": test}

    # ---- conversion ------------------------------------------------------------------------

    def to_records(self, row: RawRow, split: str, options: PrepOptions | None = None) -> list[dict[str, Any]]:
        fields = _fields(row.data)
        instruction = fields.get("instruction")
        if not isinstance(instruction, str):
            raise RowError("a PandaLM row has an 'instruction' string", ROW_FIX)
        if not instruction.strip():
            return []  # nothing to follow (the bundled set has one such row); counted as skipped
        if "response1" not in fields or "response2" not in fields:
            raise RowError("a PandaLM row has 'response1' and 'response2'", ROW_FIX)
        label = row_label(row.data)
        given = as_text(fields.get("input"))
        response1, response2 = as_text(fields["response1"]), as_text(fields["response2"])
        row_id = self.row_id(row)
        records = [self._record(row_id, instruction, given, response1, response2, label, swapped=False)]
        if self.task_option(options, "swap") and normalize(response1) != normalize(response2):
            records.append(
                self._record(
                    f"{row_id}-swapped",
                    instruction,
                    given,
                    response2,
                    response1,
                    swap_label(label),
                    swapped=True,
                )
            )
        return records

    @staticmethod
    def _record(
        record_id: str,
        instruction: str,
        given: str,
        response1: str,
        response2: str,
        label: int,
        *,
        swapped: bool,
    ) -> dict[str, Any]:
        return {
            "id": record_id,
            "messages": [
                {"role": "system", "content": SYSTEM_PROMPT},
                {"role": "user", "content": build_prompt(instruction, given, response1, response2)},
            ],
            "reference_answer": {
                "label": label,
                "instruction": instruction.strip(),
                "input": given.strip(),
                "response1": response1.strip(),
                "response2": response2.strip(),
                "swapped": swapped,
            },
        }
