"""FinQA reward (RLVR): 1.0 when the response's marked answer matches the gold, else 0.0.

Implements the FinQA section of docs/reward-contract.md:

* the answer is the value after `ANSWER:` (or in `\\boxed{}`), read by `finqa_reward.answers`;
  no marker, an unreadable one, or marked answers that disagree score 0;
* numbers match within 1% of the gold (1e-4 absolute when the gold is 0), under each reading
  of a percentage the contract allows. FinQA's gold `exe_ans` is usually a decimal ratio
  (0.0937) while people, and policies, write percentages (9.37%), so `9.37%` must match 0.0937;
* a bare `9.37` matches 0.0937 only when the *question* asks for a percentage. The question is
  the reference's `question` field, or the line after the prompt's `Question:` label, never the
  whole prompt: FinQA tables almost always contain `%`, which would otherwise let every bare
  number be read both ways;
* a yes/no gold is matched by the first word of the marked answer.

There is no partial credit: the public sample's "0.95 within 0.9" rule paid 3.8 for a gold of 3.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from rft_reward.numbers import NumberReading, numbers_equal
from rft_reward.references import grade_answer, reference_field
from rft_reward.reward_input import Sample, SampleError, content_text
from rft_reward.reward_output import Score
from rft_reward.values import finite_number

from finqa_reward.answers import Reading, final_answer, read_answer

#: Keys a reference object may carry its gold under: the contract's, then a raw FinQA `qa` dict's.
REFERENCE_KEYS = ("answer", "exe_ans")
#: The label the FinQA prompt puts before the question (data_prep/converters/finqa.py writes it).
QUESTION_LABEL = "Question:"
MAX_QUESTION_CHARS = 2000

#: Relative tolerance against the gold, and the absolute one used when the gold is 0.
REL_TOL = 0.01
ZERO_GOLD_ABS_TOL = 1e-4
# Lets an error of exactly 1%, written in decimal, count despite binary rounding (0.505 vs 0.5).
_ROUNDING_SLACK = 1e-9
_PERCENT_WORDS = ("percent", "per cent", "%")


def within_tolerance(predicted: float, gold: float) -> bool:
    """Within 1% of the gold, relative to the gold; within 1e-4 when the gold is 0."""
    if gold == 0:
        return numbers_equal(predicted, gold, rel_tol=0.0, abs_tol=ZERO_GOLD_ABS_TOL)
    return numbers_equal(predicted, gold, rel_tol=0.0, abs_tol=REL_TOL * abs(gold) * (1 + _ROUNDING_SLACK))


def asks_for_percentage(question: str | None) -> bool:
    """The question mentions percent, percentage or `%` (`percentage` contains `percent`)."""
    if not question:
        return False
    lowered = question.lower()
    return any(word in lowered for word in _PERCENT_WORDS)


def _values_to_compare(
    predicted: NumberReading, gold: NumberReading, percent_question: bool
) -> Iterator[tuple[float, float]]:
    """(prediction, gold) pairs on the gold's scale, one per reading the contract allows."""
    yield predicted.value, gold.value  # as printed, `%` ignored: 14.1% vs 14.1
    if predicted.is_percent and not gold.is_percent:
        yield predicted.value / 100, gold.value  # 9.37% vs 0.0937
    if gold.is_percent and not predicted.is_percent:
        yield predicted.value * 100, gold.value  # 0.141 vs "14.1%"
    if percent_question and not predicted.is_percent and not gold.is_percent:
        yield predicted.value / 100, gold.value  # bare 9.37 vs 0.0937, percentage questions only


def answer_matches(predicted: Reading, gold: Reading, question: str | None = None) -> bool:
    """The contract's match: the same yes/no word, or a number within tolerance under any of the
    percentage readings (the bare-number one only when `question` asks for a percentage)."""
    if isinstance(predicted, str) or isinstance(gold, str):
        return predicted == gold
    pairs = _values_to_compare(predicted, gold, asks_for_percentage(question))
    return any(within_tolerance(p, g) for p, g in pairs)


def _read_gold(value: Any) -> Reading | None:
    if isinstance(value, str):
        return read_answer(value)
    number = finite_number(value)
    return None if number is None else NumberReading(number, False)


def gold_answer(reference: Any) -> Reading | None:
    """The gold from `{"answer": exe_ans, ...}` (or a raw `qa` dict's `exe_ans`), or a bare value:
    a number, a numeric string (`"14.1%"` is a percentage), or `"yes"` / `"no"`."""
    return _read_gold(reference_field(reference, REFERENCE_KEYS))


def prompt_question(messages: Sequence[Any]) -> str | None:
    """The question line of the last user turn: the text after the last `Question:` label that
    starts a line, up to the end of that line. Never the rest of the prompt."""
    for message in reversed(messages):
        if not isinstance(message, Mapping) or message.get("role") != "user":
            continue
        try:
            text = content_text(message.get("content"))
        except SampleError:
            return None
        start = text.rfind("\n" + QUESTION_LABEL)
        if start >= 0:
            start += 1
        elif text.startswith(QUESTION_LABEL):
            start = 0
        else:
            return None
        start += len(QUESTION_LABEL)
        end = text.find("\n", start, start + MAX_QUESTION_CHARS)
        return text[start : end if end >= 0 else start + MAX_QUESTION_CHARS].strip()
    return None


def question_text(reference: Any, sample: Sample | None) -> str | None:
    """The question, from the reference's `question` field, else from the prompt's label."""
    if isinstance(reference, Mapping):
        question = reference.get("question")
        if isinstance(question, str) and question.strip():
            return question[:MAX_QUESTION_CHARS]
    return prompt_question(sample.prompt_messages) if sample is not None else None


def score(response_text: str, reference: Any, sample: Sample | None = None) -> Score:
    """1.0 if the marked answer matches the gold under the contract's FinQA rules, else 0.0."""
    _, answer = final_answer(response_text)

    def matches(predicted: Reading, gold: Reading) -> bool:
        return answer_matches(predicted, gold, question_text(reference, sample))

    return grade_answer(answer, reference, REFERENCE_KEYS, _read_gold, matches)
