"""The example data a scaffolded task starts with, so it synthesizes and rehearses before any edit.

Without `--from-jsonl`, `rft new-task` bundles a small generated dataset that meets Bedrock's
minimums (at least 100 training and 100 validation records once validation is carved out), plus
labeled rollouts that show what the example reward pays for and what it refuses:

* RLVR: arithmetic word problems with a numeric reference. Rollouts per prompt: the right answer
  on an `ANSWER:` line (pays), a wrong one (does not), and the right one without the line (does
  not: the reward has no "last number in the text" fallback).
* RLAIF: short writing requests with grading notes as the reference. Rollouts per prompt: a
  response that follows the notes (label true) and a refusal (label false); only the judge can
  score them, so rehearsing needs `--judge bedrock`.

With `--from-jsonl` the user's rows are the dataset and the rollouts are built from their
references the same way. Everything is deterministic (a fixed seed), so two scaffolds of the
same name are identical.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from rft.rehearse.rollouts import Rollout, to_bedrock_sample

Row = dict[str, Any]
EXAMPLE_ROWS = 240
SEED = 7
RLVR_ROLLOUT_PROMPTS = 50
RLAIF_ROLLOUT_PROMPTS = 20
INVOKE_SAMPLES = 6
REFUSAL = "Sorry, I can't help with that."


def _fmt(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.2f}".rstrip("0").rstrip(".")


# -- RLVR: arithmetic word problems --------------------------------------------------------------

_WordProblem = Callable[[random.Random], tuple[str, float]]


def _total(rng: random.Random) -> tuple[str, float]:
    a, b = rng.randint(12, 480), rng.randint(12, 480)
    return (
        f"A bakery bakes {a} loaves in the morning and {b} in the afternoon. How many loaves does it bake?",
        a + b,
    )


def _left(rng: random.Random) -> tuple[str, float]:
    a = rng.randint(40, 900)
    b = rng.randint(5, a - 5)
    return (
        f"Maya has {a} stickers and gives {b} of them to her brother. How many stickers does she keep?",
        a - b,
    )


def _boxes(rng: random.Random) -> tuple[str, float]:
    a, b = rng.randint(6, 48), rng.randint(3, 35)
    return f"A box holds {a} pencils. How many pencils are in {b} full boxes?", a * b


def _share(rng: random.Random) -> tuple[str, float]:
    each, friends = rng.randint(3, 60), rng.randint(2, 12)
    return (
        f"{friends} friends share {each * friends} marbles equally. How many marbles does each friend get?",
        each,
    )


def _distance(rng: random.Random) -> tuple[str, float]:
    speed, hours = rng.randint(30, 120), rng.randint(2, 9)
    return f"A train travels at {speed} km per hour for {hours} hours. How many kilometres does it travel?", (
        speed * hours
    )


def _discount(rng: random.Random) -> tuple[str, float]:
    price, off = rng.randint(2, 40) * 10, rng.choice([10, 20, 25, 50])
    return f"A jacket costs ${price}. It is on sale for {off}% off. What is the sale price, in dollars?", (
        price * (100 - off) / 100
    )


_WORD_PROBLEMS: tuple[_WordProblem, ...] = (_total, _left, _boxes, _share, _distance, _discount)


def rlvr_rows(count: int = EXAMPLE_ROWS, seed: int = SEED) -> list[Row]:
    """`count` distinct word problems, kinds interleaved, each with its numeric answer as the reference."""
    rng = random.Random(seed)
    rows: list[Row] = []
    seen: set[str] = set()
    while len(rows) < count:
        prompt, answer = _WORD_PROBLEMS[len(rows) % len(_WORD_PROBLEMS)](rng)
        if prompt not in seen:
            seen.add(prompt)
            rows.append({"prompt": prompt, "reference": _fmt(answer)})
    return rows


def _wrong_answer(reference: str) -> str:
    """An answer the example RLVR scorer must refuse: a different number, or a different text."""
    try:
        value = float(reference.replace(",", ""))
    except ValueError:
        return f"not {reference}"
    return _fmt(value + max(1.0, abs(value)))


# -- RLAIF: short writing requests graded by a judge -----------------------------------------------

_PRODUCTS = (
    "desk lamp",
    "water bottle",
    "backpack",
    "coffee grinder",
    "rain jacket",
    "notebook",
    "kettle",
    "bike lock",
)
_QUALITIES = ("lightweight", "waterproof", "recycled", "compact", "handmade", "quiet")
_REQUESTS: tuple[tuple[str, str, str], ...] = (
    (
        "Write a one-sentence product description for a {quality} {product}.",
        "Exactly one sentence; names the {product} and says it is {quality}; invents no prices or specifications.",
        "Our {quality} {product} is ready for every day, wherever your plans take you.",
    ),
    (
        "Suggest a short, catchy name for a {quality} {product} and explain the name in one sentence.",
        "Gives one name of at most three words and one sentence that ties the name to being {quality}.",
        'Name: "{Quality}Go". It tells you at a glance that this {product} is {quality} and ready to go.',
    ),
    (
        "A customer asks whether our {quality} {product} can be returned. Write a polite two-sentence reply.",
        "Two sentences; polite; says returns are possible and how to start one, without promising refunds "
        "beyond a standard return.",
        "Yes, you can return your {quality} {product} within 30 days of delivery. "
        "Just start a return from your order page and we will email you a label.",
    ),
    (
        "List three benefits of a {quality} {product}, one per line.",
        "Exactly three lines, each a distinct benefit that follows from the {product} being {quality}.",
        "Easy to carry every day.\nHolds up to daily use.\nA {quality} choice you will keep for years.",
    ),
    (
        "Write a tweet (under 200 characters) announcing our new {quality} {product}.",
        "Under 200 characters; announces a new {quality} {product}; upbeat; at most two hashtags.",
        "Meet our new {quality} {product}: made for the way you move. Available today! #new",
    ),
)


def rlaif_rows(count: int = EXAMPLE_ROWS) -> list[Row]:
    """Writing requests (product x quality x request kind, kinds interleaved), grading notes as reference."""
    rows: list[Row] = []
    for product in _PRODUCTS:
        for quality in _QUALITIES:
            for request, notes, _ in _REQUESTS:
                values = {"product": product, "quality": quality, "Quality": quality.title()}
                rows.append({"prompt": request.format(**values), "reference": notes.format(**values)})
    return rows[:count]


def _good_response(prompt: str) -> str | None:
    for request, _, good in _REQUESTS:
        for product in _PRODUCTS:
            for quality in _QUALITIES:
                if request.format(product=product, quality=quality) == prompt:
                    return good.format(product=product, quality=quality, Quality=quality.title())
    return None


# -- rollouts for `rft rehearse --responses` ----------------------------------------------------------


def _reference_answer(reference: Any) -> str | None:
    """What the example RLVR scorer reads from a reference (it must match `reference_text` there)."""
    if isinstance(reference, Mapping):
        reference = reference.get("answer")
    if isinstance(reference, bool) or not isinstance(reference, (str, int, float)):
        return None
    text = str(reference).strip()
    return text or None


def rlvr_rollouts(rows: Sequence[Row], messages: Callable[[Row], list[dict[str, str]]]) -> list[Row]:
    """Three rollouts for each of the first rows with a usable reference: right, wrong, unmarked."""
    rollouts: list[Row] = []
    usable = [(i, row) for i, row in enumerate(rows) if _reference_answer(row["reference"]) is not None]
    for index, row in usable[:RLVR_ROLLOUT_PROMPTS]:
        answer = _reference_answer(row["reference"])
        assert answer is not None
        variants = (
            ("correct", f"Working it through step by step.\nANSWER: {answer}", True),
            ("wrong", f"Working it through step by step.\nANSWER: {_wrong_answer(answer)}", False),
            ("unmarked", f"Working it through step by step, the result is {answer}.", False),
        )
        for variant, response, label in variants:
            rollouts.append(_rollout(index, row, messages, variant, response, label))
    return rollouts


def rlaif_rollouts(rows: Sequence[Row], messages: Callable[[Row], list[dict[str, str]]]) -> list[Row]:
    """Two rollouts for each of the first rows: a good response (when one is known) and a refusal."""
    rollouts: list[Row] = []
    for index, row in enumerate(rows[:RLAIF_ROLLOUT_PROMPTS]):
        good = _good_response(row["prompt"])
        if good is not None:
            rollouts.append(_rollout(index, row, messages, "follows the notes", good, True))
        elif isinstance(row["reference"], str):  # a user's row: its reference may be a model answer
            rollouts.append(_rollout(index, row, messages, "the reference itself", row["reference"], None))
        rollouts.append(_rollout(index, row, messages, "refusal", REFUSAL, False))
    return rollouts


def _rollout(
    index: int,
    row: Row,
    messages: Callable[[Row], list[dict[str, str]]],
    variant: str,
    response: str,
    label: bool | None,
) -> Row:
    prompt_id = f"row-{index:05d}"
    return {
        "id": f"{prompt_id}/{variant.replace(' ', '-')}",
        "prompt_id": prompt_id,
        "messages": messages(row),
        "response": response,
        "reference": row["reference"],
        "label": label,
        "variant": variant,
    }


def invoke_batch(rollouts: Sequence[Row], count: int = INVOKE_SAMPLES) -> str:
    """A reward batch exactly as Bedrock sends it, for `rft invoke STACK --file`: the first rollouts."""
    samples = [
        to_bedrock_sample(
            Rollout(
                sample_id=r["id"],
                prompt_id=r["prompt_id"],
                prompt=r["messages"],
                response=r["response"],
                reference=r["reference"],
            )
        )
        for r in rollouts[:count]
    ]
    return json.dumps(samples, ensure_ascii=False, indent=2) + "\n"


def to_jsonl(rows: Sequence[Mapping[str, Any]]) -> str:
    """One JSON object per line, keys in their given order, non-ASCII kept readable."""
    return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
