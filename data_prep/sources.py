"""Where raw rows come from: the bundled sample, a user's files, or the Hugging Face hub.

Shared by every converter so that FinQA, PandaLM and users' tasks get the same file discovery,
messages and hub error handling as GSM8K.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from data_prep.errors import DataPrepError
from data_prep.progress import Progress
from data_prep.readers import read_rows
from data_prep.rows import SourceRows

#: Small dataset subsets shipped with the package, one folder per task, each with its license.
SAMPLES_DIR = Path(__file__).resolve().parent / "samples"


def read_split_dir(
    directory: Path, split_files: Mapping[str, Sequence[str]], progress: bool = True
) -> dict[str, SourceRows]:
    """Read each split from the first file name that exists; `train` must exist."""
    if not directory.is_dir():
        raise DataPrepError(f"{directory}: directory not found")
    raw: dict[str, SourceRows] = {}
    for split, names in split_files.items():
        for name in names:
            path = directory / name
            if path.is_file():
                raw[split] = read_rows(path, Progress(f"reading {name}:", enabled=progress))
                break
    if "train" not in raw:
        expected = " or ".join(split_files.get("train", ("train.jsonl",)))
        raise DataPrepError(
            f"{directory}: no training file; expected {expected} there (optionally also "
            + ", ".join(n for split, names in split_files.items() if split != "train" for n in names)
            + ")"
        )
    return raw


def read_local(
    path: Path, split_files: Mapping[str, Sequence[str]], progress: bool = True
) -> dict[str, SourceRows]:
    """A directory holds official split files; a single file is the training split alone."""
    if path.is_dir():
        return read_split_dir(path, split_files, progress)
    if path.is_file():
        return {"train": read_rows(path, Progress(f"reading {path.name}:", enabled=progress))}
    raise DataPrepError(f"{path}: no such file or directory (source='local' needs an existing --path)")


def load_hub_splits(
    dataset: str,
    config: str | None,
    split_names: Mapping[str, str],
    load_kwargs: Mapping[str, Any] | None = None,
) -> dict[str, list[dict[str, Any]]]:
    """Load a dataset with `datasets.load_dataset` and map its split names onto ours.

    `datasets` is imported here, not at module level: it takes about a second to import and
    most runs (and every synth with the bundled sample) never need it.
    """
    label = f"{dataset}" + (f" ({config})" if config else "")
    try:
        import datasets
    except ImportError:
        raise DataPrepError(
            "source='hub' needs the `datasets` package: pip install datasets (or use source='bundled')"
        ) from None
    try:
        args = (dataset, config) if config else (dataset,)
        loaded = datasets.load_dataset(*args, **dict(load_kwargs or {}))
    except Exception as exc:  # datasets raises many unrelated types for network/auth/format failures.
        raise DataPrepError(
            f"could not load {label} from the Hugging Face hub: {type(exc).__name__}: {exc}. "
            "Check network access (and HF_TOKEN), or use source='bundled' or source='local' with --path."
        ) from None
    raw: dict[str, list[dict[str, Any]]] = {}
    for hub_split, split in split_names.items():
        if hub_split in loaded:
            raw[split] = SourceRows(loaded[hub_split].to_list(), f"hub:{dataset}/{hub_split}")
    if "train" not in raw:
        found = ", ".join(sorted(loaded)) or "none"
        raise DataPrepError(f"{label} on the hub has no training split (found: {found})")
    return raw
