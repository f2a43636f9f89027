"""Tests for seatcast.baselines: VADER and TextBlob labels and their thresholds."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from seatcast.baselines import (
    TEXTBLOB_NEUTRAL_BAND,
    VADER_NEUTRAL_BAND,
    label_scores,
    predict_baseline,
    textblob_scores,
    vader_scores,
)
from seatcast.errors import ConfigError

BINARY = ("negative", "positive")
THREE = ("negative", "neutral", "positive")


@pytest.mark.parametrize(
    ("score", "labels", "band", "expected"),
    [
        (0.05, THREE, VADER_NEUTRAL_BAND, "positive"),
        (0.0499, THREE, VADER_NEUTRAL_BAND, "neutral"),
        (-0.05, THREE, VADER_NEUTRAL_BAND, "negative"),
        (-0.0499, THREE, VADER_NEUTRAL_BAND, "neutral"),
        (0.0, THREE, TEXTBLOB_NEUTRAL_BAND, "neutral"),
        (0.01, THREE, TEXTBLOB_NEUTRAL_BAND, "positive"),
        (-0.01, THREE, TEXTBLOB_NEUTRAL_BAND, "negative"),
        (0.0, BINARY, VADER_NEUTRAL_BAND, "positive"),
        (-0.01, BINARY, VADER_NEUTRAL_BAND, "negative"),
        (0.01, BINARY, TEXTBLOB_NEUTRAL_BAND, "positive"),
    ],
)
def test_label_scores_thresholds(score, labels, band, expected):
    assert label_scores(np.array([score]), labels, band) == [expected]


def test_label_scores_rejects_other_labels():
    with pytest.raises(ConfigError, match=r"baseline labels must be negative/positive"):
        label_scores(np.array([0.3]), ("good", "bad"), 0.05)


def test_vader_scores_real_sentences():
    scores = vader_scores(["I love this, it is great!", "This is awful and I hate it.", "The bus"])
    assert scores[0] > 0.5
    assert scores[1] < -0.5
    assert scores[2] == 0.0


def test_textblob_scores_real_sentences():
    scores = textblob_scores(["What a great movie", "terrible, boring day", "the table"])
    assert scores[0] > 0
    assert scores[1] < 0
    assert scores[2] == 0.0


def test_predict_baseline_labels():
    texts = ["I love this, it is great!", "This is awful and I hate it.", "The bus"]
    assert predict_baseline("VADER", texts, THREE) == ["positive", "negative", "neutral"]
    assert predict_baseline("TextBlob", texts, BINARY) == ["positive", "negative", "positive"]


def test_predict_baseline_rejects_unknown_name():
    with pytest.raises(
        ConfigError, match=r"`baseline` must be one of VADER, TextBlob; got 'Flair'"
    ):
        predict_baseline("Flair", ["x"], BINARY)


@pytest.mark.parametrize(
    ("module", "function", "message"),
    [
        ("vaderSentiment.vaderSentiment", vader_scores, "needs vaderSentiment"),
        ("textblob", textblob_scores, "needs textblob"),
    ],
)
def test_missing_package_raises_config_error(monkeypatch, module, function, message):
    monkeypatch.setitem(sys.modules, module, None)
    with pytest.raises(ConfigError, match=message + r".*pip install 'seatcast\[baselines\]'"):
        function(["a tweet"])
