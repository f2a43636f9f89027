"""Tests for seatcast.labelnoise on a small real sample of the GOP debate tweets."""

import json

import numpy as np
import pandas as pd
import pytest

from seatcast.cli import main
from seatcast.labelnoise import confusion_counts, label_noise_table

from .conftest import DATA
from .test_forecast import copy_records

GOP_CONFIG = """
model: models/tiny.skops
corpus:
  - {path: data/gop.csv, text_column: text, label_column: sentiment, party_column: candidate,
     date_column: tweet_created, user_column: name}
parties:
  - {name: Trump, aliases: [Donald Trump]}
  - {name: Bush, aliases: [Jeb Bush]}
  - {name: Cruz, aliases: [Ted Cruz]}
  - {name: Carson, aliases: [Ben Carson]}
  - {name: Walker, aliases: [Scott Walker]}
seats: {total: 100}
bootstrap: {n_resamples: 50}
run: {jobs: 1, chunk_size: 500}
"""


@pytest.fixture(scope="module")
def gop_run(tiny_project, tmp_path_factory):
    if not (tiny_project / "models" / "tiny.skops").is_file():
        assert main(["-q", "train", "--config", str(tiny_project / "configs" / "tiny.yaml")]) == 0
    copy_records(
        DATA / "us_gop_debate_2015" / "Sentiment.csv.gz", tiny_project / "data" / "gop.csv", 4000
    )
    config = tiny_project / "configs" / "elections" / "gopsample.yaml"
    config.write_text(GOP_CONFIG)
    reports = tmp_path_factory.mktemp("reports")
    assert main(["-q", "labelnoise", "--config", str(config), "--reports-dir", str(reports)]) == 0
    return reports / "gopsample"


@pytest.mark.slow
def test_confusion_matrix_matches_predictions(gop_run):
    predictions = pd.read_csv(gop_run / "predictions.csv.gz", keep_default_na=False)
    polar = predictions[predictions["gold_label"].isin(["negative", "positive"])]
    matrix = json.loads((gop_run / "confusion_matrix.json").read_text())
    assert matrix["labels"] == ["negative", "positive"]
    assert matrix["n_tweets"] == len(polar) > 100
    counts = np.array(matrix["matrix"])
    assert (
        counts[0, 0] == ((polar["gold_label"] == "negative") & (polar["label"] == "negative")).sum()
    )
    assert (
        counts[1, 0] == ((polar["gold_label"] == "positive") & (polar["label"] == "negative")).sum()
    )
    assert matrix["accuracy"] == pytest.approx(np.trace(counts) / counts.sum())


@pytest.mark.slow
def test_label_noise_table_on_real_sample(gop_run):
    table = pd.read_csv(gop_run / "label_noise.csv")
    polar = table[table["subset"] == "polar"]
    assert list(polar["party"]) == ["Trump", "Bush", "Cruz", "Carson", "Walker"]
    assert polar["pss_gold"].sum() == pytest.approx(1.0)
    assert polar["pss_predicted"].sum() == pytest.approx(1.0)
    assert np.allclose(polar["pss_shift"], polar["pss_predicted"] - polar["pss_gold"])
    assert (polar["pss_shift_low"] <= polar["pss_shift_high"]).all()
    every = table[table["subset"] == "all"]
    assert (every["n_tweets"].to_numpy() >= polar["n_tweets"].to_numpy()).all()
    # Gold positives do not change when gold-neutral tweets are added.
    assert (every["n_positive_gold"].to_numpy() == polar["n_positive_gold"].to_numpy()).all()
    text = (gop_run / "label_noise.md").read_text()
    assert "Confusion matrix" in text
    assert (gop_run / "label_noise.png").read_bytes()[:4] == b"\x89PNG"


@pytest.mark.slow
def test_retweets_left_out_of_label_noise(gop_run):
    summary = json.loads((gop_run / "label_noise_summary.json").read_text())
    assert summary["cleaning"]["retweets"] > 1000
    predictions = pd.read_csv(gop_run / "predictions.csv.gz", keep_default_na=False)
    assert len(predictions) == summary["rows"]["rows_used"]


def frame_of(rows):
    return pd.DataFrame(rows, columns=["line", "parties", "gold_label", "label"])


def test_perfect_classifier_has_no_shift():
    rows = []
    for i in range(200):
        gold = "positive" if i % 3 == 0 else "negative"
        rows.append((i, ("A",) if i % 2 else ("B",), gold, gold))
    table = label_noise_table(frame_of(rows), ["A", "B"], n_resamples=30)
    polar = table[table["subset"] == "polar"]
    assert np.allclose(polar["pss_shift"], 0.0)
    assert np.allclose(polar["corrected_shift"], 0.0)


def test_biased_classifier_shifts_pss():
    # The classifier calls every negative tweet about B positive.
    rows = []
    for i in range(400):
        party = ("A",) if i % 2 else ("B",)
        gold = "positive" if i % 4 < 2 else "negative"
        predicted = "positive" if party == ("B",) else gold
        rows.append((i, party, gold, predicted))
    table = label_noise_table(frame_of(rows), ["A", "B"], n_resamples=50).set_index(
        ["subset", "party"]
    )
    assert table.loc[("polar", "B"), "pss_gold"] == pytest.approx(0.5)
    assert table.loc[("polar", "B"), "pss_predicted"] == pytest.approx(200 / 300)
    assert table.loc[("polar", "B"), "pss_shift_low"] > 0


def test_confusion_counts_ignores_neutral_gold():
    frame = frame_of([(1, ("A",), "neutral", "positive"), (2, ("A",), "positive", "negative")])
    assert confusion_counts(frame).tolist() == [[0, 0], [1, 0]]


@pytest.mark.slow
def test_labelnoise_needs_gold_labels(tiny_project, capsys):
    config = tiny_project / "configs" / "elections" / "tiny2019.yaml"
    assert main(["labelnoise", "--config", str(config)]) == 2
    assert "label noise needs gold labels" in capsys.readouterr().err
