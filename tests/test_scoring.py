"""Tests for seatcast.scoring: the fast scorer gives the pipeline's own decision values."""

from __future__ import annotations

import numpy as np
import pytest

from seatcast.model import SharedScoring, cached_model, load_model, score_chunk
from seatcast.parallel import ordered_map
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


@pytest.mark.parametrize("mode", ["binary", "3class"])
def test_scorer_learns_tokens_of_another(models, tweets, mode):
    model = models[(mode, False)]
    documents = clean_chunk(tweets, model.options)
    expected = model.pipeline.decision_function(documents)
    first = LinearScorer(model.pipeline)
    second = LinearScorer(model.pipeline)
    first.record(True)
    second.record(True)
    # The two scorers know overlapping sets of tokens, in different orders.
    first.decision_function(documents[:800])
    second.decision_function(documents[400:1200])
    second.take_learned()
    lessons = first.take_learned()
    assert lessons is not None
    assert first.take_learned() is None
    second.learn(lessons)
    scores = second.decision_function(documents[:1200])
    np.testing.assert_allclose(scores, expected[:1200], rtol=0, atol=1e-9)
    # Every token was known, so the second scorer analyzed none itself.
    assert second.take_learned() is None
    scores = second.decision_function(documents)
    np.testing.assert_allclose(scores, expected, rtol=0, atol=1e-9)
    assert second.take_learned() is not None


def test_scorer_records_only_while_asked(models, tweets):
    scorer = LinearScorer(models[("binary", False)].pipeline)
    documents = clean_chunk(tweets[:50], models[("binary", False)].options)
    scorer.decision_function(documents)
    assert scorer.take_learned() is None
    scorer.record(True)
    scorer.decision_function([["qzxnew", "qzxnew"]])
    assert scorer.take_learned().tokens == ["qzxnew"]
    scorer.record(False)
    scorer.decision_function([["qzxother"]])
    assert scorer.take_learned() is None


@pytest.mark.slow
def test_tokens_analyzed_in_worker_reach_parent(models, tweets):
    model = models[("binary", False)]
    path, sha256 = str(model.path), model.metadata["model_sha256"]
    # Loaded in this process first, so the forked worker inherits it.
    parent_model = cached_model(path, sha256)
    chunks = [["qzxmarker says hi"]] + [tweets[start : start + 50] for start in range(0, 1000, 50)]
    items = [(f"chunk {index}", texts) for index, texts in enumerate(chunks)]
    pooled = list(
        ordered_map(
            score_chunk,
            items,
            extra=(path, sha256),
            jobs=2,
            exchange=SharedScoring(path, sha256),
        )
    )
    fresh = load_model(path)
    for (labels, confidences), texts in zip(pooled, chunks, strict=True):
        expected_labels, expected_confidences = fresh.predict_texts(texts)
        assert labels == expected_labels
        np.testing.assert_allclose(confidences, expected_confidences, rtol=0, atol=1e-9)
    # The first chunk, the only one with the marker, always goes to the worker.
    assert "qzxmarker" in parent_model.scorer


def test_scorer_learning_past_limit_starts_again(models, tweets):
    model = models[("binary", False)]
    documents = clean_chunk(tweets, model.options)
    teacher = LinearScorer(model.pipeline)
    teacher.record(True)
    teacher.decision_function(documents[:300])
    lessons = teacher.take_learned()
    assert len(lessons.tokens) > 100
    learner = LinearScorer(model.pipeline, max_tokens=100)
    learner.learn(lessons)
    # Only the separator is left, and the scorer still gives the pipeline's values.
    assert len(learner._ids) == 1
    np.testing.assert_allclose(
        learner.decision_function(documents[:50]),
        model.pipeline.decision_function(documents[:50]),
        rtol=0,
        atol=1e-9,
    )
