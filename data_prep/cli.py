"""`python -m data_prep <task> ...`: prepare a task's data from a shell.

One subcommand per registered task, so new tasks appear without touching this file. A user
mistake prints `error: ...` and exits 2, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from data_prep.converter import SPLITS, Converter
from data_prep.errors import DataPrepError
from data_prep.options import ON_OVERLONG, SOURCES, PrepOptions, PrepResult
from data_prep.pipeline import prepare
from data_prep.registry import TASKS

EXIT_USAGE = 2


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be at least 1")
    return value


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} must be 0 or more")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text} must be greater than 0")
    return value


def _add_common(parser: argparse.ArgumentParser, converter: Converter) -> None:
    defaults = PrepOptions()
    parser.add_argument(
        "--source",
        choices=[s for s in SOURCES if s in converter.sources],
        help="where the data comes from (default: bundled sample; 'local' when --path is given)",
    )
    parser.add_argument(
        "--path", type=Path, help="JSONL file (the training split) or a directory of split files"
    )
    parser.add_argument("--out", type=Path, help=f"output directory (default: build/data/{converter.name})")
    parser.add_argument(
        "--seed", type=int, default=defaults.seed, help="seed for carving splits (default: %(default)s)"
    )
    parser.add_argument(
        "--validation-size",
        type=_non_negative_int,
        default=defaults.validation_size,
        help="validation rows carved from train, or cap on an official one; 0: none (default: %(default)s)",
    )
    parser.add_argument("--max-train", type=_positive_int, help="cap on training records (seeded choice)")
    parser.add_argument(
        "--max-prompt-tokens",
        type=_positive_int,
        default=converter.default_max_prompt_tokens,
        help="the job's maxPromptLength (default: %(default)s)",
    )
    parser.add_argument(
        "--on-overlong",
        choices=ON_OVERLONG,
        default=defaults.on_overlong,
        help="what to do with prompts over the limit (default: %(default)s)",
    )
    parser.add_argument(
        "--chars-per-token",
        type=_positive_float,
        default=defaults.chars_per_token,
        help="characters per token for the length estimate; lower is safer (default: %(default)s)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress lines on stderr")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m data_prep",
        description="Convert a dataset into validated Amazon Bedrock RFT JSONL (train/validation/test).",
    )
    commands = parser.add_subparsers(dest="task", metavar="TASK", required=True)
    for name in sorted(TASKS):
        converter = TASKS[name]
        sub = commands.add_parser(name, help=converter.description, description=converter.description)
        _add_common(sub, converter)
        converter.add_arguments(sub)
    return parser


def summary(result: PrepResult, path: Path | None = None) -> str:
    stats = result.stats
    source = stats["source"] + (f" {path}" if path is not None else "")
    lines = [f"{stats['task']} ({source}) -> {result.out_dir}"]
    paths = {"train": result.train_path, "validation": result.validation_path, "test": result.test_path}
    for split in SPLITS:
        path = paths[split]
        lines.append(f"  {split:<11}{stats['splits'][split]:>7,}  {path if path else '(none)'}")
    tokens = stats["prompt_tokens"]
    lines.append(
        f"  prompt tokens (estimated): min {tokens['min']}, median {tokens['median']}, "
        f"p95 {tokens['p95']}, max {tokens['max']}, limit {tokens['limit']}"
    )
    dropped = [
        f"{stats['dropped_overlong']} over-long" if stats["dropped_overlong"] else "",
        _by_split(stats, "dropped_duplicates", "rows repeating a prompt"),
        _by_split(stats, "dropped_test_overlap", "rows sharing a prompt with test"),
        f"{stats['dropped_by_max_train']} over --max-train" if stats["dropped_by_max_train"] else "",
    ]
    if any(dropped):
        lines.append("  dropped: " + ", ".join(d for d in dropped if d))
    return "\n".join(lines)


def _by_split(stats: Mapping[str, Any], key: str, what: str) -> str:
    """`12 rows repeating a prompt (train 10, test 2)`, or "" when there were none."""
    where = ", ".join(f"{split} {count}" for split, count in stats[f"{key}_by_source_split"].items() if count)
    return f"{stats[key]} {what} ({where})" if stats[key] else ""


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    converter = TASKS[args.task]
    source = args.source or ("local" if args.path is not None else "bundled")
    try:
        options = PrepOptions(
            source=source,
            path=args.path,
            seed=args.seed,
            validation_size=args.validation_size,
            max_train_records=args.max_train,
            max_prompt_tokens=args.max_prompt_tokens,
            on_overlong=args.on_overlong,
            chars_per_token=args.chars_per_token,
            progress=not args.quiet,
            task_options=converter.task_options_from_args(args),
        )
        result = prepare(args.task, args.out or Path("build") / "data" / args.task, options)
    except DataPrepError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    print(summary(result, args.path))
    return 0
