"""Finding anchored final answers in model responses, in time linear in the response.

Shared by the RLVR rewards (GSM8K, FinQA) and PandaLM's verdict reader. Two rules shape everything
here:

* Only the answer the prompt asked for counts. There is no "last number in the text" fallback:
  that fallback is an exploit, because the policy learns to end every response with a number.
* Responses can be huge (a policy that never stops, or a 200 KB table echoed back), so every
  scan is bounded: only a tail of the response is searched, each anchor's value is read from a
  bounded window, and brace matching is one pass over the tail instead of one scan per anchor
  (which goes quadratic on `\\boxed{\\boxed{...`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType
from typing import Generic, NamedTuple, TypeVar

DEFAULT_TAIL_CHARS = 2000
DEFAULT_BOXED_CHARS = 256
DEFAULT_VALUE_CHARS = 200
# How far into the tail to look for a line start, so an anchor is never cut in half.
_SNAP_CHARS = 256

# Why no answer could be taken from a response; each is also a per-sample metric name.
NO_ANSWER = "no_answer"
UNPARSABLE_ANSWER = "unparsable_answer"
CONFLICTING_ANSWERS = "conflicting_answers"
ANSWER_PROBLEMS = (NO_ANSWER, UNPARSABLE_ANSWER, CONFLICTING_ANSWERS)
#: The per-sample flags for each outcome (None: an answer was read). Every response reports all
#: three (0 or 1), so their means are rates per training step. Read-only: they are shared.
PROBLEM_FLAGS: Mapping[str | None, Mapping[str, float]] = {
    problem: MappingProxyType({name: float(problem == name) for name in ANSWER_PROBLEMS})
    for problem in (None, *ANSWER_PROBLEMS)
}

T = TypeVar("T")

_SENTENCE_END = re.compile(r"[.!?](?=\s)")
_BRACE_TOKEN = re.compile(r"\\boxed[ \t]*\{|[{}]")


def answer_tail(text: str, limit: int = DEFAULT_TAIL_CHARS) -> str:
    """The part of a response where its final answer may stand.

    Trailing whitespace goes first (a policy can pad with it); then only the last `limit`
    characters are kept, starting at a line boundary when one is near, so the cut never leaves
    half an anchor behind.
    """
    text = text.rstrip()
    if len(text) <= limit:
        return text
    tail = text[-limit:]
    newline = tail.find("\n", 0, _SNAP_CHARS)
    return tail[newline + 1 :] if newline >= 0 else tail


def line_value(text: str, start: int, limit: int = DEFAULT_VALUE_CHARS) -> str:
    """The answer written after an anchor ending at `start`: the rest of its line, up to the
    end of its sentence (`The answer is 48. She sells...` gives `48.`), at most `limit` chars."""
    end = text.find("\n", start, start + limit)
    if end < 0:
        end = min(len(text), start + limit)
    segment = text[start:end]
    if "." not in segment and "!" not in segment and "?" not in segment:
        return segment
    stop = _SENTENCE_END.search(segment)
    return segment[: stop.start() + 1] if stop else segment


def boxed_contents(text: str, max_chars: int = DEFAULT_BOXED_CHARS) -> list[str | None]:
    """The contents of every `\\boxed{...}` in `text`, in order of appearance.

    A box that does not close within `max_chars` characters (or at all) gives None: it is an
    answer anchor whose value cannot be read. Braces are matched in a single pass, so nested
    or unclosed boxes cost linear time.
    """
    if "\\boxed" not in text:
        return []
    found: list[str | None] = []
    stack: list[tuple[int, int]] = []  # (index into found or -1 for a plain brace, content start)
    for token in _BRACE_TOKEN.finditer(text):
        kind = token.group()
        if kind == "}":
            if not stack:
                continue
            slot, content_start = stack.pop()
            if slot >= 0 and token.start() - content_start <= max_chars:
                found[slot] = text[content_start : token.start()]
        elif kind == "{":
            stack.append((-1, token.end()))
        else:
            found.append(None)
            stack.append((len(found) - 1, token.end()))
    return found


class Agreement(NamedTuple, Generic[T]):
    """The single answer a response commits to, or why there is none."""

    value: T | None
    problem: str | None


def agree(readings: Sequence[T | None], same: Callable[[T, T], bool]) -> Agreement[T]:
    """Collapse the readings of every anchor of the chosen kind into one answer.

    Repeats of one value are fine (`#### 48` and `#### 48.0`). Different values are a hedge and
    give CONFLICTING_ANSWERS; so does an unreadable anchor next to a readable one (`#### 48`
    plus `#### forty-eight`). Only unreadable anchors give UNPARSABLE_ANSWER, with no fallback
    to a weaker kind of anchor.
    """
    if not readings:
        return Agreement(None, NO_ANSWER)
    if len(readings) == 1:  # the common case
        only = readings[0]
        return Agreement(only, None) if only is not None else Agreement(None, UNPARSABLE_ANSWER)
    parsed = [r for r in readings if r is not None]
    if not parsed:
        return Agreement(None, UNPARSABLE_ANSWER)
    first = parsed[0]
    if len(parsed) != len(readings) or not all(same(first, other) for other in parsed[1:]):
        return Agreement(None, CONFLICTING_ANSWERS)
    return Agreement(first, None)
