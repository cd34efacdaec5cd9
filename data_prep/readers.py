"""Tolerant readers for the file formats datasets ship in.

Tolerant means: blank lines, a UTF-8 byte-order mark and Windows line endings are accepted,
and bare `NaN` (PandaLM's test set has it) is read as a float. Anything else that is not
valid JSON stops the run with a message naming file:line, because silently skipping rows
would change the dataset without anyone noticing.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from data_prep.errors import DataPrepError, Problem
from data_prep.progress import Progress
from data_prep.rows import SourceRows

JSON_FIX = "correct or remove those lines (every non-blank line must be one JSON object)"


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise DataPrepError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise DataPrepError(f"{path}: is a directory, expected a file") from None
    except UnicodeDecodeError as exc:
        raise DataPrepError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise DataPrepError(f"{path}: cannot be read ({exc.strerror})") from None


def read_jsonl(path: Path, progress: Progress | None = None) -> SourceRows:
    """Read one JSON object per line; report every malformed line at once."""
    text = _read_text(path)
    rows: list[dict[str, Any]] = []
    lines: list[int] = []
    malformed: list[str] = []
    not_objects: list[str] = []
    # split("\n"), not splitlines(): U+2028 inside a JSON string is legal and must not split a row.
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            malformed.append(f"{path.name}:{number} ({exc.msg} at column {exc.colno})")
            continue
        if not isinstance(row, dict):
            not_objects.append(f"{path.name}:{number} ({type(row).__name__})")
            continue
        rows.append(row)
        lines.append(number)
        if progress is not None:
            progress.tick()
    problems = []
    if malformed:
        problems.append(Problem(f"{path}: every line is valid JSON", tuple(malformed), JSON_FIX, "line"))
    if not_objects:
        problems.append(Problem(f"{path}: every line is a JSON object", tuple(not_objects), JSON_FIX, "line"))
    if problems:
        raise DataPrepError.from_problems(path.name, problems)
    return SourceRows(rows, path.name, lines)


def read_json_document(path: Path) -> SourceRows:
    """Read a file holding one JSON array of objects (FinQA's and PandaLM's official format)."""
    text = _read_text(path)
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataPrepError(
            f"{path}:{exc.lineno}: not valid JSON ({exc.msg} at column {exc.colno}); fix the file"
        ) from None
    if not isinstance(document, list):
        raise DataPrepError(f"{path}: expected a JSON array of objects, found {type(document).__name__}")
    bad = [f"{path.name}[{i}]" for i, row in enumerate(document) if not isinstance(row, dict)]
    if bad:
        raise DataPrepError.from_problems(
            path.name, [Problem(f"{path}: every array item is a JSON object", tuple(bad), JSON_FIX, "item")]
        )
    return SourceRows(document, path.name)


def read_rows(path: Path, progress: Progress | None = None) -> SourceRows:
    """Pick the reader by suffix: `.json` is one array, anything else is JSON Lines."""
    if path.suffix.lower() == ".json":
        return read_json_document(path)
    return read_jsonl(path, progress)
