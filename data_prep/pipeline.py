"""`prepare`: load -> convert -> validate -> drop duplicates -> split -> write, the same for every task.

Nothing is written until every record has passed every rule, so a failed run leaves the
previous output (and the CDK assets built from it) exactly as it was.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from data_prep.converter import SPLITS, Converter
from data_prep.dedup import Dropped, drop_duplicates, prompt_key
from data_prep.errors import DataPrepError, Problem, RowError
from data_prep.options import PrepOptions, PrepResult
from data_prep.progress import Progress
from data_prep.registry import get_task
from data_prep.rows import RawRow, wrap_rows
from data_prep.splitting import subsample
from data_prep.stats import token_summary
from data_prep.validation import (
    RECORD_ID,
    STRICT_JSON,
    Rule,
    broken_rules,
    count_problems,
    estimate_tokens,
    overlong_rule,
    prompt_chars,
)
from data_prep.writing import dump_record, jsonl_bytes, remove_stale, stats_bytes, write_if_changed

OUTPUT_FILES: Mapping[str, str] = {
    "train": "train.jsonl",
    "validation": "validation.jsonl",
    "test": "test.jsonl",
}
STATS_FILE = "stats.json"


@dataclass(frozen=True, slots=True)
class _Converted:
    """A validated record, kept with what the later steps need about it."""

    row_key: tuple[str, int]  # (source split, index) of its raw row: records of one row stay together
    record_id: str
    where: str
    line: str
    tokens: int
    prompt: str  # dedup.prompt_key: records with equal prompts are duplicates


class _Collector:
    """Offenders grouped by rule, in first-seen order, for one combined error."""

    def __init__(self) -> None:
        self._by_rule: dict[tuple[str, str], list[str]] = {}

    def add(self, rule: str, fix: str, offender: str) -> None:
        self._by_rule.setdefault((rule, fix), []).append(offender)

    def problems(self) -> list[Problem]:
        return [Problem(rule, tuple(offenders), fix) for (rule, fix), offenders in self._by_rule.items()]


def prepare(task: str, out_dir: str | Path, options: PrepOptions | None = None) -> PrepResult:
    """Turn `task`'s dataset into validated RFT JSONL files in `out_dir`.

    Rows are converted, length-checked and deduplicated *before* splitting, so that dropping
    over-long or duplicate records never leaves the validation set short of its target size,
    and no prompt can land in two splits (the rule: `dedup.py`).
    Raises DataPrepError, with a message for the user, for any problem with the data or options.
    """
    options = options if options is not None else PrepOptions()
    converter = get_task(task)
    converter.check_task_options(options)
    out_dir = Path(out_dir)
    limit = options.max_prompt_tokens or converter.default_max_prompt_tokens
    _refuse_to_overwrite_source(out_dir, options)

    loaded = converter.load(options)
    if not loaded.get("train"):
        raise DataPrepError(f"{task}: the {options.source} source has no training rows")
    raw = {split: wrap_rows(split, rows) for split, rows in loaded.items()}

    by_row, skipped, collector = _convert(converter, raw, options)
    dropped_overlong = _handle_overlong(by_row, limit, options, collector)
    problems = collector.problems()
    if problems:
        raise DataPrepError.from_problems(task, problems)

    usable = {split: [row for row in rows if by_row[_key(row)]] for split, rows in raw.items()}
    usable.setdefault("train", [])
    unique, dropped = drop_duplicates(
        usable,
        keys=lambda row: _row_keys(converter, row, by_row[_key(row)], options),
        leak_key=lambda row: converter.leak_key(row, options),
    )
    splits = _checked_splits(converter, converter.split(unique, options))
    output = {split: [item for row in splits[split] for item in by_row[_key(row)]] for split in SPLITS}

    capped = 0
    if options.max_train_records is not None and len(output["train"]) > options.max_train_records:
        before = len(output["train"])
        output["train"] = subsample(output["train"], options.max_train_records, options.seed, _row_of)
        capped = before - len(output["train"])

    repeats = sum(dropped.duplicates.values()) + sum(dropped.test_overlap.values())
    problems = count_problems({split: len(output[split]) for split in SPLITS}, repeats)
    if problems:
        raise DataPrepError.from_problems(task, problems)

    contents = {split: jsonl_bytes(item.line for item in output[split]) for split in SPLITS if output[split]}
    stats = _stats(
        task,
        options,
        loaded,
        output,
        limit,
        dropped=dropped_overlong,
        skipped=skipped,
        duplicates=dropped,
        capped=capped,
        contents=contents,
    )
    return _write(out_dir, contents, stats)


def _key(row: RawRow) -> tuple[str, int]:
    return (row.source_split, row.index)


def _row_of(item: _Converted) -> tuple[str, int]:
    return item.row_key


def _refuse_to_overwrite_source(out_dir: Path, options: PrepOptions) -> None:
    if options.source != "local":
        return
    source, out = options.local_path.resolve(), out_dir.resolve()
    if source == out or (source.parent == out and source.name in (*OUTPUT_FILES.values(), STATS_FILE)):
        raise DataPrepError(
            f"the output directory {out_dir} holds the source data {options.path}; "
            "choose another --out so the source files are not overwritten"
        )


def _checked_splits(converter: Converter, splits: Mapping[str, list[RawRow]]) -> dict[str, list[RawRow]]:
    unknown = sorted(set(splits) - set(SPLITS))
    if unknown or "train" not in splits:
        raise DataPrepError(
            f"{converter.name}: split() must return 'train' and optionally 'validation'/'test', "
            f"got {sorted(splits)}"
        )
    return {split: list(splits.get(split, [])) for split in SPLITS}


def _row_keys(converter: Converter, row: RawRow, items: list[_Converted], options: PrepOptions) -> list[Any]:
    """Every identity of one row for `drop_duplicates`: its records' prompts and the converter's key."""
    extra = converter.duplicate_key(row, options)
    return [item.prompt for item in items] + ([("task", extra)] if extra is not None else [])


def _convert(
    converter: Converter, raw: Mapping[str, list[RawRow]], options: PrepOptions
) -> tuple[dict[tuple[str, int], list[_Converted]], int, _Collector]:
    """Convert and validate every raw row; `to_records` gets the row's source split.

    Also counts the rows the converter skipped on purpose by returning no records.
    """
    collector = _Collector()
    seen_ids: set[str] = set()
    progress = Progress(
        f"{converter.name}: converted", total=sum(map(len, raw.values())), enabled=options.progress
    )
    by_row: dict[tuple[str, int], list[_Converted]] = {}
    skipped = 0
    for split, rows in raw.items():
        for row in rows:
            progress.tick()
            items = by_row[_key(row)] = []
            row_id = converter.row_id(row)
            try:
                records = converter.to_records(row, split, options)
            except RowError as exc:
                collector.add(exc.rule, exc.fix, f"{row_id} ({row.where})")
                continue
            if not isinstance(records, list):
                collector.add(
                    "to_records returns a list of records", "fix the converter", f"{row_id} ({row.where})"
                )
                continue
            skipped += not records
            for k, record in enumerate(records):
                if isinstance(record, dict) and "id" not in record:
                    record = {"id": row_id if len(records) == 1 else f"{row_id}-{k}", **record}
                item = _check(record, row_id, row, options, collector, seen_ids)
                if item is not None:
                    items.append(item)
    return by_row, skipped, collector


def _handle_overlong(
    by_row: dict[tuple[str, int], list[_Converted]], limit: int, options: PrepOptions, collector: _Collector
) -> dict[str, int]:
    """Report over-long records (fail) or remove them (drop); dropped counts per source split."""
    rule = overlong_rule(limit, options.chars_per_token)
    dropped: dict[str, int] = {}
    for (split, _), items in by_row.items():
        overlong = [item for item in items if item.tokens > limit]
        if not overlong:
            continue
        if options.on_overlong == "fail":
            for item in overlong:
                collector.add(rule.text, rule.fix, f"{item.record_id} ({item.where}, ~{item.tokens} tokens)")
            continue
        items[:] = [item for item in items if item.tokens <= limit]
        dropped[split] = dropped.get(split, 0) + len(overlong)
    return dropped


def _check(
    record: Any,
    row_id: str,
    row: RawRow,
    options: PrepOptions,
    collector: _Collector,
    seen_ids: set[str],
) -> _Converted | None:
    """Validate one record; report what it breaks to `collector` and return it only if clean."""
    broken: list[Rule] = broken_rules(record)
    record_id = record.get("id") if isinstance(record, dict) else None
    label = record_id if isinstance(record_id, str) and record_id.strip() else row_id
    where = f"{label} ({row.where})"
    if RECORD_ID not in broken:
        if record_id in seen_ids:
            broken.append(RECORD_ID)
        seen_ids.add(record_id)
    line = ""
    if not broken:
        try:
            line = dump_record(record)
        except (TypeError, ValueError):
            broken.append(STRICT_JSON)
    for rule in broken:
        collector.add(rule.text, rule.fix, where)
    if broken:
        return None
    tokens = estimate_tokens(prompt_chars(record), options.chars_per_token)
    return _Converted(_key(row), label, row.where, line, tokens, prompt_key(record))


def _stats(
    task: str,
    options: PrepOptions,
    loaded: Mapping[str, list[dict[str, Any]]],
    output: Mapping[str, list[_Converted]],
    limit: int,
    *,
    dropped: Mapping[str, int],
    skipped: int,
    duplicates: Dropped,
    capped: int,
    contents: Mapping[str, bytes],
) -> dict[str, Any]:
    """Only deterministic facts: no timings or absolute paths, so stats.json is byte-stable too
    (also across machines, in case it is shipped inside a CDK asset)."""
    stats: dict[str, Any] = {
        "task": task,
        "source": options.source,
        "splits": {split: len(output[split]) for split in SPLITS},
        "source_rows": {split: len(rows) for split, rows in loaded.items()},
        "prompt_tokens": token_summary([item.tokens for items in output.values() for item in items], limit),
        "chars_per_token": float(options.chars_per_token),
        "dropped_overlong": sum(dropped.values()),
        "dropped_overlong_by_source_split": {split: dropped.get(split, 0) for split in loaded},
        "dropped_duplicates": sum(duplicates.duplicates.values()),
        "dropped_duplicates_by_source_split": dict(duplicates.duplicates),
        "dropped_test_overlap": sum(duplicates.test_overlap.values()),
        "dropped_test_overlap_by_source_split": dict(duplicates.test_overlap),
        "dropped_by_max_train": capped,
        "skipped_rows": skipped,
        "options": {
            "seed": options.seed,
            "validation_size": options.validation_size,
            "max_train_records": options.max_train_records,
            "on_overlong": options.on_overlong,
            "task_options": dict(options.task_options),
        },
        "files": {
            split: {"name": OUTPUT_FILES[split], "sha256": hashlib.sha256(data).hexdigest()}
            for split, data in contents.items()
        },
    }
    if options.source == "local":
        stats["path_name"] = options.local_path.name
    return stats


def _write(out_dir: Path, contents: Mapping[str, bytes], stats: dict[str, Any]) -> PrepResult:
    written: list[Path] = []
    paths: dict[str, Path | None] = {}
    for split in SPLITS:
        path = out_dir / OUTPUT_FILES[split]
        if split in contents:
            if write_if_changed(path, contents[split]):
                written.append(path)
            paths[split] = path
        else:
            remove_stale(path)
            paths[split] = None
    stats_path = out_dir / STATS_FILE
    if write_if_changed(stats_path, stats_bytes(stats)):
        written.append(stats_path)
    train_path = paths["train"]
    assert train_path is not None  # count_problems guarantees a non-empty training set
    return PrepResult(
        out_dir=out_dir,
        train_path=train_path,
        validation_path=paths["validation"],
        test_path=paths["test"],
        stats_path=stats_path,
        stats=stats,
        written=tuple(written),
    )
