"""Tests for seatcast.tuning: the grid search, nested CV and rewriting the config."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from seatcast.cli import main
from seatcast.config import load_train_config
from seatcast.dataset import load_training_set
from seatcast.errors import ConfigError, DataError
from seatcast.tuning import (
    TuningGrid,
    fit_class_offsets,
    format_value,
    mark_choice,
    search,
    set_config_values,
    tune,
)

CONFIG_TEXT = """\
# Binary model for the tests.
mode: binary   # positive and negative
seed: 7

data:
  train:
    - {{path: {train}, format: semeval}}
  exclude:
    - {{path: {exclude}, format: semeval}}

features:
  word_ngram_range: [1, 2]   # words and pairs
  sublinear_tf: true

model:
  C: 0.5       # chosen by hand
  class_weight: balanced

cv: {{n_splits: 3}}
run: {{jobs: 1, chunk_size: 300}}
"""

SMALL_GRID = TuningGrid(
    C=(0.1, 1.0),
    class_weight=("balanced",),
    word_ngram_range=((1, 2),),
    char_ngram_range=(None, (3, 5)),
)


@pytest.fixture
def project(tiny_project, tmp_path) -> Path:
    """A copy of the tiny project's training data, 100 of whose tweets are a development set."""
    lines = (tiny_project / "data" / "train.tsv").read_text(encoding="utf-8").splitlines()
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "train.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (tmp_path / "data" / "dev.tsv").write_text("\n".join(lines[:100]) + "\n", encoding="utf-8")
    (tmp_path / "configs").mkdir()
    (tmp_path / "configs" / "tune.yaml").write_text(
        CONFIG_TEXT.format(train="data/train.tsv", exclude="data/dev.tsv"), encoding="utf-8"
    )
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'tune'\n", encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, "null"),
        (0.35, "0.35"),
        (1.0, "1.0"),
        (3, "3"),
        (True, "true"),
        ("balanced", "balanced"),
        ("null", '"null"'),
        ("a b", '"a b"'),
        ([1, 2], "[1, 2]"),
        ((3, 5), "[3, 5]"),
        ({"negative": 0.3, "positive": 0.0}, "{negative: 0.3, positive: 0.0}"),
    ],
)
def test_format_value_table(value, text):
    assert format_value(value) == text


def test_set_config_values_keeps_comments(project):
    path = project / "configs" / "tune.yaml"
    set_config_values(
        path,
        {
            "features.word_ngram_range": [1, 3],
            "features.char_ngram_range": [3, 5],
            "model.C": 0.2,
            "model.class_weight": None,
        },
    )
    text = path.read_text(encoding="utf-8")
    assert "  word_ngram_range: [1, 3]   # words and pairs\n" in text
    assert "  C: 0.2       # chosen by hand\n" in text
    assert "  class_weight: null\n" in text
    assert "# Binary model for the tests.\nmode: binary   # positive and negative\n" in text
    # The new key goes at the end of its section, before the blank line.
    assert "  sublinear_tf: true\n  char_ngram_range: [3, 5]\n\nmodel:" in text
    config = load_train_config(path)
    assert config.features.word_ngram_range == [1, 3]
    assert config.features.char_ngram_range == [3, 5]
    assert config.model.C == 0.2
    assert config.model.class_weight is None
    assert config.cv.n_splits == 3


def test_set_config_values_adds_missing_section(project):
    path = project / "configs" / "small.yaml"
    path.write_text("data:\n  train:\n    - {path: data/train.tsv, format: semeval}\n")
    set_config_values(path, {"model.C": 0.75, "features.char_ngram_range": [2, 5]})
    config = load_train_config(path)
    assert config.model.C == 0.75
    assert config.features.char_ngram_range == [2, 5]


def test_set_config_values_rejects_flow_section(project):
    path = project / "configs" / "flow.yaml"
    original = "data:\n  train:\n    - {path: data/train.tsv}\nmodel: {C: 0.5}\n"
    path.write_text(original)
    with pytest.raises(ConfigError, match=r"line 4: `model` is written in flow style"):
        set_config_values(path, {"model.C": 0.1})
    assert path.read_text() == original


def test_set_config_values_rejects_bad_key(project):
    path = project / "configs" / "tune.yaml"
    with pytest.raises(ConfigError, match=r"must be a section.key pair"):
        set_config_values(path, {"C": 0.1})


def test_set_config_values_rejects_invalid_result(project):
    path = project / "configs" / "tune.yaml"
    before = path.read_text()
    with pytest.raises(ConfigError, match=r"tune\.yaml: `model\.C` input should be greater than 0"):
        set_config_values(path, {"model.C": -1.0})
    assert path.read_text() == before


def test_search_ranks_every_candidate(project):
    config = load_train_config(project / "configs" / "tune.yaml")
    data = load_training_set(config, project)
    table = search(
        data.tokens, data.labels, config=config, grid=SMALL_GRID, metric="accuracy", inner_folds=3
    )
    assert len(table) == 4
    assert sorted(entry["rank"] for entry in table) == [1, 2, 3, 4]
    best = next(entry for entry in table if entry["rank"] == 1)
    assert best["mean"]["accuracy"] == max(entry["mean"]["accuracy"] for entry in table)
    assert sum(entry["chosen"] for entry in table) == 1
    for entry in table:
        assert 0.5 < entry["mean"]["accuracy"] <= 1.0
        assert entry["std"]["accuracy"] >= 0


def test_search_breaks_ties_by_grid_order(project):
    config = load_train_config(project / "configs" / "tune.yaml")
    data = load_training_set(config, project)
    grid = TuningGrid(
        C=(0.5,),
        class_weight=("balanced",),
        word_ngram_range=((1, 2),),
        char_ngram_range=(None, None),
    )
    table = search(
        data.tokens, data.labels, config=config, grid=grid, metric="macro_f1", inner_folds=2
    )
    # Two identical candidates score the same, so the first one in the grid wins.
    assert table[0]["mean"] == table[1]["mean"]
    assert table[0]["rank"] < table[1]["rank"]


def _entry(rank, mean, std):
    return {"rank": rank, "mean": {"accuracy": mean}, "std": {"accuracy": std}}


@pytest.mark.parametrize(
    ("rule", "chosen"),
    [("best", 2), ("one_se", 1)],
)
def test_mark_choice_rules(rule, chosen):
    # Grid order: a cheap candidate 0.005 below the best, whose standard error is 0.0069.
    table = [_entry(3, 0.80, 0.01), _entry(2, 0.865, 0.01), _entry(1, 0.87, 0.012)]
    mark_choice(table, "accuracy", rule, n_folds=3)
    assert [entry["chosen"] for entry in table] == [i == chosen for i in range(3)]


def test_mark_choice_keeps_best_when_alone():
    table = [_entry(2, 0.80, 0.001), _entry(1, 0.90, 0.001)]
    mark_choice(table, "accuracy", "one_se", n_folds=3)
    assert table[1]["chosen"] is True
    assert table[0]["chosen"] is False


def test_search_rejects_too_few_tweets(project):
    config = load_train_config(project / "configs" / "tune.yaml")
    tokens = [["good"], ["bad"], ["fine"], ["awful"]]
    with pytest.raises(DataError, match=r"tuning with 3 folds needs at least 3 tweets"):
        search(
            tokens,
            ["positive", "negative", "positive", "negative"],
            config=config,
            grid=SMALL_GRID,
            metric="accuracy",
            inner_folds=3,
        )


def test_search_rejects_unknown_metric(project):
    config = load_train_config(project / "configs" / "tune.yaml")
    with pytest.raises(ConfigError, match=r"`metric` must be one of"):
        search([], [], config=config, grid=SMALL_GRID, metric="auc", inner_folds=3)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"C": (0.0,)}, r"`C` values must be positive"),
        ({"class_weight": ("heavy",)}, r"`class_weight` must be balanced or none"),
        ({"char_ngram_range": ()}, r"every grid dimension needs at least one value"),
    ],
)
def test_grid_rejects_bad_values(arguments, message):
    with pytest.raises(ConfigError, match=message):
        TuningGrid(**arguments)


def test_tune_writes_config_and_report(project):
    path = project / "configs" / "tune.yaml"
    config = load_train_config(path)
    result = tune(config, path, project, reports_dir=project / "reports", grid=SMALL_GRID)
    report = json.loads(result.report_path.read_text())
    assert result.report_path == project / "reports" / "tune" / "tuning.json"
    # 600 training tweets lose the 100 development tweets and every neutral one.
    data = load_training_set(config, project)
    assert report["n_tweets"] == len(data)
    assert report["metric"] == "accuracy"
    assert len(report["candidates"]) == 4
    assert report["candidates"][0]["rank"] == 1
    assert report["written_to_config"] is True
    assert report["rule"] == "one_se"
    assert [entry["chosen"] for entry in report["candidates"]].count(True) == 1
    updated = load_train_config(path)
    best = next(entry for entry in report["candidates"] if entry["chosen"])
    assert best["model"]["C"] == updated.model.C
    assert updated.features.char_ngram_range == best["features"]["char_ngram_range"]
    assert result.chosen["model.C"] == best["model"]["C"]


def test_tune_never_reads_development_tweets(project):
    path = project / "configs" / "tune.yaml"
    config = load_train_config(path)
    data = load_training_set(config, project)
    development = set(
        line.split("\t", 2)[2]
        for line in (project / "data" / "dev.tsv").read_text(encoding="utf-8").splitlines()
    )
    assert not development & set(data.texts)


def test_tune_nested_reports_outer_scores(project):
    path = project / "configs" / "tune.yaml"
    config = load_train_config(path)
    grid = TuningGrid(C=(0.1, 1.0), class_weight=("balanced",), char_ngram_range=(None,))
    grid = TuningGrid(
        C=grid.C,
        class_weight=grid.class_weight,
        word_ngram_range=((1, 2),),
        char_ngram_range=(None,),
    )
    result = tune(
        config,
        path,
        project,
        reports_dir=project / "reports",
        grid=grid,
        metric="macro_recall",
        inner_folds=2,
        outer_folds=2,
        write_config=False,
    )
    assert result.config_path is None
    assert result.nested is not None
    assert len(result.nested["folds"]) == 2
    for fold in result.nested["folds"]:
        assert fold["chosen"]["model"]["C"] in (0.1, 1.0)
        assert 0.4 < fold["macro_recall"] <= 1.0
    assert load_train_config(path).model.C == 0.5


@pytest.mark.parametrize(
    ("inner", "outer", "message"),
    [(1, 0, r"`inner_folds` must be at least 2"), (3, 1, r"`outer_folds` must be 0")],
)
def test_tune_rejects_bad_folds(project, inner, outer, message):
    path = project / "configs" / "tune.yaml"
    with pytest.raises(ConfigError, match=message):
        tune(
            load_train_config(path),
            path,
            project,
            reports_dir=project / "reports",
            inner_folds=inner,
            outer_folds=outer,
        )


def test_cli_tune_prints_choice(project, capsys):
    path = project / "configs" / "tune.yaml"
    code = main(
        [
            "-q",
            "tune",
            "--config",
            str(path),
            "--C",
            "0.2,0.8",
            "--class-weight",
            "balanced,none",
            "--word-ngram-ranges",
            "1-2",
            "--char-ngram-ranges",
            "none",
            "--no-write",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    assert "4 candidates, 3-fold CV, by accuracy, one_se rule" in out
    assert "chosen  model.C = " in out
    assert "(updated)" not in out
    assert load_train_config(path).model.C == 0.5


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--C", "0.1,x", "expected comma-separated numbers"),
        ("--C", "0,1", "every C must be positive"),
        ("--class-weight", "heavy", "class weights must be balanced or none"),
        ("--char-ngram-ranges", "5-3", "expected comma-separated LOW-HIGH ranges"),
        ("--word-ngram-ranges", "none", "expected comma-separated LOW-HIGH ranges"),
    ],
)
def test_cli_tune_rejects_bad_options(project, capsys, option, value, message):
    with pytest.raises(SystemExit) as stop:
        main(["tune", "--config", str(project / "configs" / "tune.yaml"), option, value])
    assert stop.value.code == 2
    assert message in capsys.readouterr().err


def test_fit_class_offsets_moves_boundary():
    # Negative tweets score slightly below the neutral column, so no offset misses them all.
    decisions = np.array(
        [[0.03, 0.2, -1.0]] * 10 + [[-1.0, 0.5, -1.0]] * 30 + [[-1.0, -1.0, 1.0]] * 20
    )
    labels = ["negative"] * 10 + ["neutral"] * 30 + ["positive"] * 20
    offsets, before, after = fit_class_offsets(
        decisions, labels, ["negative", "neutral", "positive"], "macro_recall"
    )
    assert before == pytest.approx(2 / 3)
    assert after == pytest.approx(1.0)
    assert offsets["neutral"] == 0.0
    # 0.2 is the smallest grid step that lifts 0.03 above the neutral 0.2.
    assert offsets["negative"] == pytest.approx(0.2)
    assert offsets["positive"] == 0.0


def test_fit_class_offsets_keeps_zero_when_useless():
    decisions = np.array([-1.0, -2.0, 1.0, 2.0])
    offsets, before, after = fit_class_offsets(
        decisions,
        ["negative", "negative", "positive", "positive"],
        ["negative", "positive"],
        "accuracy",
    )
    assert offsets == {"negative": 0.0, "positive": 0.0}
    assert before == after == 1.0


def test_fit_class_offsets_binary_threshold():
    decisions = np.array([-0.2, -0.1, -0.15, 0.5, 1.0])
    labels = ["negative", "positive", "positive", "positive", "positive"]
    offsets, before, after = fit_class_offsets(
        decisions, labels, ["negative", "positive"], "accuracy"
    )
    assert before == pytest.approx(0.6)
    assert after == pytest.approx(1.0)
    # 0.2 lifts -0.15 above 0 but leaves -0.2 at 0, which still counts as negative.
    assert offsets["positive"] == pytest.approx(0.2)
    assert offsets["negative"] == 0.0


def test_tune_writes_offsets_into_config(project):
    path = project / "configs" / "tune.yaml"
    config = load_train_config(path)
    grid = TuningGrid(
        C=(0.5,), class_weight=("balanced",), word_ngram_range=((1, 2),), char_ngram_range=(None,)
    )
    result = tune(config, path, project, reports_dir=project / "reports", grid=grid)
    report = json.loads(result.report_path.read_text())
    offsets = report["class_offsets"]
    assert set(offsets["values"]) == {"negative", "positive"}
    assert offsets["score_with"] >= offsets["score_without"]
    assert offsets["written"] is True
    assert load_train_config(path).model.class_offsets == offsets["values"]
