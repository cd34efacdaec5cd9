"""Reading the answer a FinQA response commits to, in time linear in the response.

The prompt asks the policy to end with `ANSWER: <answer>`; `\\boxed{<answer>}` is read too, but
only when no `ANSWER:` marker is present (the marker is what the prompt asked for, so it is the
stronger anchor). Only marked answers count: a response full of currency amounts and no marker
has no answer, because a "last number in the text" fallback teaches the policy to end with a
number. The search is bounded the same way as GSM8K's (`rft_reward.answers`): a tail of the
response, a bounded window per marker, one pass for braces.

An answer is read as a number (`$1,250`, `(94)`, `9.4%`, `12 percent`, `5 million`), else as a
yes/no word (its first word, case, punctuation and markdown ignored), else it is unreadable.
The reading does not depend on the gold, so the same response always gets the same
`format_ok` and the same hedge check.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import NamedTuple

from rft_reward.answers import Agreement, agree, answer_tail, boxed_contents, line_value
from rft_reward.numbers import NumberReading, numbers_equal, parse_number

MARKER = "marker"
BOXED = "boxed"
YES_NO = frozenset({"yes", "no"})

#: A marked answer is a number reading or the word "yes" / "no".
Reading = NumberReading | str

# What must precede a colon for it to end a marker: `ANSWER`, `**ANSWER`, `**Answer**`, `[ANSWER`,
# `[ANSWER]`, `Final answer`; not `myanswer`. Markers are found from their colons: a
# case-insensitive scan for the word itself is several times slower, and every marker has one.
# The repeats are bounded, so a run of `*` stays linear.
_BEFORE_COLON = re.compile(r"(?<![^\W_])answer[*_\]]{0,3}[ \t]{0,3}\Z", re.IGNORECASE)
_LOOKBACK = len("answer") + 3 + 3
_MARKER_TAIL_CHARS = frozenset("rR*_] \t")  # the last character of `answer`, emphasis, `]`, blanks
# Decoration around a marked value that carries no value: emphasis, brackets, code ticks.
_LEFT_WRAPPERS = " \t*_[`"
_RIGHT_WRAPPERS = " \t*_]`.,;:!?"
# `(94) million`: accounting parentheses followed by unit words.
_ACCOUNTING_WITH_WORDS = re.compile(r"\(([^()]{1,60})\)([ \t]+[^\W\d_][^()]{0,60})")
_LETTERS = re.compile(r"[^\W\d_]+")


class MarkedAnswers(NamedTuple):
    """The marked values of the strongest anchor kind present; `kind` None when there are none.

    A value is None when its anchor could not be read at all (a `\\boxed{` that never closes).
    """

    kind: str | None
    texts: list[str | None]


def _marker_ends(tail: str) -> Iterator[int]:
    """Where each `ANSWER:` marker's value starts (just after its colon)."""
    colon = tail.find(":")
    while colon >= 0:
        # Cheap test first: most colons follow another word (`asks:`, `revenues:`).
        # search() with pos/endpos, not a slice: the lookbehind still sees the text before pos.
        if tail[colon - 1 : colon] in _MARKER_TAIL_CHARS and _BEFORE_COLON.search(
            tail, max(0, colon - _LOOKBACK), colon
        ):
            yield colon + 1
        colon = tail.find(":", colon + 1)


def _marker_values(tail: str) -> list[str]:
    values: list[str] = []
    for start in _marker_ends(tail):
        value = line_value(tail, start)
        if not value.strip(_LEFT_WRAPPERS + _RIGHT_WRAPPERS + "$"):
            # `**ANSWER:**` alone on its line: the value is on the next line.
            newline = tail.find("\n", start, start + len(value) + 1)
            if newline >= 0:
                value = line_value(tail, newline + 1)
        values.append(value)
    return values


def marked_answers(response_text: str) -> MarkedAnswers:
    """The texts after every `ANSWER:` marker, else inside every `\\boxed{}`, in the tail."""
    tail = answer_tail(response_text)
    texts = _marker_values(tail)
    if texts:
        return MarkedAnswers(MARKER, list(texts))
    boxed = boxed_contents(tail)
    if boxed:
        return MarkedAnswers(BOXED, boxed)
    return MarkedAnswers(None, [])


def _unwrap(text: str) -> str:
    return text.lstrip(_LEFT_WRAPPERS).rstrip(_RIGHT_WRAPPERS)


def read_number(text: str) -> NumberReading | None:
    """FinQA's number reading: `$` and commas stripped, `(94)` is -94, scale words ignored
    (answers are in the table's own units), `%` or `percent` marks a percentage."""
    value = _unwrap(text)
    reading = parse_number(value, accounting_negatives=True, ignore_scale_words=True)
    if reading is None:
        moved = _ACCOUNTING_WITH_WORDS.fullmatch(value.replace("$", ""))
        if moved is not None:  # `(94) million` reads as `(94 million)`
            reading = parse_number(
                f"({moved.group(1)}{moved.group(2)})", accounting_negatives=True, ignore_scale_words=True
            )
    return reading


def read_yes_no(text: str) -> str | None:
    """`yes` or `no` when the text's first word is one of them (`**Yes**, because ...`)."""
    words = _unwrap(text).split(None, 1)
    if not words:
        return None
    word = "".join(_LETTERS.findall(words[0])).lower()
    return word if word in YES_NO else None


def read_answer(text: str | None) -> Reading | None:
    """A marked value as a number, else as yes/no, else None (unreadable)."""
    if text is None:
        return None
    if _unwrap(text)[:1].isalpha():  # `Yes, ...`: no number starts with a letter
        return read_yes_no(text)
    number = read_number(text)
    return number if number is not None else read_yes_no(text)


def same_answer(a: Reading, b: Reading) -> bool:
    """Two marked answers commit to the same thing: the same word, or the same number written the
    same way. `9.4%` and `0.094` differ: offering both would be a hedge across the percent readings."""
    if isinstance(a, str) or isinstance(b, str):
        return a == b
    return a.is_percent == b.is_percent and numbers_equal(a.value, b.value)


def final_answer(response_text: str) -> tuple[str | None, Agreement[Reading]]:
    """The anchor kind used and the single answer the response commits to, or why there is none."""
    marked = marked_answers(response_text)
    return marked.kind, agree([read_answer(text) for text in marked.texts], same_answer)
