"""The input side of the reward Lambda contract: the samples of a Bedrock RFT batch.

Bedrock sends `[{"id", "messages", "metadata": {"reference_answer", ...}}, ...]` to Nova and
open-weight jobs alike (pages `reward-functions`, `reward-functions-open-weight`). The public
samples disagree with the docs and with each other: the Nova sample also reads a top-level
`reference_answer`, the open-weight sample reads a `{"trajectories": [...]}` event and
`reference_answer.text` where its data file holds a plain string. Where the docs are silent every
shape in circulation is accepted (docs/reward-contract.md, "What the Lambda receives"), once
here instead of in every scorer, so a job can never score 0 because of where a reference sat. A
sample this module cannot read raises `SampleError` with a metric-like reason; the handler turns
that into a score of 0 for that sample alone.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from rft_reward.values import is_empty

GENERATED_ROLES = frozenset({"assistant", "nova_assistant"})

# SampleError reasons; each becomes a per-sample metric set to 1.
BAD_SAMPLE = "bad_sample"
MISSING_RESPONSE = "missing_response"
BAD_RESPONSE = "bad_response"
MISSING_REFERENCE = "missing_reference"
SAMPLE_ERROR_REASONS = (BAD_SAMPLE, MISSING_RESPONSE, BAD_RESPONSE, MISSING_REFERENCE)

#: The one wrapper an event's samples are known to come in (the public open-weight reward sample).
TRAJECTORIES = "trajectories"
# `{"text": ...}` (and content-block-like `{"type": "text", "text": ...}`): a wrapper, not a reference.
_TEXT_WRAPPER_KEYS = frozenset({"text", "type"})


class SampleError(ValueError):
    """A sample the reward cannot score. `reason` is a metric name, safe to log (no sample text)."""

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True, slots=True, init=False)
class Sample:
    """The parts of one input sample a scorer needs.

    `response_text` is the generated (last) turn as one string; `prompt_messages` are the turns
    before it; `reference` is `reference_answer` from `metadata`, else from the top level
    (`find_reference`).
    """

    id: Any
    response_text: str
    reference: Any
    prompt_messages: list[dict[str, Any]] = field(default_factory=list)
    raw: dict[str, Any] = field(default_factory=dict)

    def __init__(
        self,
        id: Any,
        response_text: str,
        reference: Any,
        prompt_messages: list[dict[str, Any]] | None = None,
        raw: dict[str, Any] | None = None,
    ) -> None:
        # One Sample per input sample: the slots are set directly, which costs half of the
        # generated frozen __init__'s object.__setattr__ calls.
        _set_id(self, id)
        _set_response_text(self, response_text)
        _set_reference(self, reference)
        _set_prompt_messages(self, [] if prompt_messages is None else prompt_messages)
        _set_raw(self, {} if raw is None else raw)


_set_id = Sample.id.__set__
_set_response_text = Sample.response_text.__set__
_set_reference = Sample.reference.__set__
_set_prompt_messages = Sample.prompt_messages.__set__
_set_raw = Sample.raw.__set__
_new_sample = object.__new__


def event_samples(event: Any) -> list[Any] | None:
    """The samples of a reward event: the JSON array itself, or the array under `trajectories`.

    None for anything else: the handler logs it and answers `[]`.
    """
    if isinstance(event, list):
        return event
    if isinstance(event, dict):
        samples = event.get(TRAJECTORIES)
        if isinstance(samples, list):
            return samples
    return None


def find_reference(obj: dict[str, Any]) -> Any:
    """`reference_answer` inside `metadata` (preferred), else at the top level, else None; unwrapped
    by `unwrap_reference`.

    The Bedrock docs put it in `metadata`, the SageMaker docs and both public samples at the top
    level; accepting both stops a whole job from silently scoring 0 because of where a converter
    or the service put it.
    """
    metadata = obj.get("metadata")
    if isinstance(metadata, dict):
        nested = metadata.get("reference_answer")
        # A non-empty object that is no wrapper is the common case: no call for it.
        if type(nested) is dict and nested and "text" not in nested:
            return nested
        if nested is not None and not is_empty(nested := unwrap_reference(nested)):
            return nested
    top = obj.get("reference_answer")
    if top is not None:
        top = unwrap_reference(top)
        if not is_empty(top):
            return top
    return None


def unwrap_reference(value: Any) -> Any:
    """A reference as the data file held it.

    `{"text": X}` (the public open-weight sample reads `reference_answer.text`; AWS's evaluation
    pipelines wrap a string gold that way) is X; an object with any other key is the data's own
    and kept. A string that is a JSON object (a service that serialised an object reference, as
    such a wrapper would) is that object. Anything else is returned as it is.
    """
    if type(value) is dict or isinstance(value, dict):
        if (
            "text" not in value
            or not _TEXT_WRAPPER_KEYS.issuperset(value)
            or value.get("type", "text") != "text"
        ):
            return value
        value = value["text"]
    if isinstance(value, str) and value.lstrip()[:1] == "{":
        try:
            decoded = json.loads(value)
        except ValueError:
            return value
        if type(decoded) is dict and decoded:
            return decoded
    return value


def content_text(content: Any) -> str:
    """A message's content as one string: a plain string, or text blocks joined with no separator.

    Non-text blocks (reasoning, images) are skipped: they are not the answer. A block that claims
    to be text but is not a string is a malformed sample.
    """
    if isinstance(content, str):
        return content
    if content is None:
        raise SampleError(MISSING_RESPONSE, "the generated turn has no content")
    if not isinstance(content, list):
        raise SampleError(BAD_RESPONSE, f"content is {type(content).__name__}, not a string or a list")
    parts: list[str] = []
    for block in content:
        if not isinstance(block, dict):
            raise SampleError(BAD_RESPONSE, f"a content block is {type(block).__name__}, not an object")
        if block.get("type", "text") != "text":
            continue
        text = block.get("text")
        if not isinstance(text, str):
            raise SampleError(BAD_RESPONSE, "a text block has no string 'text'")
        parts.append(text)
    return "".join(parts)


def parse_sample(obj: Any, *, require_reference: bool = True) -> Sample:
    """Validate one raw sample and return its parsed view, or raise SampleError.

    The generated turn must be the last message, with role `assistant` or `nova_assistant`; an
    earlier assistant turn is a few-shot example in the prompt, never the answer to score.
    """
    if not isinstance(obj, dict):
        raise SampleError(BAD_SAMPLE, f"sample is {type(obj).__name__}, not an object")
    messages = obj.get("messages")
    if not isinstance(messages, list) or not messages:
        raise SampleError(MISSING_RESPONSE, "no 'messages' list")
    last = messages[-1]
    role = last.get("role") if isinstance(last, dict) else None
    if not isinstance(role, str) or role not in GENERATED_ROLES:
        raise SampleError(MISSING_RESPONSE, "the last message is not an assistant turn")
    content = last.get("content")
    response_text = content if isinstance(content, str) else content_text(content)
    reference = find_reference(obj)
    if reference is None and require_reference:
        raise SampleError(MISSING_REFERENCE, "no reference_answer in metadata or at the top level")
    prompt_messages = messages[:-1]
    for message in prompt_messages:  # a plain loop: most prompts are all objects, kept as they are
        if not isinstance(message, dict):
            prompt_messages = [m for m in prompt_messages if isinstance(m, dict)]
            break
    # Sample.__init__'s work without its call and defaults: this runs once per sample.
    sample = _new_sample(Sample)
    _set_id(sample, obj.get("id"))
    _set_response_text(sample, response_text)
    _set_reference(sample, reference)
    _set_prompt_messages(sample, prompt_messages)
    _set_raw(sample, obj)
    return sample
