"""Byte-stable output.

CDK hashes asset files, so the same input and options must give the same bytes, and a file
whose bytes did not change must not be touched at all (its mtime stays too).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from data_prep.errors import DataPrepError

# One encoder for every record: json.dumps with options builds a new encoder per call.
_RECORD_ENCODER = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False)


def dump_record(record: Any) -> str:
    """One JSONL line with sorted keys. Raises ValueError/TypeError for NaN, Infinity or non-JSON values."""
    return _RECORD_ENCODER.encode(record)


def jsonl_bytes(lines: Iterable[str]) -> bytes:
    return "".join(f"{line}\n" for line in lines).encode("utf-8")


def stats_bytes(stats: dict[str, Any]) -> bytes:
    return (json.dumps(stats, ensure_ascii=False, sort_keys=True, indent=2) + "\n").encode("utf-8")


def write_if_changed(path: Path, content: bytes) -> bool:
    """Atomically replace `path` with `content` unless it already holds exactly those bytes."""
    try:
        if path.is_file() and path.stat().st_size == len(content) and path.read_bytes() == content:
            return False
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(content)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise DataPrepError(f"cannot write {path}: {exc.strerror or exc}") from None
    return True


def remove_stale(path: Path) -> bool:
    """Delete an output file a previous run wrote for a split this run does not produce."""
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise DataPrepError(f"cannot remove stale {path}: {exc.strerror or exc}") from None
    return True
