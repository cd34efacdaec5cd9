"""The knobs of a preparation run and what it returns.

Options are checked when constructed, so a wrong value in cdk.json fails synth with a message
naming the setting rather than deep inside a converter.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from data_prep.errors import DataPrepError

Source = Literal["bundled", "local", "hub"]
OnOverlong = Literal["fail", "drop"]
SOURCES: tuple[str, ...] = ("bundled", "local", "hub")
ON_OVERLONG: tuple[str, ...] = ("fail", "drop")


@dataclass(frozen=True)
class PrepOptions:
    """How to prepare a task's data. Every field has a default that works for the bundled sample.

    `max_prompt_tokens=None` means the task's own default (`Converter.default_max_prompt_tokens`);
    pass the job's `maxPromptLength` so prompts the job would reject fail here instead.
    `validation_size` is counted in source rows: it is how many rows are carved from train when
    the dataset has no official validation split, and caps an official one. 0 means no
    validation set.
    """

    source: Source = "bundled"
    path: str | Path | None = None
    seed: int = 13
    validation_size: int = 100
    max_train_records: int | None = None
    max_prompt_tokens: int | None = None
    on_overlong: OnOverlong = "fail"
    chars_per_token: float = 3.0
    progress: bool = True
    task_options: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        def bad(setting: str, value: object, expected: str) -> DataPrepError:
            return DataPrepError(f"{setting}={value!r} is invalid: expected {expected}")

        if self.source not in SOURCES:
            raise bad("source", self.source, " | ".join(SOURCES))
        if self.source == "local" and self.path is None:
            raise DataPrepError("source='local' needs path= (CLI: --path): a JSONL file or a directory")
        if self.source != "local" and self.path is not None:
            raise DataPrepError(f"path= is only used with source='local' (got source={self.source!r})")
        if not _is_int(self.seed):
            raise bad("seed", self.seed, "an integer")
        if not _is_int(self.validation_size) or self.validation_size < 0:
            raise bad("validation_size", self.validation_size, "an integer >= 0 (0: no validation set)")
        if self.max_train_records is not None and (
            not _is_int(self.max_train_records) or self.max_train_records < 1
        ):
            raise bad("max_train_records", self.max_train_records, "a positive integer or None")
        if self.max_prompt_tokens is not None and (
            not _is_int(self.max_prompt_tokens) or self.max_prompt_tokens < 1
        ):
            raise bad("max_prompt_tokens", self.max_prompt_tokens, "a positive integer (maxPromptLength)")
        if self.on_overlong not in ON_OVERLONG:
            raise bad("on_overlong", self.on_overlong, " | ".join(ON_OVERLONG))
        if (
            isinstance(self.chars_per_token, bool)
            or not isinstance(self.chars_per_token, int | float)
            or not self.chars_per_token > 0
        ):
            raise bad("chars_per_token", self.chars_per_token, "a number > 0")

    @property
    def local_path(self) -> Path:
        if self.path is None:
            raise DataPrepError("source='local' needs path=")
        return Path(self.path)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True)
class PrepResult:
    """Where the files went. `validation_path`/`test_path` are None when that split is empty.

    `written` lists the files whose bytes changed in this run; unchanged files are left alone
    so their mtimes (and CDK asset hashes) stay put.
    """

    out_dir: Path
    train_path: Path
    validation_path: Path | None
    test_path: Path | None
    stats_path: Path
    stats: dict[str, Any]
    written: tuple[Path, ...] = ()
