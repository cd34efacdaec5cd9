"""The emulated fine-tuning service behind `/v1`: files, jobs, events, checkpoints, models, chat.

Bodies follow the shapes Bedrock's OpenAI-compatible API documents (docs/open-weight.md, "The local
emulator"), which defer to the OpenAI API for what they do not print. State is per region and lives
as long as the emulator; nothing is written to disk.

**A job is a short, real rehearsal of training, driven by polls.** Each retrieve of a job still in
progress moves it one tick: `validating_files` (the training file is parsed and counted; a file with
fewer than 100 or more than 20,000 examples fails the job as the service documents) → `running` →
one training step per poll → `succeeded`. A step takes the next `batch_size` rows of the uploaded
training file, gives each a replayed response (see `replay`), sends the batch to the grader Lambda
the job names (through the emulator's Lambda executor, in the documented input shape) and records
the reward Lambda's real mean as `critic_rewards_mean` in a `metrics` event, with a checkpoint. The
emulation runs at most `max_steps` steps, whatever the real step count would be; its messages say so.
Driving it by polls, not by the clock, makes every test deterministic.
"""

from __future__ import annotations

import json
import math
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from local_aws.mantle import replay

# [UG:fine-tuning-openai-apis] "Supported models and regions for OpenAI compatible fine-tuning APIs".
FINE_TUNING_MODELS: Mapping[str, tuple[str, ...]] = {"us-west-2": ("openai.gpt-oss-20b", "qwen.qwen3-32b")}
# [UG:rft-prepare-data-open-weight]: "100-20K examples", "A minimum of 100 records".
MIN_EXAMPLES, MAX_EXAMPLES = 100, 20_000
# [UG:fine-tuning-openai-job-create]'s example values, used when a job leaves one out or says "auto".
DEFAULT_HYPERPARAMETERS: Mapping[str, int | float] = {
    "n_epochs": 1,
    "batch_size": 4,
    "learning_rate_multiplier": 1.0,
}
INTEGER_HYPERPARAMETERS = ("n_epochs", "batch_size", "eval_interval", "eval_samples")
NUMBER_HYPERPARAMETERS = ("learning_rate_multiplier", "compute_multiplier")
REASONING_EFFORTS = ("low", "medium", "high", "default")
JOB_FIELDS = ("training_file", "model", "method", "validation_file", "metadata", "seed")
TERMINAL = ("succeeded", "failed", "cancelled")
DEFAULT_MAX_STEPS = 3
LIST_LIMIT_MAX = 100
EMULATED = (
    "local_aws emulation: responses are replayed (recorded GSM8K solutions where the prompt has one, "
    "else the row's reference answer), scored by the real reward Lambda"
)


class ApiError(Exception):
    """An OpenAI-shaped error reply: `{"error": {"message", "type", "param", "code"}}`."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        param: str | None = None,
        error_type: str = "invalid_request_error",
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.param = param
        self.error_type = error_type

    def body(self) -> dict[str, Any]:
        return {
            "error": {
                "message": self.message,
                "type": self.error_type,
                "param": self.param,
                "code": self.code,
            }
        }


def not_found(kind: str, identifier: str) -> ApiError:
    return ApiError(404, f"No such {kind}: {identifier}", code="not_found")


def invalid(message: str, param: str | None = None) -> ApiError:
    return ApiError(400, message, param=param)


@dataclass(frozen=True)
class GraderReply:
    payload: bytes
    error: str  # "" when the function returned normally


class Grader(Protocol):
    """The emulator's Lambda, as the service sees it: does the function exist, and what does it return."""

    def exists(self, function_arn: str) -> bool: ...

    def invoke(self, function_arn: str, event_json: str) -> GraderReply: ...


@dataclass
class StoredFile:
    id: str
    filename: str
    purpose: str
    data: bytes
    created_at: int

    def view(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "file",
            "bytes": len(self.data),
            "created_at": self.created_at,
            "filename": self.filename,
            "purpose": self.purpose,
            "status": "processed",
            "status_details": None,
            "expires_at": None,
        }


@dataclass
class Job:
    id: str
    model: str
    training_file: str
    validation_file: str | None
    method: dict[str, Any]
    metadata: dict[str, str] | None
    seed: int
    created_at: int
    grader_arn: str
    hyperparameters: dict[str, Any]
    status: str = "validating_files"
    finished_at: int | None = None
    fine_tuned_model: str | None = None
    error: dict[str, Any] | None = None
    events: list[dict[str, Any]] = field(default_factory=list)  # oldest first
    checkpoints: list[dict[str, Any]] = field(default_factory=list)  # oldest first
    rows: list[dict[str, Any]] = field(default_factory=list)
    total_steps: int = 0
    step: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def view(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "fine_tuning.job",
            "model": self.model,
            "created_at": self.created_at,
            "finished_at": self.finished_at,
            "fine_tuned_model": self.fine_tuned_model,
            "organization_id": "org-local-aws",
            "result_files": [],
            "status": self.status,
            "validation_file": self.validation_file,
            "training_file": self.training_file,
            "hyperparameters": dict(self.hyperparameters),
            "method": self.method,
            "metadata": self.metadata,
            "seed": self.seed,
            "error": self.error,
            "estimated_finish": None,
            "integrations": [],
            "trained_tokens": None,
        }


def _new_id(prefix: str) -> str:
    return f"{prefix}{uuid.uuid4().hex[:24]}"


def page(
    items: Sequence[dict[str, Any]], *, limit: Any, after: str | None, default_limit: int
) -> dict[str, Any]:
    """An OpenAI list page of `items` (already in list order) after the item with id `after`."""
    size = _limit(limit, default_limit)
    start = 0
    if after:
        ids = [item["id"] for item in items]
        if after not in ids:
            raise invalid(f"after={after!r} is not the id of an item in this list", "after")
        start = ids.index(after) + 1
    chunk = list(items[start : start + size])
    return {
        "object": "list",
        "data": chunk,
        "has_more": start + size < len(items),
        "first_id": chunk[0]["id"] if chunk else None,
        "last_id": chunk[-1]["id"] if chunk else None,
    }


def _limit(raw: Any, default: int) -> int:
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise invalid(f"limit must be an integer from 1 to {LIST_LIMIT_MAX}, got {raw!r}", "limit") from None
    if not 1 <= value <= LIST_LIMIT_MAX:
        raise invalid(f"limit must be an integer from 1 to {LIST_LIMIT_MAX}, got {value}", "limit")
    return value


def validate_hyperparameters(raw: Any) -> dict[str, Any]:
    """The reinforcement hyperparameters as given (OpenAI names only), or a 400 naming the bad one."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise invalid("method.reinforcement.hyperparameters must be an object", "hyperparameters")
    known = (*INTEGER_HYPERPARAMETERS, *NUMBER_HYPERPARAMETERS, "reasoning_effort")
    for name, value in raw.items():
        param = f"method.reinforcement.hyperparameters.{name}"
        if name not in known:
            raise invalid(
                f"Unknown hyperparameter {name!r}; the reinforcement ones are {', '.join(known)}", param
            )
        if value == "auto" and name != "reasoning_effort":
            continue
        if name in INTEGER_HYPERPARAMETERS:
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise invalid(f"{name} must be a positive integer or 'auto', got {value!r}", param)
        elif name in NUMBER_HYPERPARAMETERS:
            if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
                raise invalid(f"{name} must be a positive number or 'auto', got {value!r}", param)
        elif value not in REASONING_EFFORTS:
            raise invalid(
                f"reasoning_effort must be one of {', '.join(REASONING_EFFORTS)}, got {value!r}", param
            )
    return dict(raw)


def grader_arn(method: Any) -> str:
    """`method.reinforcement.grader.lambda.function`, the one grader shape Bedrock documents."""
    if not isinstance(method, dict) or method.get("type") != "reinforcement":
        raise invalid("method.type must be 'reinforcement' (the only method emulated)", "method.type")
    reinforcement = method.get("reinforcement")
    grader = reinforcement.get("grader") if isinstance(reinforcement, dict) else None
    if not isinstance(grader, dict) or grader.get("type") != "lambda":
        raise invalid(
            "method.reinforcement.grader must be {'type': 'lambda', 'lambda': {'function': <Lambda ARN>}}",
            "method.reinforcement.grader",
        )
    function = (
        (grader.get("lambda") or {}).get("function") if isinstance(grader.get("lambda"), dict) else None
    )
    if not isinstance(function, str) or not function.startswith("arn:") or ":lambda:" not in function:
        raise invalid(
            f"method.reinforcement.grader.lambda.function must be a Lambda function ARN, got {function!r}",
            "method.reinforcement.grader.lambda.function",
        )
    return function


class MantleService:
    """All state and behaviour of the emulated endpoint; `app.MantleApp` is its HTTP face."""

    def __init__(
        self,
        grader: Grader,
        *,
        clock: Callable[[], float] = time.time,
        max_steps: int = DEFAULT_MAX_STEPS,
        rejected_fields: Sequence[str] = (),
    ) -> None:
        self.grader = grader
        self.clock = clock
        self.max_steps = max_steps
        # Create-job fields to refuse as unrecognized: lets a test play a service that rejects an
        # undocumented field (`metadata`, `validation_file`) the way OpenAI-compatible APIs do.
        self.rejected_fields = tuple(rejected_fields)
        self._lock = threading.Lock()
        self._files: dict[str, dict[str, StoredFile]] = {}
        self._jobs: dict[str, dict[str, Job]] = {}

    def _now(self) -> int:
        return int(self.clock())

    # -- files ---------------------------------------------------------------------------------------
    def upload_file(self, region: str, *, filename: str, purpose: str, data: bytes) -> dict[str, Any]:
        if purpose != "fine-tune":
            raise invalid(
                f"purpose must be 'fine-tune' (the one Bedrock documents), got {purpose!r}", "purpose"
            )
        if not data:
            raise invalid("file is empty", "file")
        stored = StoredFile(_new_id("file-"), filename or "upload.jsonl", purpose, data, self._now())
        with self._lock:
            self._files.setdefault(region, {})[stored.id] = stored
        return stored.view()

    def _file(self, region: str, file_id: str) -> StoredFile:
        with self._lock:
            stored = self._files.get(region, {}).get(file_id)
        if stored is None:
            raise not_found("file", file_id)
        return stored

    def retrieve_file(self, region: str, file_id: str) -> dict[str, Any]:
        return self._file(region, file_id).view()

    def file_content(self, region: str, file_id: str) -> bytes:
        return self._file(region, file_id).data

    def list_files(
        self, region: str, *, purpose: str | None, limit: Any, after: str | None, order: str | None
    ) -> dict[str, Any]:
        if order not in (None, "", "asc", "desc"):
            raise invalid(f"order must be 'asc' or 'desc', got {order!r}", "order")
        with self._lock:
            files = [
                f.view() for f in self._files.get(region, {}).values() if not purpose or f.purpose == purpose
            ]
        if order != "asc":
            files.reverse()
        return page(files, limit=limit, after=after, default_limit=LIST_LIMIT_MAX)

    def delete_file(self, region: str, file_id: str) -> dict[str, Any]:
        with self._lock:
            stored = self._files.get(region, {}).pop(file_id, None)
        if stored is None:
            raise not_found("file", file_id)
        return {"id": file_id, "object": "file", "deleted": True}

    # -- jobs ----------------------------------------------------------------------------------------
    def create_job(self, region: str, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise invalid("the request body must be a JSON object")
        if "suffix" in body:
            raise invalid("suffix is not supported by Bedrock's fine-tuning API; leave it out", "suffix")
        for name in body:
            if name not in JOB_FIELDS or name in self.rejected_fields:
                raise invalid(f"Unrecognized request argument supplied: {name}", name)
        model = body.get("model")
        served = FINE_TUNING_MODELS.get(region, ())
        if model not in served:
            where = ", ".join(r for r, models in FINE_TUNING_MODELS.items() if model in models)
            hint = f"; it is served in {where}" if where else f"; models here: {', '.join(served) or 'none'}"
            raise invalid(f"model {model!r} is not available for fine-tuning in {region}{hint}", "model")
        training_file = body.get("training_file")
        if not isinstance(training_file, str):
            raise invalid("training_file is required (a file id from POST /v1/files)", "training_file")
        for param in ("training_file", "validation_file"):
            if body.get(param) is not None:
                try:
                    self._file(region, str(body[param]))
                except ApiError:
                    raise invalid(f"{param} {body[param]!r} is not a file in {region}", param) from None
        function = grader_arn(body.get("method"))
        if not self.grader.exists(function):
            raise invalid(
                f"the grader Lambda {function} does not exist", "method.reinforcement.grader.lambda.function"
            )
        given = validate_hyperparameters(body["method"]["reinforcement"].get("hyperparameters"))
        metadata = body.get("metadata")
        if metadata is not None and (
            not isinstance(metadata, dict)
            or len(metadata) > 16
            or not all(
                isinstance(k, str) and isinstance(v, str) and len(v) <= 512 for k, v in metadata.items()
            )
        ):
            raise invalid(
                "metadata must be at most 16 string keys with string values of 512 characters", "metadata"
            )
        seed = body.get("seed")
        job = Job(
            id=_new_id("ftjob-"),
            model=model,
            training_file=training_file,
            validation_file=body.get("validation_file"),
            method=body["method"],
            metadata=metadata,
            seed=seed if isinstance(seed, int) else int(self.clock()) % 2**31,
            created_at=self._now(),
            grader_arn=function,
            hyperparameters={
                name: given.get(name) if given.get(name) not in (None, "auto") else default
                for name, default in DEFAULT_HYPERPARAMETERS.items()
            }
            | {k: v for k, v in given.items() if k not in DEFAULT_HYPERPARAMETERS},
        )
        self._event(job, f"Created fine-tuning job: {job.id}")
        with self._lock:
            self._jobs.setdefault(region, {})[job.id] = job
        return job.view()

    def _job(self, region: str, job_id: str) -> Job:
        with self._lock:
            job = self._jobs.get(region, {}).get(job_id)
        if job is None:
            raise not_found("fine-tuning job", job_id)
        return job

    def retrieve_job(self, region: str, job_id: str) -> dict[str, Any]:
        """The job, after moving it one tick (see the module docstring)."""
        job = self._job(region, job_id)
        with job.lock:
            if job.status not in TERMINAL:
                self._tick(region, job)
            return job.view()

    def peek_job(self, region: str, job_id: str) -> dict[str, Any]:
        """The job without moving it (for the demo's checks, not served over HTTP)."""
        job = self._job(region, job_id)
        with job.lock:
            return job.view()

    def list_jobs(self, region: str, *, limit: Any, after: str | None) -> dict[str, Any]:
        with self._lock:
            jobs = list(self._jobs.get(region, {}).values())
        views = []
        for job in reversed(jobs):
            with job.lock:
                views.append(job.view())
        return page(views, limit=limit, after=after, default_limit=20)

    def cancel_job(self, region: str, job_id: str) -> dict[str, Any]:
        job = self._job(region, job_id)
        with job.lock:
            if job.status in TERMINAL:
                raise ApiError(
                    400,
                    f"Job {job_id} has already finished (status {job.status}) and cannot be cancelled.",
                    code="job_not_cancellable",
                )
            job.status = "cancelled"
            job.finished_at = self._now()
            self._event(job, "Fine-tuning job cancelled")
            return job.view()

    def list_events(self, region: str, job_id: str, *, limit: Any, after: str | None) -> dict[str, Any]:
        job = self._job(region, job_id)
        with job.lock:
            newest_first = list(reversed(job.events))
        return page(newest_first, limit=limit, after=after, default_limit=20)

    def list_checkpoints(self, region: str, job_id: str, *, limit: Any, after: str | None) -> dict[str, Any]:
        job = self._job(region, job_id)
        with job.lock:
            newest_first = list(reversed(job.checkpoints))
        return page(newest_first, limit=limit, after=after, default_limit=10)

    # -- the emulated training -----------------------------------------------------------------------
    def _event(
        self,
        job: Job,
        message: str,
        *,
        level: str = "info",
        kind: str = "message",
        data: dict[str, Any] | None = None,
    ) -> None:
        job.events.append(
            {
                "id": f"ftevent-{uuid.uuid4()}",
                "object": "fine_tuning.job.event",
                "created_at": self._now(),
                "level": level,
                "message": message,
                "data": data or {},
                "type": kind,
            }
        )

    def _fail(self, job: Job, code: str, message: str, param: str | None = None) -> None:
        job.status = "failed"
        job.finished_at = self._now()
        job.error = {"code": code, "message": message, "param": param}
        self._event(job, f"Fine-tuning job failed: {message}", level="error")

    def _tick(self, region: str, job: Job) -> None:
        if job.status == "validating_files":
            self._validate(region, job)
        elif job.status == "running":
            self._train_step(job)

    def _validate(self, region: str, job: Job) -> None:
        try:
            data = self._file(region, job.training_file).data
        except ApiError:
            self._fail(
                job,
                "invalid_training_file",
                f"training file {job.training_file} was deleted",
                "training_file",
            )
            return
        rows: list[dict[str, Any]] = []
        for number, line in enumerate(data.decode("utf-8", errors="replace").splitlines(), 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except ValueError:
                row = None
            if not isinstance(row, dict) or not isinstance(row.get("messages"), list):
                self._fail(
                    job,
                    "invalid_training_file",
                    f"line {number} of the training file is not a JSON object with a 'messages' list",
                    "training_file",
                )
                return
            rows.append(row)
        if not MIN_EXAMPLES <= len(rows) <= MAX_EXAMPLES:
            self._fail(
                job,
                "invalid_training_file",
                f"the training file has {len(rows)} examples; reinforcement fine-tuning needs "
                f"{MIN_EXAMPLES}-{MAX_EXAMPLES:,}",
                "training_file",
            )
            return
        epochs, batch = int(job.hyperparameters["n_epochs"]), int(job.hyperparameters["batch_size"])
        real_steps = math.ceil(len(rows) * epochs / batch)
        job.rows, job.total_steps = rows, max(1, min(real_steps, self.max_steps))
        self._event(job, f"Validated training file: {len(rows)} examples")
        job.status = "running"
        self._event(
            job,
            f"Fine-tuning job started ({EMULATED}; {job.total_steps} emulated steps of {batch} samples, "
            f"where training would take {real_steps})",
        )

    def _train_step(self, job: Job) -> None:
        job.step += 1
        batch_size = int(job.hyperparameters["batch_size"])
        start = (job.step - 1) * batch_size
        rows = [job.rows[(start + i) % len(job.rows)] for i in range(batch_size)]
        replay_model = replay.scheduled_model(job.step, job.total_steps)
        samples, lengths, recorded = [], [], 0
        for index, row in enumerate(rows):
            solution = replay.recorded_solution(replay_model, row["messages"])
            recorded += solution is not None
            response = (
                solution if solution is not None else replay.reference_text(row.get("reference_answer"))
            )
            lengths.append(replay.tokens(response))
            metadata = {k: v for k, v in row.items() if k not in ("messages", "id")}
            samples.append(
                {
                    "id": str(row.get("id") or f"step{job.step}-sample{index}"),
                    "messages": [*row["messages"], {"role": "assistant", "content": response}],
                    "metadata": metadata,
                }
            )
        reply = self.grader.invoke(job.grader_arn, json.dumps(samples))
        scores = _scores(reply, len(samples))
        if isinstance(scores, str):
            self._fail(job, "grader_error", f"the grader Lambda {job.grader_arn} {scores}")
            return
        data = {
            "step": job.step,
            "total_steps": job.total_steps,
            "critic_rewards_mean": sum(scores) / len(scores),
            "response_length_mean": sum(lengths) / len(lengths),
        }
        self._event(
            job,
            f"Step {job.step}/{job.total_steps}: training metrics ({EMULATED}; {recorded}/{len(samples)} "
            f"recorded by {replay_model})",
            kind="metrics",
            data=data,
        )
        checkpoint_model = f"{self._tuned_name(job)}:ckpt-step-{job.step}"
        job.checkpoints.append(
            {
                "id": _new_id("ftckpt-"),
                "object": "fine_tuning.job.checkpoint",
                "created_at": self._now(),
                "fine_tuning_job_id": job.id,
                "fine_tuned_model_checkpoint": checkpoint_model,
                "step_number": job.step,
                "metrics": {"step": job.step, "critic_rewards_mean": data["critic_rewards_mean"]},
            }
        )
        self._event(job, f"Checkpoint created at step {job.step}")
        if job.step >= job.total_steps:
            job.fine_tuned_model = self._tuned_name(job)
            job.status = "succeeded"
            job.finished_at = self._now()
            self._event(job, f"New fine-tuned model created: {job.fine_tuned_model}")
            self._event(job, "The job has successfully completed")

    @staticmethod
    def _tuned_name(job: Job) -> str:
        return f"ft:{job.model}:local-aws:{job.id.removeprefix('ftjob-')[:8]}"

    # -- models and chat -----------------------------------------------------------------------------
    def _replay_model_for(self, region: str, model: Any) -> str:
        if model in FINE_TUNING_MODELS.get(region, ()):
            return replay.BASE_MODEL_REPLAY
        with self._lock:
            jobs = list(self._jobs.get(region, {}).values())
        for job in jobs:
            if model == job.fine_tuned_model:
                return replay.TUNED_MODEL_REPLAY
            for checkpoint in job.checkpoints:
                if model == checkpoint["fine_tuned_model_checkpoint"]:
                    return replay.scheduled_model(checkpoint["step_number"], job.total_steps)
        raise ApiError(
            404,
            f"The model {model!r} does not exist or you do not have access to it.",
            code="model_not_found",
        )

    def list_models(self, region: str) -> dict[str, Any]:
        created = self._now()
        ids = list(FINE_TUNING_MODELS.get(region, ()))
        with self._lock:
            jobs = list(self._jobs.get(region, {}).values())
        ids += [job.fine_tuned_model for job in jobs if job.fine_tuned_model]
        return {
            "object": "list",
            "data": [{"id": i, "object": "model", "created": created, "owned_by": "local-aws"} for i in ids],
        }

    def chat_completion(self, region: str, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict) or not isinstance(body.get("messages"), list) or not body["messages"]:
            raise invalid("messages is required: a non-empty list of chat messages", "messages")
        if body.get("stream"):
            raise invalid("stream=true is not emulated: the replay answers whole", "stream")
        model = body.get("model")
        replay_model = self._replay_model_for(region, model)
        solution = replay.recorded_solution(replay_model, body["messages"])
        if solution is None:
            start = " ".join(replay.last_user_text(body["messages"]).split())[:80] or "(no user text)"
            raise invalid(
                f"{model} is a {replay.REPLAY_NOTE} ({replay_model}), and it has no recorded solution for "
                f"this prompt (it knows the GSM8K test questions in rft/samples/gsm8k_solutions.jsonl); the "
                f"last user turn begins: {start!r}",
                "messages",
            )
        prompt_tokens = sum(
            replay.tokens(replay.message_text(m)) for m in body["messages"] if isinstance(m, dict)
        )
        completion_tokens = replay.tokens(solution)
        return {
            "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
            "object": "chat.completion",
            "created": self._now(),
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": solution},
                    "finish_reason": "stop",
                    "logprobs": None,
                }
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
            # The label a caller can check: this answer was recorded, not generated.
            "system_fingerprint": f"local_aws-replay:{replay_model}",
        }


def _scores(reply: GraderReply, expected: int) -> list[float] | str:
    """The batch's `aggregate_reward_score`s, or why the reply is not a valid reward result."""
    if reply.error:
        return f"failed: {reply.error[:300]}"
    try:
        results = json.loads(reply.payload)
    except ValueError:
        return "returned something that is not JSON"
    if not isinstance(results, list) or len(results) != expected:
        return f"returned {str(results)[:200]} instead of {expected} results"
    scores = []
    for result in results:
        score = result.get("aggregate_reward_score") if isinstance(result, dict) else None
        if isinstance(score, bool) or not isinstance(score, int | float) or not math.isfinite(score):
            return f"returned a result without a finite aggregate_reward_score: {str(result)[:200]}"
        scores.append(float(score))
    return scores
