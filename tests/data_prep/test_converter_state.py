"""Converters are stateless: a run's options reach every hook per call and never stay behind.

The registered converters are process-wide singletons shared by `prepare`, the CLI and
`rft rehearse`, so a choice left on one by the previous run would silently change the next.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from data_prep import TASKS, PrepOptions, RawRow, get_task, prepare
from data_prep.cli import main

#: A non-default value for every task option, so a converter that kept one would show it.
NON_DEFAULT: dict[str, dict[str, Any]] = {
    "pandalm": {"swap": False, "group_by": "pair", "test_fraction": 0.2}
}

ROW = {"instruction": "Name a colour.", "input": "", "response1": "Red", "response2": "Blue", "annotator1": 1}


def outputs(out: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(out.iterdir())}


def test_a_no_swap_run_leaves_the_next_run_and_rehearse_unaffected(tmp_path: Path) -> None:
    assert main(["pandalm", "--out", str(tmp_path / "first"), "--quiet"]) == 0
    assert (
        main(["pandalm", "--out", str(tmp_path / "no-swap"), "--no-swap", "--group-by", "pair", "--quiet"])
        == 0
    )
    # rft rehearse builds prompts with no options: the defaults, whatever the last run chose
    records = get_task("pandalm").to_records(RawRow(ROW, "train", 0, "x"), "train")
    assert [r["id"] for r in records] == ["pandalm-train-00000", "pandalm-train-00000-swapped"]
    assert main(["pandalm", "--out", str(tmp_path / "again"), "--quiet"]) == 0
    assert outputs(tmp_path / "again") == outputs(tmp_path / "first")
    assert outputs(tmp_path / "no-swap") != outputs(tmp_path / "first")


@pytest.mark.parametrize("task", sorted(TASKS))
def test_no_converter_attribute_changes_across_a_run(tmp_path: Path, task: str) -> None:
    converter = get_task(task)
    before = (dict(vars(converter)), dict(vars(type(converter))))
    options = PrepOptions(progress=False, task_options=NON_DEFAULT.get(task, {}))
    prepare(task, tmp_path, options)
    assert (dict(vars(converter)), dict(vars(type(converter)))) == before
