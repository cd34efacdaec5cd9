"""Reading numbers out of model answers and gold labels.

Rewards compare numbers, never strings, so that `7.50` equals `7.5` and `$1,000.` equals `1000`.
Everything here is a small pure function so each task can compose the reading it needs:
GSM8K uses the defaults; FinQA turns on `accounting_negatives` (`(94)` is -94) and
`ignore_scale_words` (`5 million` reads as 5) and uses `NumberReading.is_percent` for its
percentage readings, with its own tolerance passed to `numbers_equal`.

A text that is not exactly one number (plus optional unit words) reads as None: word answers
(`forty-eight`), hedges (`48 or 50`) and prose all fail closed, because a lenient reader is what
a policy learns to exploit.
"""

from __future__ import annotations

import math
import re
from typing import NamedTuple

# Answers longer than this are prose, not a number; the bound also keeps every regex linear.
MAX_NUMBER_TEXT = 200
# Unit words after the number (`48 apples`, `7 dollars per hour`); more than this is a sentence.
MAX_UNIT_WORDS = 4

DEFAULT_REL_TOL = 1e-6
DEFAULT_ABS_TOL = 1e-9

# Words that change the value or add a second one; a reading that carries them is ambiguous.
_NUMBER_WORDS = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
    "sixteen seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety "
    "hundred hundreds dozen dozens half halves quarter quarters third thirds"
)
_SCALE_WORDS = "thousand thousands million millions billion billions trillion trillions bn mn"
NUMBER_WORDS = frozenset(_NUMBER_WORDS.split())
SCALE_WORDS = frozenset(_SCALE_WORDS.split())
PERCENT_WORDS = frozenset({"percent", "pct"})


class NumberReading(NamedTuple):
    """One number read from a text: its value and whether it was written as a percentage."""

    value: float
    is_percent: bool


_PLAIN = re.compile(r"-?[0-9]+(?:\.[0-9]+)?")

_NUM = r"(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?|\.[0-9]+(?:[eE][-+]?[0-9]+)?"
_SNUM = rf"[-+]?(?:{_NUM})"
_LETTER = r"[^\W\d_]"
_WORD = rf"{_LETTER}[^\W\d_'’./-]*(?:['’./-]{_LETTER}*)*"
_NUMBER_TEXT = re.compile(
    rf"""
    (?P<sign>[-+])?\s*
    (?:
        \\[dt]?frac\s*\{{\s*(?P<fnum>{_SNUM})\s*\}}\s*\{{\s*(?P<fden>{_SNUM})\s*\}}
      | (?P<num>{_NUM})(?:\s*/\s*(?P<den>{_NUM}))?
    )
    \s*(?P<pct>%)?
    (?:\s*(?P<words>{_WORD}(?:\s+{_WORD}){{0,{MAX_UNIT_WORDS + 1}}}))?
    """,
    re.VERBOSE,
)
_LATEX_WRAPPER = re.compile(r"\\(?:boxed|text|textbf|textrm|mathrm|mathbf|mbox|fbox)\s*\{([^{}]*)\}")
_LATEX_SPACING = re.compile(r"\\[,;:! ]|\\quad|\\qquad|\\left|\\right")
_MARKUP_CHARS = str.maketrans({"$": None, "*": None, "`": None, "~": None, "\u2212": "-", "\u2013": "-"})
_TRAILING_PUNCT = ".,;:!?"


def strip_markup(text: str) -> str:
    """Remove the decoration around a number that carries no value.

    `$`, markdown emphasis, inline-code ticks, LaTeX math delimiters, `\\text{...}` wrappers,
    LaTeX spacing and trailing sentence punctuation all appear around correct answers.
    """
    s = text.replace("\\$", "").replace("\\%", "%").replace("\\(", "").replace("\\)", "")
    s = s.replace("\\[", "").replace("\\]", "").translate(_MARKUP_CHARS)
    s = _LATEX_SPACING.sub("", s)
    for _ in range(3):  # innermost wrappers first; three levels is plenty for a number
        unwrapped = _LATEX_WRAPPER.sub(r" \1 ", s)
        if unwrapped == s:
            break
        s = unwrapped
    s = s.strip().strip("_").strip()
    while s and s[-1] in _TRAILING_PUNCT:
        s = s[:-1].rstrip()
    return s


def split_accounting_negative(text: str) -> tuple[str, bool]:
    """`(94)` is accounting notation for -94: return the inner text and whether it was negated."""
    if len(text) > 2 and text[0] == "(" and text[-1] == ")":
        return text[1:-1].strip(), True
    return text, False


def _unit_words_ok(words: str, *, ignore_scale_words: bool) -> tuple[bool, bool]:
    """Check trailing words; return (acceptable, says_percent)."""
    tokens = words.lower().split()
    if len(tokens) > MAX_UNIT_WORDS:
        return False, False
    says_percent = bool(tokens) and tokens[0] in PERCENT_WORDS
    if tokens[:2] == ["per", "cent"]:
        says_percent = True
    for token in tokens:
        bare = token.strip("'’./-")
        if bare in SCALE_WORDS:
            if not ignore_scale_words:
                return False, False
        elif bare in NUMBER_WORDS or any(part in NUMBER_WORDS for part in bare.split("-")):
            return False, False
    return True, says_percent


def _to_float(number: str) -> float:
    return float(number.replace(",", ""))


def parse_number(
    text: str,
    *,
    accounting_negatives: bool = False,
    ignore_scale_words: bool = False,
) -> NumberReading | None:
    """Read exactly one number from `text`, or None when it is not exactly one number.

    Accepts integers, decimals, thousands commas, negatives, scientific notation, `a/b` and
    `\\frac{a}{b}`, a trailing `%` or `percent`, and trailing unit words. Number words and scale
    words (`million`) after the number make the reading ambiguous and give None, unless
    `ignore_scale_words` says the scale is implied by the data (FinQA's tables).
    """
    if not isinstance(text, str) or len(text) > MAX_NUMBER_TEXT:
        return None
    if _PLAIN.fullmatch(text):  # the common case: skip the full grammar
        return NumberReading(float(text), False)
    s = strip_markup(text)
    negated = False
    if accounting_negatives:
        s, negated = split_accounting_negative(s)
    m = _NUMBER_TEXT.fullmatch(s)
    if m is None:
        return None
    is_percent = m.group("pct") is not None
    words = m.group("words")
    if words:
        ok, says_percent = _unit_words_ok(words, ignore_scale_words=ignore_scale_words)
        if not ok:
            return None
        is_percent = is_percent or says_percent
    try:
        if m.group("fnum") is not None:
            value = _to_float(m.group("fnum")) / _to_float(m.group("fden"))
        elif m.group("den") is not None:
            value = _to_float(m.group("num")) / _to_float(m.group("den"))
        else:
            value = _to_float(m.group("num"))
    except ZeroDivisionError:
        return None
    if m.group("sign") == "-":
        value = -value
    if negated:
        value = -value
    if not math.isfinite(value):
        return None
    return NumberReading(value, is_percent)


def to_number(text: str) -> float | None:
    """The value of `text` under the default (GSM8K) reading, or None."""
    reading = parse_number(text)
    return None if reading is None else reading.value


def numbers_equal(
    a: float,
    b: float,
    *,
    rel_tol: float = DEFAULT_REL_TOL,
    abs_tol: float = DEFAULT_ABS_TOL,
) -> bool:
    """Compare two numbers with a relative plus an absolute tolerance.

    The tolerances add (rather than `math.isclose`'s max) so a gold of 0 still accepts
    round-off like 1e-12, and large golds accept a model's rounding of a long decimal.
    """
    if not (math.isfinite(a) and math.isfinite(b)):
        return False
    return abs(a - b) <= abs_tol + rel_tol * max(abs(a), abs(b))
