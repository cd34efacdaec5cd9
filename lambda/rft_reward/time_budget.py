"""A per-sample time budget for scorers: a slow sample costs itself, never the batch.

A scorer that hangs (an endless loop on an odd response, a stuck network call in a user's
verifier) would otherwise hold the whole batch until Lambda kills it; Bedrock retries a timed-out
batch and, after repeats, fails the job. Python cannot kill a thread, so the scorer runs on a
daemon worker thread and the handler simply stops waiting for it: the sample scores 0 with a
`scorer_timeout` metric, the stuck worker is abandoned (it exits when the call returns, or with
the process), and the rest of the batch goes on a fresh worker. Daemon threads never block
interpreter exit, so `rft rehearse` on a scorer with an endless loop still ends. A worker that was
never abandoned waits for the next batch instead of exiting, so a warm Lambda container hands each
batch to a live thread rather than starting one (starting a thread costs more than scoring a few
GSM8K samples).

The budget is `SCORE_TIMEOUT_S` (default 5 s; `0` turns it off and runs the scorer inline), and
no sample is waited for past the Lambda's own deadline (minus a margin), so the batch returns in
time with one result per sample. One limit remains: a single C call that keeps the GIL (a
catastrophic backtracking `re` match) stops every thread, the waiting one included, until it
returns; bound such work in the scorer itself (`rft_reward.answers` reads a bounded tail).
"""

from __future__ import annotations

import contextvars
import os
import queue
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple, TypeVar

from rft_reward.environment import env_number

SCORE_TIMEOUT_ENV = "SCORE_TIMEOUT_S"
DEFAULT_SCORE_TIMEOUT_S = 5.0
MAX_SCORE_TIMEOUT_S = 900.0  # Lambda's own limit: a larger budget could never be waited for

T = TypeVar("T")


def score_timeout_from_env(environ: Mapping[str, str] | None = None) -> tuple[float | None, list[str]]:
    """`SCORE_TIMEOUT_S` in seconds (None: no budget), and a message if it was invalid and replaced.

    A bad value must not fail every batch of a multi-hour job, so the default is used and the
    problem is reported for the handler to log.
    """
    problems: list[str] = []
    env = os.environ if environ is None else environ
    seconds = env_number(env, SCORE_TIMEOUT_ENV, DEFAULT_SCORE_TIMEOUT_S, 0.0, MAX_SCORE_TIMEOUT_S, problems)
    return (seconds if seconds > 0 else None), problems


class Finished(NamedTuple):
    """A call that returned `value` or raised `error` within its budget."""

    value: Any = None
    error: BaseException | None = None


class TimedOut(NamedTuple):
    """A call that was not waited for: over its budget (`started`) or never run (deadline reached)."""

    started: bool


Outcome = Finished | TimedOut
#: Idle workers kept per thread name; more are started when several batches run at once.
MAX_IDLE_WORKERS = 4


class _Worker:
    """A daemon thread that runs the jobs handed to it, one at a time, until a job says the
    worker was abandoned (its call overran and a fresh worker took over the batch)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._jobs: queue.SimpleQueue[Callable[[], bool]] = queue.SimpleQueue()
        threading.Thread(target=self._serve, name=name, daemon=True).start()

    def submit(self, job: Callable[[], bool]) -> None:
        self._jobs.put(job)

    def _serve(self) -> None:
        while self._jobs.get()():
            pass


_NOT_RUN: Any = object()  # an outcome slot no call has filled
_idle: dict[str, list[_Worker]] = {}
_idle_lock = threading.Lock()


def _take_worker(name: str) -> _Worker:
    with _idle_lock:
        workers = _idle.get(name)
        if workers:
            return workers.pop()
    return _Worker(name)


def _give_back(worker: _Worker) -> None:
    with _idle_lock:
        workers = _idle.setdefault(worker.name, [])
        if len(workers) < MAX_IDLE_WORKERS:
            workers.append(worker)
            return
    worker.submit(lambda: False)  # enough idle threads already: let this one exit


class _Run:
    """State shared by the waiting thread and the current worker, guarded by `lock`.

    `generation` names the live worker; a worker whose generation is stale was abandoned and
    must neither record results nor start another call. `finished` is set (to the worker) when
    the live worker completed the batch, so it can serve the next one; it then releases
    `completed`, a plain lock the waiting thread holds from the start and blocks on (cheaper than
    an Event's condition, and this happens once per batch).
    """

    def __init__(self, count: int) -> None:
        self.lock = threading.Lock()
        self.completed = threading.Lock()
        self.completed.acquire()
        self.done = False
        self.outcomes: list[Any] = [_NOT_RUN] * count
        self.generation = 0
        self.current = 0
        self.started = 0.0
        self.worker: _Worker | None = None
        self.finished: _Worker | None = None


class Failure(NamedTuple):
    """In `run_values_with_budget`'s results: a call that raised or was not waited for."""

    outcome: Outcome


def run_with_budget(fn: Callable[[T], Any], items: Sequence[T], **budget: Any) -> list[Outcome]:
    """`run_values_with_budget` (same arguments) with each call's result as a `Finished` or a
    `TimedOut`: the form for callers that want one outcome type per item."""
    values = run_values_with_budget(fn, items, **budget)
    return [value.outcome if type(value) is Failure else Finished(value) for value in values]


def run_values_with_budget(
    fn: Callable[[T], Any],
    items: Sequence[T],
    *,
    budget_s: float,
    deadline: float | None = None,
    clock: Callable[[], float] = time.monotonic,
    name: str = "scorer",
) -> list[Any]:
    """`fn(item)` for each item, in order, on a daemon worker; no call is waited for past its budget.

    Each call's return value comes back as it is (no wrapper per successful call: this is the
    handler's hot path), or as a `Failure` holding `Finished(error=...)` or `TimedOut`. A call
    still running `budget_s` seconds after it started, or at `deadline` (a `clock()` time), is
    abandoned (`TimedOut(started=True)`) with its worker, and the next item goes to a new worker;
    items not started by the deadline are `TimedOut(started=False)`. The caller waits on one lock
    and wakes only when a call may have overrun, so a fast scorer pays one hand-off to an idle
    worker per batch, not one per item. Calls run one at a time, in order, as they would inline
    (a scorer need not be thread-safe), and see the caller's context variables (Powertools' keys).
    """
    if not items:
        return []
    if deadline is not None and clock() >= deadline:
        return [Failure(TimedOut(started=False)) for _ in items]
    run = _Run(len(items))
    context = contextvars.copy_context()
    count = len(items)

    def calls(generation: int, start: int) -> bool:
        lock, outcomes = run.lock, run.outcomes  # locals: this loop runs once per sample
        for index in range(start, count):
            try:
                value = fn(items[index])
            except BaseException as exc:  # even SystemExit from a scorer is that sample's bug
                value = Failure(Finished(error=exc))
            with lock:
                if run.generation != generation:  # abandoned while running: the result is too late
                    return False
                outcomes[index] = value
                run.current = index + 1
                run.started = clock()
                if index + 1 == count:  # in the same locked step, so the waiter never sees a gap
                    run.finished = run.worker
                    run.done = True
                    run.completed.release()
        return True

    def work(generation: int, start: int) -> bool:
        """Runs the batch from `start`; False when this worker was abandoned and must exit."""
        # One context per worker (an abandoned one may still be inside its own), entered once.
        return context.copy().run(calls, generation, start)

    def start_worker(start: int, now: float) -> None:
        """Called with the lock held, so the worker's first report comes after this bookkeeping."""
        run.generation += 1
        run.current, run.started = start, now
        generation = run.generation
        run.worker = _take_worker(name)
        run.worker.submit(lambda: work(generation, start))

    with run.lock:
        start_worker(0, clock())
    while True:
        with run.lock:
            if run.done:
                break
            now = clock()
            limit = run.started + budget_s if deadline is None else min(run.started + budget_s, deadline)
            if now >= limit:  # the current call overran: abandon it with its worker
                run.outcomes[run.current] = Failure(TimedOut(started=True))
                following = run.current + 1
                if deadline is not None and now >= deadline:
                    for index in range(following, len(items)):
                        run.outcomes[index] = Failure(TimedOut(started=False))
                    following = len(items)
                if following < len(items):
                    start_worker(following, now)
                else:
                    run.generation += 1
                    run.done = True
                continue
        run.completed.acquire(timeout=limit - now)
    if run.finished is not None:  # the live worker filled every slot: nothing left to mark
        _give_back(run.finished)
        return run.outcomes
    return [value if value is not _NOT_RUN else Failure(TimedOut(started=False)) for value in run.outcomes]
