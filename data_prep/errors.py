"""User-facing failures.

Data preparation runs inside `cdk synth`, so every failure a user can cause must read as a
message that names the offending records, the rule they break and the fix, never a stack
trace. Problems are collected first and raised together so one run reports everything wrong.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

#: How many offenders a message spells out before summarising the rest as a count.
SHOWN_OFFENDERS = 5


@dataclass(frozen=True)
class Problem:
    """One broken rule and every place that breaks it."""

    rule: str
    offenders: tuple[str, ...]
    fix: str = ""
    noun: str = "record"

    def describe(self, shown: int = SHOWN_OFFENDERS) -> str:
        count = len(self.offenders)
        listed = ", ".join(self.offenders[:shown])
        more = f" and {count - shown} more" if count > shown else ""
        plural = self.noun if count == 1 else f"{self.noun}s"
        verb = "breaks" if count == 1 else "break"
        text = f"{self.rule}: {count} {plural} {verb} this rule: {listed}{more}."
        return f"{text} Fix: {self.fix}" if self.fix else text


class DataPrepError(Exception):
    """A mistake in the input data or options, with a message meant for the user."""

    def __init__(self, message: str, problems: Sequence[Problem] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.problems = tuple(problems)

    def __str__(self) -> str:
        return self.message

    @classmethod
    def from_problems(cls, task: str, problems: Iterable[Problem]) -> DataPrepError:
        problems = tuple(problems)
        rules = "1 rule" if len(problems) == 1 else f"{len(problems)} rules"
        lines = [f"{task}: the data breaks {rules}; nothing was written."]
        lines += [f"  - {problem.describe()}" for problem in problems]
        return cls("\n".join(lines), problems)


class RowError(ValueError):
    """Raised by a converter for one raw row it cannot turn into records.

    The pipeline catches it per row and groups rows by `rule`, so a converter only has to say
    what is wrong with this row; the summary, ids and line numbers are added generically.
    """

    def __init__(self, rule: str, fix: str = "") -> None:
        super().__init__(rule)
        self.rule = rule
        self.fix = fix
