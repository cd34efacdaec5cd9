"""Taking the gold out of a sample's `reference_answer`, the same way in every reward.

Converters write references as objects (`{"final_answer": "48", ...}`, `{"answer": 0.0937,
"question": ...}`, `{"label": 1}`), while hand-written tests, users and the public samples also
send bare values (`"48"`, `0.0937`). A reward names the keys its gold may sit under;
`reference_field` returns the first non-empty one, or the bare value. "Missing" (None: nothing
to compare against, a `missing_reference` metric) stays distinct from "present but unusable"
(a value the reward cannot read, a `bad_reference` metric), so a converter bug shows up as such.

`grade_answer` is the shared ending of the RLVR scorers: the answer a response committed to
(or why there is none), graded against the gold under the task's own reading and match rule.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol, TypeVar

from rft_reward.answers import NO_ANSWER, PROBLEM_FLAGS
from rft_reward.reward_input import MISSING_REFERENCE
from rft_reward.reward_output import Score, constant_score
from rft_reward.values import is_empty

#: Per-sample metric: the reference is there, but the reward cannot read a gold from it.
BAD_REFERENCE = "bad_reference"

A = TypeVar("A")
A_co = TypeVar("A_co", covariant=True)
G = TypeVar("G")

_CORRECT = constant_score(1.0, True, PROBLEM_FLAGS[None])
_WRONG = constant_score(0.0, True, PROBLEM_FLAGS[None])
# No answer read: 0, format_ok 0, the problem's flag, and the problem as the log note.
_UNANSWERED = {p: constant_score(0.0, False, flags, p) for p, flags in PROBLEM_FLAGS.items() if p is not None}


def reference_field(reference: Any, keys: Sequence[str]) -> Any:
    """The first non-empty `keys` entry of an object reference, or a non-empty bare reference
    itself; None when there is nothing there."""
    if type(reference) is dict or isinstance(reference, Mapping):  # dict first: no ABC check
        for key in keys:
            value = reference.get(key)
            if not is_empty(value):
                return value
        return None
    return None if is_empty(reference) else reference


class Answer(Protocol[A_co]):
    """What a scorer read from a response: its `value`, or the `problem` saying why there is none
    (`rft_reward.answers.Agreement` is one)."""

    @property
    def value(self) -> A_co | None: ...

    @property
    def problem(self) -> str | None: ...


def grade_answer(
    answer: Answer[A],
    reference: Any,
    keys: Sequence[str],
    read_gold: Callable[[Any], G | None],
    matches: Callable[[A, G], bool],
) -> Score:
    """1.0 when the answer a response committed to matches the gold under `keys` of `reference`,
    read by `read_gold`; else 0.0.

    Every result carries the answer-problem flags; a missing reference adds `missing_reference`
    and an unreadable one `bad_reference` (`format_ok` still says whether the answer was read).
    """
    value, problem = answer.value, answer.problem
    gold_value = reference_field(reference, keys)
    if gold_value is None:
        flags = {**PROBLEM_FLAGS[problem], MISSING_REFERENCE: 1.0}
        return Score(0.0, problem is None, flags, note="missing reference")
    gold = read_gold(gold_value)
    if gold is None:
        flags = {**PROBLEM_FLAGS[problem], BAD_REFERENCE: 1.0}
        return Score(0.0, problem is None, flags, note="reference has no usable gold")
    if value is None:
        return _UNANSWERED[problem or NO_ANSWER]
    return _CORRECT if matches(value, gold) else _WRONG
