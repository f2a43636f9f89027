"""Config loading and schema validation."""

from pathlib import Path

import pytest

from seatcast.config import load_election_config, load_train_config
from seatcast.errors import ConfigError

MINIMAL_TRAIN = """
data:
  train:
    - {path: data/train.tsv, format: semeval}
"""


def write(tmp_path: Path, text: str, name: str = "cfg.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_shipped_configs_load(project_root):
    train = load_train_config(project_root / "configs" / "train.yaml")
    assert train.name == "train"
    assert train.mode == "binary"
    assert train.cv.n_splits == 15
    three = load_train_config(project_root / "configs" / "train-3class.yaml")
    assert three.name == "train-3class"
    assert three.labels == ("negative", "neutral", "positive")
    election = load_election_config(project_root / "configs" / "elections" / "india2019.yaml")
    assert election.name == "india2019"
    assert [party.name for party in election.parties] == ["BJP", "INC"]


def test_defaults_fill_minimal_config(tmp_path):
    config = load_train_config(write(tmp_path, MINIMAL_TRAIN))
    assert config.name == "cfg"
    assert config.labels == ("negative", "positive")
    assert config.run.jobs >= 1


def test_unknown_key_suggests_nearest(tmp_path):
    text = MINIMAL_TRAIN + "cv:\n  n_split: 5\n"
    with pytest.raises(ConfigError, match=r"unknown key `cv.n_split`; did you mean `n_splits`\?"):
        load_train_config(write(tmp_path, text))


def test_unknown_top_level_key(tmp_path):
    with pytest.raises(ConfigError, match=r"unknown key `mdoel`; did you mean `model`"):
        load_train_config(write(tmp_path, MINIMAL_TRAIN + "mdoel: {C: 1.0}\n"))


@pytest.mark.parametrize(
    ("extra", "pattern"),
    [
        ("cv: {n_splits: 1}", r"`cv.n_splits` .*greater than or equal to 2; got 1"),
        ("cv: {n_splits: five}", r"`cv.n_splits` .*integer.*; got 'five'"),
        ("mode: ternary", r"`mode` .*'binary' or '3class'.*; got 'ternary'"),
        ("model: {C: -1.0}", r"`model.C` .*greater than 0.*; got -1.0"),
        ("run: {jobs: 0}", r"`run.jobs` .*greater than or equal to 1; got 0"),
        ("run: {backend: spark}", r"`run.backend` .*'processes' or 'dask'.*; got 'spark'"),
        ("limits: {max_rejected_share: 1.5}", r"`limits.max_rejected_share` .*; got 1.5"),
        ("features: {word_ngram_range: [3, 1]}", r"low <= high"),
        ("preprocess: {urls: drop}", r"`preprocess.urls` .*; got 'drop'"),
    ],
)
def test_bad_values_are_rejected(tmp_path, extra, pattern):
    with pytest.raises(ConfigError, match=pattern):
        load_train_config(write(tmp_path, MINIMAL_TRAIN + extra + "\n"))


def test_missing_required_key(tmp_path):
    with pytest.raises(ConfigError, match=r"`data` is required but missing"):
        load_train_config(write(tmp_path, "mode: binary\n"))


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match=r"config file not found: .*nope.yaml"):
        load_train_config(tmp_path / "nope.yaml")


def test_invalid_yaml_names_line(tmp_path):
    with pytest.raises(ConfigError, match=r"not valid YAML at line 3"):
        load_train_config(write(tmp_path, "data:\n  train: x\n bad\n"))


def test_empty_config(tmp_path):
    with pytest.raises(ConfigError, match=r"is empty"):
        load_train_config(write(tmp_path, ""))


def test_non_mapping_config(tmp_path):
    with pytest.raises(ConfigError, match=r"must be a YAML mapping"):
        load_train_config(write(tmp_path, "- a\n- b\n"))


def test_bad_label_map_value(tmp_path):
    text = "data:\n  train:\n    - {path: x.csv, label_map: {good: great}}\n"
    with pytest.raises(ConfigError, match=r"label_map.good must be one of"):
        load_train_config(write(tmp_path, text))


def test_overrides_replace_values(tmp_path):
    config = load_train_config(
        write(tmp_path, MINIMAL_TRAIN), overrides={"run.jobs": 3, "cv.n_splits": None}
    )
    assert config.run.jobs == 3
    assert config.cv.n_splits == 15


def test_election_party_must_exist(tmp_path):
    text = """
corpus:
  - {path: a.csv, party: XYZ}
parties:
  - {name: ABC}
seats: {total: 10}
"""
    with pytest.raises(ConfigError, match=r"corpus party 'XYZ' must be one of the parties"):
        load_election_config(write(tmp_path, text))


def test_election_duplicate_party(tmp_path):
    text = """
corpus: [{path: a.csv}]
parties: [{name: A}, {name: A}]
seats: {total: 10}
"""
    with pytest.raises(ConfigError, match=r"unique names; repeated: A"):
        load_election_config(write(tmp_path, text))


def test_election_seat_rule_choice(tmp_path):
    text = """
corpus: [{path: a.csv}]
parties: [{name: A}]
seats: {total: 10, rule: cube}
"""
    with pytest.raises(ConfigError, match=r"`seats.rule` .*; got 'cube'"):
        load_election_config(write(tmp_path, text))
