"""A throwaway copy of this repository, so a test can run `rft new-task` without touching the real one.

The copy holds git's view of the working tree (tracked files plus untracked, non-ignored ones, so
uncommitted work is included) and symlinks to what is installed or cached rather than copied:
`.venv`, `node_modules` and the Lambda layer cache (`build/layer-cache`, built once from PyPI).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterable
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
LINKED = (".venv", "node_modules", "build/layer-cache")
SKIPPED_DIRS = frozenset({".git", ".venv", "node_modules", "cdk.out", "build", "reports", ".cdk-home"})


def _git_files(root: Path) -> list[str] | None:
    try:
        listed = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=root,
            capture_output=True,
            check=True,
            timeout=60,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return [name for name in listed.decode().split("\0") if name]


def _walked_files(root: Path) -> Iterable[str]:
    """Without git (a source tarball): every file outside the installed and generated folders."""
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d not in SKIPPED_DIRS and d != "__pycache__"]
        for name in files:
            yield (Path(folder) / name).relative_to(root).as_posix()


def copy_repo(destination: Path, root: Path = REPO_ROOT) -> Path:
    """Copy the repository's working tree into `destination` (created) and return it."""
    names = _git_files(root)
    for name in names if names is not None else _walked_files(root):
        source = root / name
        if not source.is_file() or name.split("/", 1)[0] in SKIPPED_DIRS:
            continue  # deleted in the working tree, or an installed/generated folder
        target = destination / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
    # A fresh clone has no layer cache yet: the copy's synth then builds it into this repository's
    # cache (the same bytes the repository's own synth would build), not into a throwaway folder.
    (root / "build" / "layer-cache").mkdir(parents=True, exist_ok=True)
    for name in LINKED:
        if (root / name).exists():
            (destination / name).parent.mkdir(parents=True, exist_ok=True)
            (destination / name).symlink_to(root / name, target_is_directory=True)
    return destination
