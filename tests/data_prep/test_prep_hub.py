"""source="hub": `datasets.load_dataset` is monkeypatched to return real `datasets` objects."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any, ClassVar

import datasets
import pytest

from data_prep import DataPrepError, PrepOptions, prepare

HUB = PrepOptions(source="hub", progress=False)


@pytest.fixture
def hub_calls(monkeypatch: pytest.MonkeyPatch, sample_train, sample_test) -> list[tuple[Any, ...]]:
    calls: list[tuple[Any, ...]] = []

    def load_dataset(*args: Any, **kwargs: Any) -> datasets.DatasetDict:
        calls.append((*args, *sorted(kwargs.items())))
        return datasets.DatasetDict(
            {
                "train": datasets.Dataset.from_list(sample_train),
                "test": datasets.Dataset.from_list(sample_test),
            }
        )

    monkeypatch.setattr(datasets, "load_dataset", load_dataset)
    return calls


def test_hub_source_loads_openai_gsm8k_main(hub_calls, tmp_path: Path) -> None:
    result = prepare("gsm8k", tmp_path / "hub", HUB)
    assert hub_calls == [("openai/gsm8k", "main")]
    assert result.stats["source"] == "hub"
    assert result.stats["splits"] == {"train": 900, "validation": 100, "test": 200}


def test_hub_and_bundled_give_the_same_records(hub_calls, tmp_path: Path) -> None:
    hub = prepare("gsm8k", tmp_path / "hub", HUB)
    bundled = prepare("gsm8k", tmp_path / "bundled", PrepOptions(progress=False))
    for name in ("train.jsonl", "validation.jsonl", "test.jsonl"):
        assert (hub.out_dir / name).read_bytes() == (bundled.out_dir / name).read_bytes(), name


def test_unreachable_hub_is_a_user_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    def offline(*args: Any, **kwargs: Any) -> None:
        raise ConnectionError("Couldn't reach 'openai/gsm8k' on the Hub (LocalEntryNotFoundError)")

    monkeypatch.setattr(datasets, "load_dataset", offline)
    with pytest.raises(DataPrepError) as caught:
        prepare("gsm8k", tmp_path / "out", HUB)
    message = str(caught.value)
    assert "could not load openai/gsm8k (main) from the Hugging Face hub: ConnectionError" in message
    assert "source='bundled'" in message
    assert not (tmp_path / "out").exists()


def test_hub_dataset_without_train_split(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, sample_test
) -> None:
    monkeypatch.setattr(
        datasets,
        "load_dataset",
        lambda *a, **k: datasets.DatasetDict({"test": datasets.Dataset.from_list(sample_test)}),
    )
    with pytest.raises(DataPrepError, match=r"no training split \(found: test\)"):
        prepare("gsm8k", tmp_path / "out", HUB)


def test_hub_rows_are_located_in_messages(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, sample_train
) -> None:
    rows = [dict(row) for row in sample_train[:300]]
    rows[7]["answer"] = "no final line"
    monkeypatch.setattr(
        datasets,
        "load_dataset",
        lambda *a, **k: datasets.DatasetDict({"train": datasets.Dataset.from_list(rows)}),
    )
    with pytest.raises(DataPrepError, match=r"gsm8k-train-00007 \(hub:openai/gsm8k/train\[7\]\)"):
        prepare("gsm8k", tmp_path / "out", HUB)


def test_importing_data_prep_does_not_import_datasets() -> None:
    """`datasets` takes about a second to import; synth with the bundled sample must not pay it."""
    code = "import sys, data_prep; print('datasets' in sys.modules)"
    root = Path(__file__).resolve().parents[2]
    out = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_a_task_can_map_hub_splits_and_pass_load_arguments(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The FinQA shape: hub 'validation' is the official dev split, loaded from a parquet revision."""
    import data_prep.registry
    from data_prep import Converter, RawRow

    class HubTask(Converter):
        name = "hubtask"
        sources = ("hub",)
        hub_dataset = "someone/qa"
        hub_load_kwargs: ClassVar[dict[str, str]] = {"revision": "refs/convert/parquet"}

        def to_records(
            self, row: RawRow, split: str, options: PrepOptions | None = None
        ) -> list[dict[str, Any]]:
            return [
                {"messages": [{"role": "user", "content": row.data["q"]}], "reference_answer": row.data["a"]}
            ]

    calls: list[Any] = []

    def load_dataset(*args: Any, **kwargs: Any) -> datasets.DatasetDict:
        calls.append((args, kwargs))
        make = lambda n, tag: datasets.Dataset.from_list([{"q": f"{tag} {i}", "a": str(i)} for i in range(n)])  # noqa: E731
        return datasets.DatasetDict(
            {"train": make(300, "t"), "validation": make(150, "v"), "test": make(20, "x")}
        )

    monkeypatch.setattr(datasets, "load_dataset", load_dataset)
    monkeypatch.setitem(data_prep.registry._TASKS, "hubtask", HubTask())
    result = prepare("hubtask", tmp_path, PrepOptions(source="hub", progress=False, validation_size=120))
    assert calls == [(("someone/qa",), {"revision": "refs/convert/parquet"})]
    assert result.stats["splits"] == {"train": 300, "validation": 120, "test": 20}
    assert result.stats["source_rows"] == {"train": 300, "validation": 150, "test": 20}
