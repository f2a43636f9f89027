"""atomic_path: outputs appear whole or not at all, and a failed write leaves no new folders."""

from __future__ import annotations

import pytest

from seatcast.errors import ConfigError
from seatcast.report import atomic_path


def test_atomic_path_writes_file_and_creates_folders(tmp_path):
    target = tmp_path / "reports" / "run" / "seats.csv"
    with atomic_path(target) as temporary:
        temporary.write_text("party,seats\n", encoding="utf-8")
    assert target.read_text(encoding="utf-8") == "party,seats\n"
    assert [path.name for path in target.parent.iterdir()] == ["seats.csv"]


def test_failed_write_removes_new_empty_folders(tmp_path):
    target = tmp_path / "reports" / "run" / "seats.csv"
    with pytest.raises(RuntimeError, match="stop"), atomic_path(target) as temporary:
        temporary.write_text("half", encoding="utf-8")
        raise RuntimeError("stop")
    assert not (tmp_path / "reports").exists()
    assert list(tmp_path.iterdir()) == []


def test_failed_write_keeps_folders_that_existed(tmp_path):
    (tmp_path / "reports").mkdir()
    target = tmp_path / "reports" / "run" / "seats.csv"
    with pytest.raises(KeyboardInterrupt), atomic_path(target):
        raise KeyboardInterrupt
    assert (tmp_path / "reports").is_dir()
    assert not (tmp_path / "reports" / "run").exists()


def test_failed_write_keeps_folder_that_another_output_filled(tmp_path):
    target = tmp_path / "reports" / "seats.csv"
    with pytest.raises(RuntimeError), atomic_path(target):
        (tmp_path / "reports" / "other.json").write_text("{}", encoding="utf-8")
        raise RuntimeError("stop")
    assert [path.name for path in (tmp_path / "reports").iterdir()] == ["other.json"]


def test_failed_write_leaves_existing_file_as_it_was(tmp_path):
    target = tmp_path / "seats.csv"
    target.write_text("old\n", encoding="utf-8")
    with pytest.raises(RuntimeError), atomic_path(target) as temporary:
        temporary.write_text("new\n", encoding="utf-8")
        raise RuntimeError("stop")
    assert target.read_text(encoding="utf-8") == "old\n"
    assert [path.name for path in tmp_path.iterdir()] == ["seats.csv"]


def test_folder_as_output_path_is_rejected(tmp_path):
    with pytest.raises(ConfigError, match="is a folder"), atomic_path(tmp_path):
        pass
