"""GSM8K reward (RLVR): 1.0 when the response's anchored final answer equals the gold number.

The prompt asks for the final answer after `####`. Three kinds of anchor are read, strongest
first: `#### 48` (also `####48`), `\\boxed{48}`, then a final-answer phrase (`The answer is 48`,
`**Final answer:** 48`, `Answer: 48`). Only the strongest kind present counts, and it must
commit to one value: anchors of that kind that disagree, or one that cannot be read next to one
that can, score 0, and so does a strongest kind that cannot be read at all, with no fallback to
a weaker kind. There is never a "last number in the text" fallback. See
docs/reward-contract.md ("GSM8K") for the rules this implements.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any, NamedTuple

from rft_reward.answers import NO_ANSWER, agree, answer_tail, boxed_contents, line_value
from rft_reward.numbers import numbers_equal, to_number
from rft_reward.references import grade_answer, reference_field
from rft_reward.reward_input import Sample
from rft_reward.reward_output import Score
from rft_reward.values import finite_number

HASH = "hash"
BOXED = "boxed"
PHRASE = "phrase"

# Keys a reference object may carry its gold under: the contract's, then the raw GSM8K row's.
REFERENCE_KEYS = ("final_answer", "answer")

_HASH_MARK = "####"
_E = r"[*_]{0,3}"  # markdown emphasis around phrase words; bounded so runs of `*` stay linear
_PHRASE = re.compile(
    rf"""(?<![^\W_])(?:
        the{_E}\s{{1,3}}{_E}(?:final{_E}\s{{1,3}}{_E})?answer{_E}\s{{1,3}}{_E}is\b{_E}[ \t]{{0,3}}:?
      | final{_E}[ \t]{{1,3}}{_E}answer{_E}[ \t]{{0,3}}:
      | answer{_E}[ \t]{{0,3}}:
    ){_E}[ \t]*""",
    re.IGNORECASE | re.VERBOSE,
)
# The common case, `#### 48` ending the response: a plain number, short enough that the general
# reading below (a 200-character value window, sentence ends, phrases) sees exactly these digits.
_LONE_HASH_NUMBER = re.compile(r"[ \t]*(-?[0-9]{1,60}(?:\.[0-9]{1,60})?)")


class FinalAnswer(NamedTuple):
    """What a response commits to: the anchor kind used and its value, or the problem."""

    kind: str | None
    value: float | None
    problem: str | None


def _hash_values(tail: str) -> list[str]:
    """Values after each `####` that is not part of a longer run of `#`."""
    values: list[str] = []
    start = tail.find(_HASH_MARK)
    while start >= 0:
        end = start + len(_HASH_MARK)
        if (start == 0 or tail[start - 1] != "#") and tail[end : end + 1] != "#":
            rest = end
            while rest < len(tail) and tail[rest] in " \t":
                rest += 1
            if tail[rest : rest + 1] == "\n":  # `####` alone on its line: the value is on the next
                rest += 1
            values.append(_without_phrase(line_value(tail, rest)))
            start = tail.find(_HASH_MARK, end)
        else:
            start = tail.find(_HASH_MARK, start + 1)
    return values


def _without_phrase(value: str) -> str:
    """`#### Final answer: 48` commits to 48 just as `#### 48` does."""
    m = _PHRASE.match(value)
    return value[m.end() :] if m else value


def _phrase_values(tail: str) -> list[str]:
    """Values after each final-answer phrase. A phrase directly followed by another
    (`Final answer: The answer is 48`) is one anchor, read from the last phrase."""
    matches = list(_PHRASE.finditer(tail))
    return [
        line_value(tail, m.end())
        for i, m in enumerate(matches)
        if i + 1 == len(matches) or matches[i + 1].start() != m.end()
    ]


def _lone_hash_number(tail: str) -> float | None:
    """The value when the tail has exactly one `####` (not part of a longer run of `#`) and a
    plain number after it ends the response; None sends the response to the general reading.

    Exactly what `final_answer`'s general path reads for such a tail, in a fraction of the time:
    it is most of a training job's responses.
    """
    start = tail.rfind(_HASH_MARK)
    if start < 0 or tail.find(_HASH_MARK) != start:  # none, several, or inside a `#####` run
        return None
    m = _LONE_HASH_NUMBER.fullmatch(tail, start + len(_HASH_MARK))
    return float(m.group(1)) if m is not None else None


def final_answer(response_text: str) -> FinalAnswer:
    """The single final answer a response commits to, under the contract's anchor rules."""
    tail = answer_tail(response_text)
    lone = _lone_hash_number(tail)
    return FinalAnswer(HASH, lone, None) if lone is not None else general_final_answer(tail)


def general_final_answer(tail: str) -> FinalAnswer:
    """`final_answer` for any answer tail, every anchor kind and hedge considered."""
    kind, texts = HASH, _hash_values(tail)
    if not texts:
        kind, texts = BOXED, boxed_contents(tail)
    if not texts:
        kind, texts = PHRASE, _phrase_values(tail)
    if not texts:
        return FinalAnswer(None, None, NO_ANSWER)
    agreement = agree([None if t is None else to_number(t) for t in texts], numbers_equal)
    return FinalAnswer(kind, agreement.value, agreement.problem)


@lru_cache(maxsize=4096)
def _gold_from_text(text: str) -> float | None:
    if _HASH_MARK in text:  # a full GSM8K solution: the gold follows its last `####`
        text = text[text.rindex(_HASH_MARK) + len(_HASH_MARK) :].strip()
    return to_number(text.strip())


def _read_gold(gold: Any) -> float | None:
    if isinstance(gold, str):
        return _gold_from_text(gold)
    return finite_number(gold)  # None for a nested object, a boolean, NaN or nothing at all


def gold_number(reference: Any) -> float | None:
    """The gold number from `{"final_answer": ...}`, a bare number or numeric string, or a full
    GSM8K solution ending in `#### 48`; None when none of those is present."""
    return _read_gold(reference_field(reference, REFERENCE_KEYS))


def score(response_text: str, reference: Any, sample: Sample | None = None) -> Score:
    """1.0 if the anchored final answer equals the gold number (1e-6 relative + 1e-9 absolute)."""
    return grade_answer(final_answer(response_text), reference, REFERENCE_KEYS, _read_gold, numbers_equal)
