"""Tests for the model commands: evaluate (single, --compare, --leak-check) and train."""

from __future__ import annotations

import csv
import gzip
import json

import pytest

from seatcast.cli import main
from tests.conftest import DATA
from tests.test_model import train_model


@pytest.fixture(scope="module")
def models(tiny_project, tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli-models")
    return {
        "binary": train_model(tiny_project, folder, "binary", False),
        "3class": train_model(tiny_project, folder, "3class", True),
    }


@pytest.fixture(scope="module")
def development(tmp_path_factory):
    """The first 300 rows of the TweetEval validation split."""
    path = tmp_path_factory.mktemp("dev") / "dev.csv"
    with open(DATA / "tweeteval" / "sentiment_val.csv", encoding="utf-8", newline="") as source:
        rows = list(csv.reader(source))[:301]
    with open(path, "w", encoding="utf-8", newline="") as out:
        csv.writer(out).writerows(rows)
    return path


def test_evaluate_single_writes_metrics_and_png(models, development, tmp_path, capsys):
    output = tmp_path / "eval" / "binary.json"
    code = main(
        [
            "evaluate",
            "--model",
            str(models["binary"]),
            "--data",
            str(development),
            "--output",
            str(output),
        ]
    )
    out = capsys.readouterr().out
    assert code == 0
    metrics = json.loads(output.read_text())
    assert set(metrics["per_class"]) == {"negative", "positive"}
    for key in ("accuracy", "macro_f1", "macro_recall"):
        assert 0.5 < metrics[key] <= 1
        assert f"{key:<16} {metrics[key]:.3f}" in out
    assert sum(map(sum, metrics["confusion_matrix"])) == metrics["n_rows"]
    assert output.with_suffix(".png").read_bytes()[:4] == b"\x89PNG"


def test_evaluate_compare_writes_table(models, development, tmp_path, capsys):
    report = tmp_path / "compare"
    code = main(
        [
            "-q",
            "evaluate",
            "--compare",
            "--model",
            str(models["binary"]),
            "--model",
            str(models["3class"]),
            "--data",
            str(development),
            "--report-dir",
            str(report),
        ]
    )
    assert code == 0
    comparison = json.loads((report / "compare.json").read_text())
    systems = [(row["mode"], row["system"]) for row in comparison["rows"]]
    assert systems == [
        ("binary", "seatcast (binary-svm)"),
        ("binary", "VADER"),
        ("binary", "TextBlob"),
        ("3class", "seatcast (3class-calibrated)"),
        ("3class", "VADER"),
        ("3class", "TextBlob"),
    ]
    binary_rows = {row["n_rows"] for row in comparison["rows"][:3]}
    three_rows = {row["n_rows"] for row in comparison["rows"][3:]}
    assert len(binary_rows) == 1
    assert three_rows == {300}
    assert binary_rows.pop() < 300
    markdown = (report / "compare.md").read_text()
    assert markdown.count("| binary |") == 3
    assert markdown.count("| 3class |") == 3
    assert "compound >= 0.05 positive" in markdown
    assert "polarity > 0 positive" in markdown
    for loss in comparison["losses"]:
        assert loss in markdown
    assert "seatcast (binary-svm)" in capsys.readouterr().out


@pytest.fixture(scope="module")
def emoticon_project(tmp_path_factory):
    """600 real twitter_samples tweets (300 per label) with a 3-fold config."""
    root = tmp_path_factory.mktemp("emoticons")
    (root / "data").mkdir()
    (root / "configs").mkdir()
    for label in ("positive", "negative"):
        with gzip.open(
            DATA / "twitter_samples" / f"{label}_tweets.txt.gz", "rt", encoding="utf-8"
        ) as source:
            lines = [next(source) for _ in range(300)]
        (root / "data" / f"{label}.txt").write_text("".join(lines), encoding="utf-8")
    (root / "configs" / "samples.yaml").write_text(
        """
mode: binary
data:
  train:
    - {path: data/positive.txt, format: fields, columns: [text, label]}
    - {path: data/negative.txt, format: fields, columns: [text, label]}
preprocess:
  strip_label_emoticons: true
cv: {n_splits: 3}
run: {jobs: 1, chunk_size: 200}
""",
        encoding="utf-8",
    )
    (root / "pyproject.toml").write_text("[project]\nname = 'samples'\n", encoding="utf-8")
    return root


def test_leak_check_shows_emoticon_gap(emoticon_project, tmp_path, capsys):
    report = tmp_path / "leak"
    config = emoticon_project / "configs" / "samples.yaml"
    code = main(
        ["-q", "evaluate", "--leak-check", "--config", str(config), "--report-dir", str(report)]
    )
    assert code == 0
    result = json.loads((report / "leak_check.json").read_text())
    kept, removed = result["runs"]
    assert kept["strip_label_emoticons"] is False
    assert removed["strip_label_emoticons"] is True
    # Repeated tweets are dropped once, whether or not the emoticons are removed.
    assert kept["n_tweets"] == removed["n_tweets"]
    assert 500 < kept["n_tweets"] <= 600
    # With the label emoticons left in, the model reads the label off the text.
    assert kept["mean"]["accuracy"] > 0.95
    assert kept["mean"]["accuracy"] > removed["mean"]["accuracy"] + 0.1
    assert result["accuracy_gap"] == pytest.approx(
        kept["mean"]["accuracy"] - removed["mean"]["accuracy"]
    )
    markdown = (report / "leak_check.md").read_text()
    assert f"| kept | {kept['n_tweets']} |" in markdown
    assert f"| removed | {removed['n_tweets']} |" in markdown
    assert "Emoticon leak check" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["evaluate", "--leak-check"], "--leak-check needs --config"),
        (["evaluate", "--model", "m.skops"], "--data is required"),
        (["evaluate", "--data", "d.csv"], "--model is required"),
        (["evaluate", "--compare", "--leak-check"], "choose one of --compare and --leak-check"),
        (
            ["evaluate", "--model", "a.skops", "--model", "b.skops", "--data", "d.csv"],
            "add --compare",
        ),
    ],
)
def test_evaluate_option_errors_exit_2(args, message, capsys):
    assert main(args) == 2
    err = capsys.readouterr().err
    assert message in err
    assert "Traceback" not in err


def test_train_cli_reports_cv_and_calibration(tiny_project, tmp_path, capsys):
    config = tmp_path / "cal.yaml"
    config.write_text(
        f"""
mode: binary
data:
  train:
    - {{path: {tiny_project / "data" / "train.tsv"}, format: semeval}}
model: {{calibrate: true, calibration_folds: 2}}
cv: {{n_splits: 3}}
run: {{jobs: 1}}
""",
        encoding="utf-8",
    )
    args = [
        "-q",
        "train",
        "--config",
        str(config),
        "--models-dir",
        str(tmp_path / "m"),
        "--reports-dir",
        str(tmp_path / "r"),
    ]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "3-fold stratified cross-validation, binary model" in out
    meta = json.loads((tmp_path / "m" / "cal.json").read_text())
    assert meta["calibrated"] is True
    metrics = json.loads((tmp_path / "r" / "cal" / "metrics.json").read_text())
    assert len(metrics["folds"]) == 3
    assert 0.6 < metrics["mean"]["accuracy"] <= 1
