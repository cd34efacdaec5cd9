"""Reading the policy's answer: its `JUDGMENT:` verdict and its `REASONING:` text.

The prompt asks for::

    JUDGMENT: Response 1 | Response 2 | Tie
    REASONING: ...

The verdict is checked in code, so it must be read strictly and without guessing:

* a `JUDGMENT:` label counts only at the start of a line, after optional markdown (`**JUDGMENT:**`,
  `### Judgment:`, `- judgment:`); case does not matter, and `Judgement` is accepted too;
* its value is `Response 1`, `Response 2` or `Tie` (also a bare `1` / `2`), in any case and
  markdown; the value may sit on the next line when the label stands alone;
* the template echoed back (`Response 1 | Response 2 | Tie`) or any other hedge between verdicts
  (`Response 1 or 2`) is unreadable;
* several JUDGMENT lines must agree. Lines that disagree, or a readable line next to an unreadable
  one, make the whole answer unparsable, as the contract demands, so hedging never pays.

Every pattern has bounded repetitions, so a 200 KB answer is read in linear time.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from rft_reward.answers import CONFLICTING_ANSWERS, NO_ANSWER, UNPARSABLE_ANSWER, agree

TIE = 0
VERDICT_NAMES = {1: "Response 1", 2: "Response 2", TIE: "Tie"}

# Per-sample metric names for why no verdict could be read.
NO_JUDGMENT = "no_judgment"
UNPARSABLE_JUDGMENT = "unparsable_judgment"
CONFLICTING_JUDGMENTS = "conflicting_judgments"
JUDGMENT_PROBLEMS = (NO_JUDGMENT, UNPARSABLE_JUDGMENT, CONFLICTING_JUDGMENTS)
_PROBLEM_NAMES = {
    NO_ANSWER: NO_JUDGMENT,
    UNPARSABLE_ANSWER: UNPARSABLE_JUDGMENT,
    CONFLICTING_ANSWERS: CONFLICTING_JUDGMENTS,
}

_LEAD = r"[ \t>*_`#~-]{0,8}"  # bullets, quotes, headings and emphasis before a label
_AFTER_LABEL = r"[ \t*_`]{0,8}:[ \t*_`]{0,8}"
_JUDGMENT = re.compile(rf"^{_LEAD}judge?ment{_AFTER_LABEL}([^\n]*)", re.IGNORECASE | re.MULTILINE)
_REASONING = re.compile(rf"(?:^|(?<=[ \t.;:)])){_LEAD}reasoning{_AFTER_LABEL}", re.IGNORECASE | re.MULTILINE)
_VALUE = re.compile(
    r"""[\s*_`"'\[(]{0,12}(?:response[ \t]{0,3}\#?[ \t]{0,3}(?P<n>[12])|(?P<tie>tie)|(?P<bare>[12]))(?!\w)""",
    re.IGNORECASE,
)
_HEDGE = re.compile(
    r"""[\s*_`"')\].]{0,12}(?:\||/|&|,|\bor\b|\band\b)[\s*_`"'\[(]{0,12}(?:response|tie\b|[12]\b)""",
    re.IGNORECASE,
)
_MARKDOWN_ONLY = re.compile(r"[\s*_`#>~-]*")
_WORD = re.compile(r"\w")
# How far past a bare `JUDGMENT:` label its value is looked for; bounded to stay linear.
_NEXT_LINE_CHARS = 300


class PolicyAnswer(NamedTuple):
    """The verdict (1, 2 or 0 for a tie) or the problem reading it, and the REASONING text."""

    verdict: int | None
    problem: str | None
    reasoning: str | None


def read_value(value: str) -> int | None:
    """The verdict one JUDGMENT line's value commits to, or None (unreadable or a hedge)."""
    match = _VALUE.match(value)
    if match is None or _HEDGE.match(value, match.end()):
        return None
    if match.group("tie"):
        return TIE
    return int(match.group("n") or match.group("bare"))


def _judgment_values(text: str) -> list[str]:
    values = []
    for match in _JUDGMENT.finditer(text):
        value = match.group(1)
        if _MARKDOWN_ONLY.fullmatch(value):  # `**JUDGMENT:**` alone: the value is on the next line
            window = text[match.end() + 1 : match.end() + 1 + _NEXT_LINE_CHARS]
            value = next((line for line in window.split("\n") if line.strip()), "")
        values.append(value)
    return values


def reasoning_text(text: str) -> str | None:
    """The text after the first `REASONING:` label, without JUDGMENT lines; None if it has no words."""
    match = _REASONING.search(text)
    if match is None:
        return None
    body = _JUDGMENT.sub("", text[match.end() :]).strip()
    return body if _WORD.search(body) else None


def read_answer(text: str) -> PolicyAnswer:
    """The policy's verdict and reasoning, under the strict rules in the module docstring."""
    readings = [read_value(value) for value in _judgment_values(text)]
    agreement = agree(readings, lambda a, b: a == b)
    problem = _PROBLEM_NAMES[agreement.problem] if agreement.problem is not None else None
    return PolicyAnswer(agreement.value, problem, reasoning_text(text))
