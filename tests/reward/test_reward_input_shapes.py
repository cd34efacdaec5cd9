"""Every reward input shape in circulation, through every reward handler (docs/reward-contract.md,
"What the Lambda receives").

The Bedrock docs (pages `reward-functions`, `reward-functions-open-weight`) send a JSON array with
the reference in `metadata.reference_answer`; the public samples send `{"trajectories": [...]}`, a
top-level `reference_answer`, and read `reference_answer.text` where the data held a plain string.
Which of these the service really sends to an open-weight job is unconfirmed, so each handler (the
three tasks' and the two `rft new-task` templates') is run on each combination: a right response
must score as right and a wrong one as wrong, whatever the shape. A shape a handler misread would
score both alike.
"""

from __future__ import annotations

import importlib
import itertools
import json
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from finqa_reward.handler import lambda_handler as finqa_handler
from gsm8k_reward.handler import lambda_handler as gsm8k_handler
from pandalm_reward.handler import lambda_handler as pandalm_handler
from rft_reward.reward_input import event_samples, find_reference, unwrap_reference

from rft.templates import render_file

from .converse_server import ConverseServer, judge_server, no_aws  # noqa: F401  (fixture)
from .helpers import FakeLambdaContext
from .test_reward_properties import assert_contract

pytestmark = pytest.mark.usefixtures("no_aws")

JUDGE_SCORE = 0.8  # converse_server's default verdict: {"score": 0.8, ...}


@dataclass(frozen=True)
class Task:
    """One reward handler and what it must score: a right and a wrong answer to the same prompt."""

    prompt: str
    right: str
    wrong: str
    gold_string: str  # the reference as a data file may hold it: a plain string
    gold_object: dict[str, Any]  # ... or as this project's converters write it: an object
    expected: tuple[float, float]  # (right, wrong)
    judged: bool = False  # needs the loopback judge
    gold_marker: str | None = None  # text of the reference the judge's prompt must quote


TASKS: dict[str, Task] = {
    "gsm8k": Task(
        prompt="Natalia sold clips to 48 of her friends. How many clips did she sell?",
        right="She sold 48 clips.\n#### 48",
        wrong="She sold 7 clips.\n#### 7",
        # The public open-weight sample's data: a full solution ending in `#### <n>`.
        gold_string="Natalia sold 48 clips.\n#### 48",
        gold_object={"final_answer": "48"},
        expected=(1.0, 0.0),
    ),
    "finqa": Task(
        prompt="Table: ...\nQuestion: what percentage of revenue was interest?",
        right="Interest over revenue.\nANSWER: 9.37%",
        wrong="Interest over revenue.\nANSWER: 50%",
        gold_string="0.0937",
        gold_object={"answer": 0.0937, "question": "what percentage of revenue was interest?"},
        expected=(1.0, 0.0),
    ),
    "pandalm": Task(
        prompt="Which response is better? Instruction: Name a primary colour. 1: Red. 2: Purple.",
        right="JUDGMENT: Response 1\nREASONING: Red is primary; purple is not.",
        wrong="JUDGMENT: Response 2\nREASONING: Purple is nicer.",
        gold_string="1",
        gold_object={
            "label": 1,
            "instruction": "Name a primary colour.",
            "response1": "Red.",
            "response2": "Purple.",
        },
        expected=(0.5 * 1 + 0.5 * JUDGE_SCORE, 0.5 * 0 + 0.5 * JUDGE_SCORE),
        judged=True,
    ),
    "template_rlvr": Task(
        prompt="What is six times seven?",
        right="Six sevens.\nANSWER: 42",
        wrong="Six sevens.\nANSWER: 41",
        gold_string="42",
        gold_object={"answer": "42"},
        expected=(1.0, 0.0),
    ),
    # The judge's grade is the reward, so right and wrong score alike; what the shape decides is
    # whether the reference notes reach the judge.
    "template_rlaif": Task(
        prompt="Explain photosynthesis in one sentence.",
        right="Plants turn light, water and CO2 into sugar and oxygen.",
        wrong="Plants eat soil.",
        gold_string="Must mention GOLD-NOTE-light and sugar.",
        gold_object={"notes": "Must mention GOLD-NOTE-light and sugar."},
        expected=(JUDGE_SCORE, JUDGE_SCORE),
        judged=True,
        gold_marker="GOLD-NOTE-light",
    ),
}

WRAPPERS = ("array", "trajectories")
PLACES = ("metadata", "top_level")
FORMS = ("string", "text_wrapper", "text_block", "object", "object_as_text")


def reference_in(task: Task, form: str) -> Any:
    """The reference as the service might pass it, in one of the forms in circulation."""
    return {
        "string": task.gold_string,
        "text_wrapper": {"text": task.gold_string},  # the open-weight sample's `reference_answer.text`
        "text_block": {"type": "text", "text": task.gold_string},
        "object": task.gold_object,
        "object_as_text": {"text": json.dumps(task.gold_object)},  # an object reference, serialised
    }[form]


def sample(task: Task, response: str, sample_id: str, reference: Any, place: str) -> dict[str, Any]:
    item: dict[str, Any] = {
        "id": sample_id,
        "messages": [{"role": "user", "content": task.prompt}, {"role": "assistant", "content": response}],
    }
    if place == "metadata":
        item["metadata"] = {"reference_answer": reference, "task_id": "t-1"}  # extra fields ride along
    else:
        item["reference_answer"] = reference
    return item


def wrap(samples: list[dict[str, Any]], wrapper: str) -> Any:
    return samples if wrapper == "array" else {"trajectories": samples}


@pytest.fixture(scope="module")
def template_handlers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Callable[..., Any]]]:
    """The `rft new-task` templates rendered into two importable reward packages."""
    root = tmp_path_factory.mktemp("templates")
    names = {"template_rlvr": ("shapesrlvr", "rlvr"), "template_rlaif": ("shapesrlaif", "rlaif")}
    for name, kind in names.values():
        package = root / f"{name}_reward"
        package.mkdir()
        values = {"name": name, "kind_label": kind.upper()}
        (package / "__init__.py").write_text(render_file("reward_init.py.tmpl", values), encoding="utf-8")
        for module in ("handler", "scoring"):
            text = render_file(f"{kind}/{module}.py.tmpl", values)
            (package / f"{module}.py").write_text(text, encoding="utf-8")
    sys.path.insert(0, str(root))
    try:
        yield {
            task: importlib.import_module(f"{name}_reward.handler").lambda_handler
            for task, (name, _) in names.items()
        }
    finally:
        sys.path.remove(str(root))
        for name, _ in names.values():
            for module in [m for m in sys.modules if m.split(".")[0] == f"{name}_reward"]:
                del sys.modules[module]


def handler_for(task_name: str, templates: dict[str, Callable[..., Any]]) -> Callable[..., Any]:
    return {"gsm8k": gsm8k_handler, "finqa": finqa_handler, "pandalm": pandalm_handler, **templates}[
        task_name
    ]


@pytest.mark.parametrize("task_name", list(TASKS))
@pytest.mark.parametrize(("wrapper", "place", "form"), list(itertools.product(WRAPPERS, PLACES, FORMS)))
def test_every_handler_reads_every_shape(
    task_name: str,
    wrapper: str,
    place: str,
    form: str,
    template_handlers: dict[str, Callable[..., Any]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    task = TASKS[task_name]
    reference = reference_in(task, form)
    event = wrap(
        [
            sample(task, task.right, "right", reference, place),
            sample(task, task.wrong, "wrong", reference, place),
        ],
        wrapper,
    )
    handler = handler_for(task_name, template_handlers)
    if task.judged:
        with judge_server(monkeypatch) as server:
            results = handler(event, FakeLambdaContext())
        assert len(server.calls) == 2
        if task.gold_marker is not None:
            # The judge is shown the notes as the data held them: never the wrapper around them.
            as_object = form in ("object", "object_as_text")
            for call in server.calls:
                assert task.gold_marker in call.user
                assert '"text"' not in call.user
                assert ('"notes"' in call.user) is as_object
    else:
        results = handler(event, FakeLambdaContext())
    assert_contract(event, results)
    assert [r["id"] for r in results] == ["right", "wrong"]
    assert [r["aggregate_reward_score"] for r in results] == pytest.approx(list(task.expected))


# Samples no shape rule may turn into a crash, a lost result or a score out of range.
ODD_SAMPLES: list[Any] = [
    "not an object",
    None,
    {"id": "no-messages", "reference_answer": "48"},
    {"id": "no-reference", "messages": [{"role": "assistant", "content": "#### 48"}]},
    {
        "id": "null-text",
        "messages": [{"role": "assistant", "content": "#### 48"}],
        "reference_answer": {"text": None},
    },
    {
        "id": "number-text",
        "messages": [{"role": "assistant", "content": "#### 48"}],
        "reference_answer": {"text": 48},
    },
    {
        "id": "bad-json",
        "messages": [{"role": "assistant", "content": "#### 48"}],
        "reference_answer": "{not json",
    },
    {
        "id": "list-json",
        "messages": [{"role": "assistant", "content": "#### 48"}],
        "reference_answer": {"text": "[1, 2]"},
    },
    {
        "id": "deep",
        "messages": [{"role": "assistant", "content": "x"}],
        "metadata": {"reference_answer": {"text": {"text": "1"}}},
    },
    {"id": "meta-not-object", "messages": [{"role": "assistant", "content": "#### 48"}], "metadata": "48"},
]


@pytest.mark.parametrize("task_name", list(TASKS))
@pytest.mark.parametrize("wrapper", WRAPPERS)
def test_odd_samples_keep_the_contract_in_every_handler(
    task_name: str,
    wrapper: str,
    template_handlers: dict[str, Callable[..., Any]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    task = TASKS[task_name]
    good = [sample(task, task.right, f"good-{form}", reference_in(task, form), "metadata") for form in FORMS]
    event = wrap([*ODD_SAMPLES, *good], wrapper)
    handler = handler_for(task_name, template_handlers)
    with judge_server(monkeypatch):
        results = handler(event, FakeLambdaContext())
    assert_contract(event, results)
    # The good samples score as right answers, next to the odd ones.
    assert [r["aggregate_reward_score"] for r in results[len(ODD_SAMPLES) :]] == pytest.approx(
        [task.expected[0]] * len(FORMS)
    )


@pytest.mark.parametrize(
    "event",
    [{}, {"trajectories": "x"}, {"samples": []}, {"trajectories": None}, "[]", 3],
    ids=["empty-object", "trajectories-not-a-list", "other-wrapper", "null", "string", "number"],
)
def test_events_that_are_no_batch_get_no_results(event: Any) -> None:
    assert event_samples(event) is None
    assert gsm8k_handler(event, FakeLambdaContext()) == []


def test_an_empty_trajectories_batch_gets_an_empty_answer() -> None:
    assert gsm8k_handler({"trajectories": []}, FakeLambdaContext()) == []


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"text": "48"}, "48"),
        ({"type": "text", "text": "48"}, "48"),
        ({"text": '{"final_answer": "48"}'}, {"final_answer": "48"}),
        ('  {"label": 1}', {"label": 1}),
        # An object with keys of its own is the data's, not a wrapper.
        ({"text": "48", "rubric": "r"}, {"text": "48", "rubric": "r"}),
        ({"type": "math", "text": "48"}, {"type": "math", "text": "48"}),
        # JSON that is not an object stays text: a reference may well be "{x} is odd" or "[1, 2]".
        ("{x} is odd", "{x} is odd"),
        ({"text": "[1, 2]"}, "[1, 2]"),
        ({"text": "{}"}, "{}"),
        (48, 48),
    ],
)
def test_unwrap_reference(value: Any, expected: Any) -> None:
    assert unwrap_reference(value) == expected


def test_find_reference_prefers_metadata_and_skips_empty_wrappers() -> None:
    both = {"metadata": {"reference_answer": {"text": "docs"}}, "reference_answer": "top"}
    assert find_reference(both) == "docs"
    empty_wrapper = {"metadata": {"reference_answer": {"text": " "}}, "reference_answer": {"text": "top"}}
    assert find_reference(empty_wrapper) == "top"
    assert find_reference({"metadata": {"reference_answer": {"text": ""}}}) is None
