"""The converter interface every task implements.

A task only says what is specific to its dataset: where its rows come from, how one raw row
becomes RFT records, and (rarely) how to split. Loading files, schema and length validation,
dropping duplicate prompts (`dedup.py`), carving validation, statistics and deterministic writing
are generic (see `pipeline.py`), so a new dataset is one small subclass that its task's `TaskSpec`
names (`tasks/<name>.py`).

Minimal example::

    class MyTask(Converter):
        name = "mytask"
        def to_records(self, row, split, options=None):
            return [{"id": self.row_id(row),
                     "messages": [{"role": "user", "content": row.data["prompt"]}],
                     "reference_answer": {"answer": row.data["gold"]}}]
"""

from __future__ import annotations

import argparse
from collections.abc import Hashable, Mapping, Sequence
from functools import partial
from typing import Any, ClassVar

from data_prep.errors import DataPrepError
from data_prep.options import PrepOptions
from data_prep.rows import RawRow
from data_prep.sources import SAMPLES_DIR, load_hub_splits, read_local, read_split_dir
from data_prep.splitting import carve, subsample

SPLITS: tuple[str, ...] = ("train", "validation", "test")


class Converter:
    """Base class with defaults that keep official splits and read JSONL split files.

    One registered instance serves every run (`prepare`, the CLI, `rft rehearse`), so a converter
    keeps no state: each hook receives the run's options, and no method assigns to `self`.
    """

    #: Registry and CLI name, also the prefix of record ids.
    name: ClassVar[str] = ""
    #: One line for `python -m data_prep --help`.
    description: ClassVar[str] = ""
    #: Used when PrepOptions.max_prompt_tokens is None; match the task's default maxPromptLength.
    default_max_prompt_tokens: ClassVar[int] = 512
    #: Which PrepOptions.source values this task supports.
    sources: ClassVar[tuple[str, ...]] = ("bundled", "local")
    #: File names tried, in order, for each split in a local or bundled directory.
    split_files: ClassVar[Mapping[str, Sequence[str]]] = {
        "train": ("train.jsonl",),
        "validation": ("validation.jsonl",),
        "test": ("test.jsonl",),
    }
    #: `datasets.load_dataset(hub_dataset, hub_config)` for source="hub"; None: no hub source.
    hub_dataset: ClassVar[str | None] = None
    hub_config: ClassVar[str | None] = None
    #: Extra keyword arguments for load_dataset, e.g. {"revision": "refs/convert/parquet"}.
    hub_load_kwargs: ClassVar[Mapping[str, Any]] = {}
    #: Hub split name -> our split name (e.g. FinQA's hub "validation" is the official dev set).
    hub_splits: ClassVar[Mapping[str, str]] = {"train": "train", "validation": "validation", "test": "test"}
    #: Task-specific options and their defaults, passed as PrepOptions.task_options.
    task_option_defaults: ClassVar[Mapping[str, Any]] = {}

    # ---- loading -------------------------------------------------------------------------

    def load(self, options: PrepOptions) -> dict[str, list[dict[str, Any]]]:
        """Raw rows per official split; "train" is required, "validation"/"test" optional."""
        if options.source not in self.sources:
            raise DataPrepError(
                f"task {self.name!r} has no {options.source!r} source; use one of: {', '.join(self.sources)}"
            )
        if options.source == "bundled":
            return self.load_bundled(options)
        if options.source == "local":
            return self.load_local(options)
        return self.load_hub(options)

    def load_bundled(self, options: PrepOptions) -> dict[str, list[dict[str, Any]]]:
        return dict(read_split_dir(SAMPLES_DIR / self.name, self.split_files, options.progress))

    def load_local(self, options: PrepOptions) -> dict[str, list[dict[str, Any]]]:
        return dict(read_local(options.local_path, self.split_files, options.progress))

    def load_hub(self, options: PrepOptions) -> dict[str, list[dict[str, Any]]]:
        if self.hub_dataset is None:
            raise DataPrepError(f"task {self.name!r} has no hub source")
        return load_hub_splits(self.hub_dataset, self.hub_config, self.hub_splits, self.hub_load_kwargs)

    # ---- splitting -----------------------------------------------------------------------

    def group_key(self, row: RawRow, options: PrepOptions) -> Hashable:
        """Rows with equal keys always land in the same split. Default: every row is its own group."""
        return (row.source_split, row.index)

    def duplicate_key(self, row: RawRow, options: PrepOptions) -> Hashable | None:
        """An identity that makes rows duplicates even when their rendered prompts differ.

        Rows are always duplicates when their normalized user turns are equal (see `dedup.py`);
        None (the default) adds nothing to that. PandaLM returns the unordered pair, so a pair
        given in both orders is one item whether or not the swapped copies are emitted.
        """
        return None

    def leak_key(self, row: RawRow, options: PrepOptions) -> Hashable | None:
        """A coarser test-overlap identity: train/validation rows whose key is also in test are dropped.

        Rows whose normalized prompt is in test are always dropped; None (the default) adds
        nothing to that. PandaLM returns its group (the instruction and input).
        """
        return None

    def split(self, raw: Mapping[str, list[RawRow]], options: PrepOptions) -> dict[str, list[RawRow]]:
        """Keep official splits; never move rows between train and test.

        Validation is the official one (capped at validation_size) or, if there is none, carved
        from train with the fixed seed. Test only ever comes from the official test split.
        `raw` holds no duplicate prompts: they are dropped before splitting.
        """
        group = partial(self.group_key, options=options)
        train = list(raw["train"])
        official_validation = list(raw.get("validation", []))
        if official_validation:
            validation = subsample(official_validation, options.validation_size, options.seed, group)
        else:
            train, validation = carve(train, options.validation_size, options.seed, group)
        return {"train": train, "validation": validation, "test": list(raw.get("test", []))}

    # ---- conversion ----------------------------------------------------------------------

    def row_id(self, row: RawRow) -> str:
        """Stable id from the row's place in its source split, e.g. gsm8k-train-00042."""
        return f"{self.name}-{row.source_split}-{row.index:05d}"

    def to_records(self, row: RawRow, split: str, options: PrepOptions | None = None) -> list[dict[str, Any]]:
        """RFT records for one raw row; raise RowError for a row that cannot be converted.

        `options` are this run's (None: the defaults, as `rft rehearse` builds prompts). Converters
        keep no state: a run's choices arrive here and in every other hook, never on `self`.

        `split` is the row's official (source) split: rows are converted, and length-checked,
        before splitting, so that dropping over-long records cannot leave validation short.
        All records of one row always land in the same output split (PandaLM's two orders).
        Return [] to skip a row on purpose (counted as skipped_rows). Records without an "id"
        get `row_id(row)` (with a -0, -1, ... suffix when a row gives several).
        """
        raise NotImplementedError(f"{type(self).__name__}.to_records")

    # ---- task options and CLI ------------------------------------------------------------

    def task_option(self, options: PrepOptions | None, key: str) -> Any:
        """This run's value of a task option, else its default (also when `options` is None)."""
        given = options.task_options if options is not None else {}
        return given.get(key, self.task_option_defaults[key])

    def check_task_options(self, options: PrepOptions) -> None:
        unknown = sorted(set(options.task_options) - set(self.task_option_defaults))
        if unknown:
            known = ", ".join(sorted(self.task_option_defaults)) or "none"
            raise DataPrepError(f"task {self.name!r} has no option(s) {', '.join(unknown)} (known: {known})")

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        """Add task-specific CLI flags (default: none)."""

    def task_options_from_args(self, args: argparse.Namespace) -> dict[str, Any]:
        """Map the flags added in add_arguments to PrepOptions.task_options."""
        return {}
