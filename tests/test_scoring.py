"""Tests for seatcast.scoring: the fast scorer gives the pipeline's own decision values."""

from __future__ import annotations

import numpy as np
import pytest

from seatcast.model import load_model
from seatcast.preprocess import clean_chunk, clean_chunk_lines
from seatcast.scoring import LinearScorer
from tests.conftest import semeval_lines
from tests.test_model import train_model


@pytest.fixture(scope="module")
def models(tiny_project, tmp_path_factory):
    folder = tmp_path_factory.mktemp("scoring-models")
    return {
        (mode, calibrate): load_model(train_model(tiny_project, folder, mode, calibrate))
        for mode in ("binary", "3class")
        for calibrate in (False, True)
    }


@pytest.fixture(scope="module")
def tweets() -> list[str]:
    """Real SemEval tweets that the tiny model has not seen, plus edge cases."""
    texts = [line.split("\t", 2)[2] for line in semeval_lines("twitter-2016test-A.txt.gz", 1500)]
    # Empty after cleaning, only dropped tokens, a token never seen, a repeated token.
    return [*texts, "", "   ", "@someone", "zzqxjv zzqxjv zzqxjv", "not good at all!!!"]


@pytest.mark.parametrize("mode", ["binary", "3class"])
def test_scorer_equals_pipeline(models, tweets, mode):
    model = models[(mode, False)]
    scorer = LinearScorer(model.pipeline)
    documents = clean_chunk(tweets, model.options)
    expected = model.pipeline.decision_function(documents)
    np.testing.assert_allclose(scorer.decision_function(documents), expected, rtol=0, atol=1e-9)
    cleaned = clean_chunk_lines(tweets, model.options)
    from_lines = scorer.decision_function_lines(cleaned, len(tweets))
    np.testing.assert_allclose(from_lines, expected, rtol=0, atol=1e-9)
    assert from_lines.shape == expected.shape


def test_scorer_resets_full_cache(models, tweets):
    model = models[("binary", False)]
    documents = clean_chunk(tweets, model.options)
    expected = model.pipeline.decision_function(documents)
    scorer = LinearScorer(model.pipeline, max_tokens=50)
    # Small chunks, so the cache fills and is reset many times during the run.
    scores = np.concatenate(
        [scorer.decision_function(documents[i : i + 20]) for i in range(0, len(documents), 20)]
    )
    np.testing.assert_allclose(scores, expected, rtol=0, atol=1e-9)
    assert len(scorer._ids) <= 50 + 20 * 40


def test_scorer_rejects_wrong_chunk_size(models):
    model = models[("binary", False)]
    cleaned = clean_chunk_lines(["one tweet", "and another"], model.options)
    with pytest.raises(ValueError, match="contains 2 tweets, expected 3"):
        LinearScorer(model.pipeline).decision_function_lines(cleaned, 3)


def test_calibrated_models_keep_the_pipeline(models, tweets):
    calibrated = models[("binary", True)]
    assert not LinearScorer.supports(calibrated.pipeline)
    assert calibrated.scorer is None
    with pytest.raises(ValueError, match="LinearScorer needs"):
        LinearScorer(calibrated.pipeline)
    labels, confidence = calibrated.predict_texts(tweets[:200])
    probabilities = calibrated.pipeline.predict_proba(clean_chunk(tweets[:200], calibrated.options))
    np.testing.assert_allclose(confidence, probabilities.max(axis=1))
    assert labels == [str(calibrated.pipeline.classes_[i]) for i in probabilities.argmax(axis=1)]


@pytest.mark.parametrize("mode", ["binary", "3class"])
def test_predict_texts_matches_the_pipeline(models, tweets, mode):
    model = models[(mode, False)]
    assert model.scorer is not None
    labels, confidence = model.predict_texts(tweets)
    margins = model.pipeline.decision_function(clean_chunk(tweets, model.options))
    classes = [str(label) for label in model.pipeline.classes_]
    if margins.ndim == 1:
        expected = [classes[int(value > 0)] for value in margins]
        np.testing.assert_allclose(confidence, np.abs(margins), atol=1e-9)
    else:
        expected = [classes[i] for i in margins.argmax(axis=1)]
        np.testing.assert_allclose(confidence, margins.max(axis=1), atol=1e-9)
    assert labels == expected
    assert len(set(labels)) > 1


def test_predict_texts_nul_fallback(models):
    model = models[("binary", False)]
    texts = ["good day", "bad\x00day", "great"]
    labels, confidence = model.predict_texts(texts)
    expected, expected_confidence = model.predict_tokens(clean_chunk(texts, model.options))
    assert labels == expected
    np.testing.assert_allclose(confidence, expected_confidence)
