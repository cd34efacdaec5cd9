"""`rft status` and `rft stop` for an open-weight stack: a fine-tuning job on Bedrock's mantle API.

An open-weight stack (`rft:baseModel` openai.gpt-oss-20b or Qwen3 32B) trains through Bedrock's
OpenAI-compatible fine-tuning API at `https://bedrock-mantle.<region>.api.aws/v1`, not through
`CreateModelCustomizationJob`. Its stack says so in the `JobBackend` output (`mantle`) and names the
job in `MantleJobId`; `rft.job_control` hands such a stack to this module.

What is read, per the Bedrock user guide ("Create and manage fine-tuning jobs for open-weight
models", fine-tuning-openai-job-create), with the shared `MantleClient` (lambda/rft_mantle, SigV4
as the caller's own AWS identity, service `bedrock-mantle`):

* `GET /v1/fine_tuning/jobs/{id}`: `status`, `created_at`/`finished_at` (epoch seconds), `model`,
  `fine_tuned_model` (set once `succeeded`; callable directly, no deployment), `error`.
* `GET /v1/fine_tuning/jobs/{id}/events` (all pages): `type: "metrics"` events carry `data.step`,
  `data.total_steps` and `data.critic_rewards_mean`, the reward curve. Their order is not
  documented, so points are sorted by step.
* `GET /v1/fine_tuning/jobs/{id}/checkpoints` (all pages): how many checkpoints exist.

Statuses are the OpenAI set the docs defer to (`validating_files`, `queued`, `running`,
`succeeded`, `failed`, `cancelled`); an unknown status counts as still in progress.
"""

from __future__ import annotations

import contextlib
import json
import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table

from rft.errors import EXIT_JOB_FAILED, UserError
from rft.project import ensure_lambda_path

if TYPE_CHECKING:
    from rft.job_control import Sleep, StackJob

BACKEND_OUTPUT = "JobBackend"
MANTLE = "mantle"
JOB_ID_OUTPUT = "MantleJobId"
TERMINAL = frozenset({"succeeded", "failed", "cancelled"})
STATUS_STYLE = {"running": "cyan", "succeeded": "green", "failed": "red", "cancelled": "yellow"}
REWARD_METRIC = "critic_rewards_mean"
RECENT_EVENTS = 5  # the newest non-metrics events shown by `rft status`
PAGE = 100


def is_open_weight(outputs: Mapping[str, str]) -> bool:
    """The stack's job runs on the mantle API (its `JobBackend` output says `mantle`)."""
    return outputs.get(BACKEND_OUTPUT, "").strip().lower() == MANTLE


def mantle_module() -> Any:
    """The shared mantle package (lambda/rft_mantle), imported as the job function imports it."""
    ensure_lambda_path()
    import rft_mantle

    return rft_mantle


def mantle_client(
    region: str,
    endpoint_url: str | None = None,
    *,
    max_attempts: int | None = None,
    timeout: float | None = None,
    pool: int | None = None,
) -> Any:
    """A MantleClient signing as the caller's AWS identity (profile, SSO, env: boto3's usual chain).

    The endpoint is `endpoint_url`, else `AWS_ENDPOINT_URL_BEDROCK_MANTLE` (the local emulator), else
    bedrock-mantle.<region>.api.aws. `pool`: connections kept per host, for that many calls at once.
    """
    import botocore.session

    credentials = botocore.session.get_session().get_credentials()
    if credentials is None:
        raise UserError(
            "no AWS credentials found to call bedrock-mantle: configure a profile (aws configure / "
            "AWS_PROFILE), or for the local emulator set test keys"
        )
    options: dict[str, Any] = {"endpoint_url": endpoint_url, "credentials": credentials}
    if max_attempts is not None:
        options["max_attempts"] = max_attempts
    if timeout is not None:
        options["timeout"] = timeout
    mantle = mantle_module().MantleClient(region, **options)
    if pool is not None and pool > 1:
        import urllib3

        # MantleClient keeps one connection per host; many calls at once need as many (else urllib3
        # discards each extra connection with a warning).
        mantle._http = urllib3.PoolManager(
            maxsize=pool,
            timeout=urllib3.Timeout(connect=5.0, read=timeout or mantle_module().DEFAULT_TIMEOUT),
            retries=False,
        )
    return mantle


def _needs(action: str) -> str:
    return f"bedrock-mantle:{action} on arn:aws:bedrock-mantle:<region>:<account>:project/default"


@contextlib.contextmanager
def mantle_errors(action: str, permission: str) -> Iterator[None]:
    """Turn what the mantle API answers while doing `action` into a one-line UserError."""
    error_type = mantle_module().MantleError
    try:
        yield
    except error_type as error:
        status = int(getattr(error, "status", 0) or 0)
        message = str(getattr(error, "message", "") or error)[:300]
        if status == 0 and getattr(error, "code", "") == "no_credentials":
            raise UserError(
                f"no AWS credentials found to {action}: configure a profile (aws configure / AWS_PROFILE)"
            ) from None
        if status == 0:
            raise UserError(
                f"cannot reach bedrock-mantle to {action} ({message}); check the network, or "
                "AWS_ENDPOINT_URL_BEDROCK_MANTLE if you use an emulator"
            ) from None
        code = str(getattr(error, "code", "") or "")
        if status == 401 or "signature" in code.lower() or "token" in code.lower():
            raise UserError(
                f"bedrock-mantle rejected the credentials to {action} ({status} {code}: {message}); "
                "refresh them and retry"
            ) from None
        if status == 403:
            raise UserError(
                f"bedrock-mantle denied permission to {action} ({status}: {message}); grant {_needs(permission)}"
            ) from None
        raise UserError(f"could not {action}: bedrock-mantle answered {status}: {message}") from None


def _missing(error: Exception) -> bool:
    return bool(getattr(error, "missing", False)) or getattr(error, "status", None) == 404


# -- what the API answers, as an operator reads it ------------------------------------------------


def _moment(value: Any) -> datetime | None:
    """Epoch seconds (the OpenAI shape) or an ISO 8601 string; None for anything else."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float) and math.isfinite(value) and value > 0:
        return datetime.fromtimestamp(float(value), UTC)
    if isinstance(value, str) and value.strip():
        with contextlib.suppress(ValueError):
            moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
            return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return None


def _error_text(error: Any) -> str | None:
    """The job's `error`: an object with `message` (and `code`, `param`), a string, or null."""
    if error in (None, {}, ""):
        return None
    if isinstance(error, Mapping):
        message = str(error.get("message") or "").strip()
        code = str(error.get("code") or "").strip()
        if message and code:
            return f"{code}: {message}"
        return message or code or json.dumps(dict(error), sort_keys=True)[:300]
    return str(error)


@dataclass(frozen=True)
class MantleJob:
    """The parts of a fine-tuning job object an operator looks at."""

    id: str
    status: str
    model: str
    created: datetime | None
    finished: datetime | None
    fine_tuned_model: str | None
    error: str | None
    hyperparameters: dict[str, Any] = field(default_factory=dict)

    @property
    def terminal(self) -> bool:
        return self.status in TERMINAL

    def elapsed(self, now: datetime) -> timedelta | None:
        """created_at to now while it runs, to finished_at once it ended; None when not known."""
        if self.created is None:
            return None
        end = now if not self.terminal else self.finished
        if end is None or end < self.created:
            return None
        return end - self.created


def mantle_job(job: Mapping[str, Any]) -> MantleJob:
    method = job.get("method") if isinstance(job.get("method"), Mapping) else {}
    reinforcement = method.get("reinforcement") if isinstance(method.get("reinforcement"), Mapping) else {}
    hyperparameters = reinforcement.get("hyperparameters") or job.get("hyperparameters") or {}
    status = str(job.get("status") or "unknown").lower()
    return MantleJob(
        id=str(job.get("id", "")),
        status=status,
        model=str(job.get("model") or ""),
        created=_moment(job.get("created_at")),
        finished=_moment(job.get("finished_at")),
        fine_tuned_model=(job.get("fine_tuned_model") or None) if status == "succeeded" else None,
        error=_error_text(job.get("error")) if status == "failed" else None,
        hyperparameters=dict(hyperparameters) if isinstance(hyperparameters, Mapping) else {},
    )


def _event_data(event: Mapping[str, Any]) -> Mapping[str, Any]:
    data = event.get("data")
    if isinstance(data, str):  # accepted too: the docs print objects, a JSON string is plausible
        with contextlib.suppress(ValueError):
            data = json.loads(data)
    return data if isinstance(data, Mapping) else {}


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


@dataclass(frozen=True)
class Progress:
    """What the job's events and checkpoints say: the reward by step and the newest figures."""

    steps: list[float] = field(default_factory=list)
    rewards: list[float] = field(default_factory=list)
    step: int | None = None
    total_steps: int | None = None
    latest_reward: float | None = None
    events: int = 0
    checkpoints: int = 0
    recent: list[tuple[datetime | None, str, str]] = field(default_factory=list)

    def text(self) -> str:
        step = (
            f"step {self.step}/{self.total_steps if self.total_steps is not None else '?'}"
            if self.step is not None
            else "no metrics events yet"
        )
        reward = f", {REWARD_METRIC} {self.latest_reward:.4f}" if self.latest_reward is not None else ""
        plural = "" if self.checkpoints == 1 else "s"
        return f"{step}{reward}, {self.checkpoints} checkpoint{plural}"


def progress(events: list[Mapping[str, Any]], checkpoints: int) -> Progress:
    """The reward curve (one point per step, the newest event of a step winning) and the latest figures."""
    metrics: list[tuple[float, float, Mapping[str, Any]]] = []  # (step, created_at, data)
    others: list[tuple[datetime | None, str, str]] = []
    for event in events:
        data = _event_data(event)
        step = _number(data.get("step"))
        if event.get("type") == "metrics" or (step is not None and REWARD_METRIC in data):
            if step is not None:
                metrics.append((step, _number(event.get("created_at")) or 0.0, data))
        else:
            others.append(
                (
                    _moment(event.get("created_at")),
                    str(event.get("level") or "info"),
                    str(event.get("message") or ""),
                )
            )
    metrics.sort(key=lambda item: (item[0], item[1]))
    by_step: dict[float, float] = {}
    for step, _, data in metrics:
        reward = _number(data.get(REWARD_METRIC))
        if reward is not None:
            by_step[step] = reward
    newest = metrics[-1][2] if metrics else {}
    total = _number(newest.get("total_steps"))
    newest_rewards = [_number(d.get(REWARD_METRIC)) for _, _, d in metrics]
    latest = next((r for r in reversed(newest_rewards) if r is not None), None)
    others.sort(key=lambda item: item[0] or datetime.min.replace(tzinfo=UTC))
    return Progress(
        steps=sorted(by_step),
        rewards=[by_step[s] for s in sorted(by_step)],
        step=int(metrics[-1][0]) if metrics else None,
        total_steps=int(total) if total is not None else None,
        latest_reward=latest,
        events=len(events),
        checkpoints=checkpoints,
        recent=others[-RECENT_EVENTS:],
    )


def count_checkpoints(client: Any, job_id: str) -> int:
    """Every page of the job's checkpoints (`after` = the last id of a page, while `has_more`)."""
    total, after, seen = 0, None, set()
    while True:
        page = client.list_checkpoints(job_id, limit=PAGE, after=after)
        data = list(page.get("data") or [])
        total += len(data)
        if not page.get("has_more") or not data:
            return total
        after = str(data[-1].get("id", ""))
        if not after or after in seen:  # a server that repeats a page must not loop forever
            return total
        seen.add(after)


# -- reading, drawing, watching -------------------------------------------------------------------


def retrieve(client: Any, job_id: str, region: str) -> dict[str, Any]:
    error_type = mantle_module().MantleError
    with mantle_errors(f"read fine-tuning job {job_id}", "GetFineTuningJob"):
        try:
            return client.retrieve_job(job_id)
        except error_type as error:
            if not _missing(error):
                raise
    raise UserError(
        f"fine-tuning job {job_id!r} (the stack's {JOB_ID_OUTPUT} output) does not exist in {region}; it "
        "may have been deleted, or the stack is in another region (--region)"
    )


def read_progress(client: Any, job_id: str) -> Progress:
    with mantle_errors(f"read the events of fine-tuning job {job_id}", "GetFineTuningJob"):
        events = list(client.iter_events(job_id))
        checkpoints = count_checkpoints(client, job_id)
    return progress(events, checkpoints)


def format_elapsed(delta: timedelta | None) -> str:
    from rft.job_control import format_elapsed as shared

    return shared(delta)


def render(stack: str, job: MantleJob, seen: Progress, now: datetime, caption: str = "") -> Table:
    table = Table(title=f"Open-weight fine-tuning job {job.id}", title_justify="left", show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value", overflow="fold")
    table.add_row("stack", f"{stack} (bedrock-mantle fine-tuning API)")
    table.add_row("status", f"[{STATUS_STYLE.get(job.status, 'white')}]{job.status}[/]")
    elapsed = format_elapsed(job.elapsed(now))
    table.add_row("elapsed", f"{elapsed} (running)" if not job.terminal else elapsed)
    table.add_row("base model", job.model or "unknown")
    if job.hyperparameters:
        table.add_row(
            "hyperparameters", ", ".join(f"{k}={v}" for k, v in sorted(job.hyperparameters.items()))
        )
    if seen.step is not None:
        total = seen.total_steps if seen.total_steps is not None else "?"
        table.add_row("steps", f"{seen.step}/{total}")
    else:
        table.add_row("steps", "no metrics events yet")
    if seen.latest_reward is not None:
        table.add_row(REWARD_METRIC, f"{seen.latest_reward:.4f} (latest)")
    table.add_row("checkpoints", str(seen.checkpoints))
    table.add_row("events", str(seen.events))
    for moment, level, message in seen.recent:
        stamp = f"{moment:%H:%M:%S}" if moment else "--:--:--"
        table.add_row("event", f"{stamp} {level}: {message}")
    if job.fine_tuned_model:
        table.add_row("tuned model", f"[green]{job.fine_tuned_model}[/] (callable directly, no deployment)")
    if job.error:
        table.add_row("error", f"[red]{job.error}[/]")
    if caption:
        table.caption = caption
    return table


def curve_path(out_dir: Path, stack: str) -> Path:
    return out_dir / f"{stack}-reward-curve.png"


def draw(out_dir: Path, stack: str, job_id: str, seen: Progress) -> Path | None:
    """The reward curve from the metrics events, with the shared chart code; None before any point."""
    from rft.plots import reward_curve

    if not seen.steps:
        return None
    return reward_curve(
        curve_path(out_dir, stack),
        title=f"{stack}: {REWARD_METRIC} by step, from the metrics events of job {job_id}",
        training={REWARD_METRIC: (seen.steps, seen.rewards)},
        validation={},
    )


def watch(
    client: Any,
    target: StackJob,
    region: str,
    console: Console,
    *,
    first: tuple[MantleJob, Progress],
    out_dir: Path,
    sleep: Sleep,
    delays: Iterator[float],
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> tuple[MantleJob, Progress]:
    """Poll until the job ends, one line per poll (works without a terminal), redrawing the PNG."""
    job, seen = first
    polls = 1
    while not job.terminal:
        delay = next(delays)
        console.print(
            f"{now():%H:%M:%S} {job.id}: {job.status}, elapsed {format_elapsed(job.elapsed(now()))}, "
            f"{seen.text()} (poll {polls}; next check in {delay:g} s)",
            soft_wrap=True,
            markup=False,
        )
        sleep(delay)
        previous, drawn = job.status, seen.steps
        job = mantle_job(retrieve(client, target.job_name, region))
        seen = read_progress(client, target.job_name)
        polls += 1
        if seen.steps != drawn and (png := draw(out_dir, target.stack, job.id, seen)) is not None:
            console.print(f"{now():%H:%M:%S} redrew {png} ({len(seen.steps)} points)", markup=False)
        if job.status != previous:
            console.print(f"{now():%H:%M:%S} {job.id}: {previous} → {job.status}", markup=False)
    console.print(f"final state after {polls} polls", markup=False)
    return job, seen


def status(
    target: StackJob,
    region: str,
    console: Console,
    *,
    watch_job: bool = False,
    out_dir: Path = Path("reports"),
    sleep: Sleep | None = None,
    delays: Iterator[float] | None = None,
    client: Any = None,
) -> MantleJob:
    """Show the open-weight job (and with `watch_job`, follow it); exit 4 when it failed."""
    from rft import job_control

    client = client or mantle_client(region)
    job = mantle_job(retrieve(client, target.job_name, region))
    seen = read_progress(client, target.job_name)
    if watch_job and not job.terminal:
        job, seen = watch(
            client,
            target,
            region,
            console,
            first=(job, seen),
            out_dir=out_dir,
            sleep=sleep or job_control.POLL_SLEEP,
            delays=delays
            or job_control.backoff_delays(
                job_control.FIRST_POLL_S, job_control.POLL_GROWTH, job_control.LONGEST_POLL_S
            ),
        )
    console.print(render(target.stack, job, seen, datetime.now(UTC)))
    png = draw(out_dir, target.stack, job.id, seen)
    if png is not None:
        console.print(f"wrote {png}", markup=False)
    if job.status == "succeeded" and job.fine_tuned_model:
        console.print(
            f"evaluate it: rft evaluate {target.stack} --model base --model tuned",
            markup=False,
            soft_wrap=True,
        )
    if job.status == "failed":
        raise UserError(f"job {job.id} failed: {job.error or 'no error given'}", EXIT_JOB_FAILED)
    return job


def stop(
    target: StackJob, region: str, console: Console, *, confirm: Callable[[str], bool], client: Any = None
) -> str:
    """Cancel the open-weight job if it is still in progress; return the status it was left in."""
    client = client or mantle_client(region)
    error_type = mantle_module().MantleError
    job_id = target.job_name
    with mantle_errors(f"read fine-tuning job {job_id}", "GetFineTuningJob"):
        try:
            current = mantle_job(client.retrieve_job(job_id)).status
        except error_type as error:
            if not _missing(error):
                raise
            console.print(f"job {job_id} is gone (not found in {region}); nothing to stop", markup=False)
            return "missing"
    if current in TERMINAL:
        console.print(f"job {job_id} is {current}; nothing to stop", markup=False)
        return current
    if not confirm(f"Cancel job {job_id}? Training so far is billed and the job cannot be resumed"):
        console.print("not cancelled", markup=False)
        return current
    with mantle_errors(f"cancel fine-tuning job {job_id}", "CancelFineTuningJob"):
        try:
            answer = client.cancel_job(job_id)
        except error_type as error:
            if _missing(error):
                console.print(f"job {job_id} is gone (not found in {region}); nothing to stop", markup=False)
                return "missing"
            if getattr(error, "status", None) not in (400, 409):
                raise
            after = mantle_job(retrieve(client, job_id, region)).status
            if after not in TERMINAL:
                raise
            console.print(f"job {job_id} finished ({after}) before it could be cancelled", markup=False)
            return after
    after = mantle_job(answer).status if isinstance(answer, Mapping) and answer.get("status") else "unknown"
    if after == "unknown":
        after = mantle_job(retrieve(client, job_id, region)).status
    console.print(f"cancel requested: job {job_id} is now {after}", markup=False)
    return after
