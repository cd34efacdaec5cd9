"""The input side of the reward Lambda contract: one sample of a Bedrock RFT batch.

Bedrock sends `[{"id", "messages", "reference_answer" | "metadata": {...}}, ...]`. The public
docs disagree on where `reference_answer` lives and the generated turn's role and content shape
vary by model, so all of that is resolved once here instead of in every scorer. A sample this
module cannot read raises `SampleError` with a metric-like reason; the handler turns that into a
score of 0 for that sample alone.
"""

from __future__ import annotations

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
    before it; `reference` is `reference_answer` from the top level, else from `metadata`.
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


def find_reference(obj: dict[str, Any]) -> Any:
    """`reference_answer` at the top level (preferred), else inside `metadata`, else None.

    The Bedrock docs put it in `metadata`, the SageMaker docs at the top level; accepting both
    stops a whole job from silently scoring 0 because of where a converter put it.
    """
    top = obj.get("reference_answer")
    if top is not None and not is_empty(top):
        return top
    metadata = obj.get("metadata")
    if isinstance(metadata, dict):
        nested = metadata.get("reference_answer")
        # A non-empty object is the common case: no call for it (is_empty would say the same).
        if (type(nested) is dict and nested) or not is_empty(nested):
            return nested
    return None


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
        raise SampleError(MISSING_REFERENCE, "no reference_answer at the top level or in metadata")
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
