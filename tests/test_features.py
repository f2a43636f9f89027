"""Tests for seatcast.features: n-grams, negation scope, tweet counts and the token caches."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer

from seatcast import features
from seatcast.config import FeatureSettings
from seatcast.errors import ConfigError
from seatcast.features import (
    CharNgrams,
    TweetFeatures,
    WordNgrams,
    build_features,
    char_ngrams,
    mark_negation,
)
from seatcast.preprocess import clean
from tests.conftest import semeval_lines


@pytest.fixture(scope="module")
def documents() -> list[list[str]]:
    """Token lists of 600 real SemEval tweets."""
    lines = semeval_lines("twitter-2016train-A.txt.gz", 600)
    return [clean(line.split("\t", 2)[2]) for line in lines]


def _reference_word_ngrams(tokens, ngram_range, negation):
    words = mark_negation(tokens) if negation else list(tokens)
    low, high = ngram_range
    grams = []
    for n in range(low, high + 1):
        grams.extend(" ".join(words[i : i + n]) for i in range(len(words) - n + 1))
    return grams


def _by_name(matrix, names):
    """Return each row as {feature name: value}."""
    rows = []
    matrix = matrix.tocsr()
    for i in range(matrix.shape[0]):
        start, end = matrix.indptr[i], matrix.indptr[i + 1]
        rows.append(
            {
                names[j]: float(v)
                for j, v in zip(matrix.indices[start:end], matrix.data[start:end], strict=True)
            }
        )
    return rows


def _assert_same_matrix(ours, ours_names, reference, reference_names):
    """Check two feature matrices are equal after matching their columns by name."""
    assert sorted(ours_names) == sorted(reference_names)
    position = {name: j for j, name in enumerate(ours_names)}
    order = [position[name] for name in reference_names]
    aligned = ours.tocsc()[:, order].tocsr()
    reference = reference.tocsr()
    aligned.sort_indices()
    reference.sort_indices()
    assert aligned.shape == reference.shape
    assert np.array_equal(aligned.indptr, reference.indptr)
    assert np.array_equal(aligned.indices, reference.indices)
    np.testing.assert_allclose(aligned.data, reference.data, rtol=1e-5, atol=1e-6)


NEGATION_CASES = [
    (
        ["i", "do", "not", "like", "it", ".", "ok"],
        ["i", "do", "not", "like_NEG", "it_NEG", ".", "ok"],
    ),
    (
        ["never", "again", "@user", "#fail", "<url>", "bad"],
        ["never", "again_NEG", "@user", "#fail", "<url>", "bad_NEG"],
    ),
    (["no", "no", "good", "!", "good"], ["no", "no_NEG", "good_NEG", "!", "good"]),
    (["not"], ["not"]),
    ([",", "not", "bad", ",", "great"], [",", "not", "bad_NEG", ",", "great"]),
    (["didn't", "<elong>", "sooo", "?!", "fine"], ["didn't", "<elong>", "sooo_NEG", "?!", "fine"]),
]


@pytest.mark.parametrize(("tokens", "expected"), NEGATION_CASES)
def test_mark_negation_table(tokens, expected):
    assert mark_negation(tokens) == expected


@pytest.mark.parametrize(
    ("token", "ngram_range", "expected"),
    [
        ("ab", (2, 3), [" a", "ab", "b ", " ab", "ab "]),
        ("a", (3, 5), [" a "]),
        ("ab", (4, 6), [" ab "]),
        ("abc", (5, 5), [" abc "]),
    ],
)
def test_char_ngrams_table(token, ngram_range, expected):
    assert char_ngrams(token, ngram_range) == expected


@pytest.mark.parametrize("ngram_range", [(1, 1), (1, 2), (1, 3), (2, 3)])
@pytest.mark.parametrize("negation", [True, False])
def test_word_ngrams_match_sklearn(documents, ngram_range, negation):
    train, test = documents[:450], documents[450:]
    ours = WordNgrams(ngram_range=ngram_range, negation=negation).fit(train)
    reference = TfidfVectorizer(
        analyzer=lambda tokens: _reference_word_ngrams(tokens, ngram_range, negation),
        sublinear_tf=True,
        lowercase=False,
    ).fit(train)
    ours_names = list(ours.get_feature_names_out())
    reference_names = list(reference.get_feature_names_out())
    for part in (train, test):
        _assert_same_matrix(
            ours.transform(part), ours_names, reference.transform(part), reference_names
        )


def test_word_ngrams_min_df_and_max_features(documents):
    full = WordNgrams(ngram_range=(1, 2), min_df=3).fit(documents)
    reference = TfidfVectorizer(
        analyzer=lambda tokens: _reference_word_ngrams(tokens, (1, 2), True), min_df=3
    ).fit(documents)
    assert sorted(full.get_feature_names_out()) == sorted(reference.get_feature_names_out())
    capped = WordNgrams(ngram_range=(1, 2), max_features=50).fit(documents)
    assert len(capped.get_feature_names_out()) == 50
    assert capped.transform(documents).shape == (len(documents), 50)


def test_word_negation_stops_at_tweet_boundary():
    model = WordNgrams(ngram_range=(1, 1)).fit([["not", "good"], ["good", "day"]])
    names = list(model.get_feature_names_out())
    rows = _by_name(model.transform([["i", "am", "not"], ["good"]]), names)
    assert set(rows[1]) == {"good"}
    assert "good_NEG" in names


def test_word_unknown_negation_opens_scope():
    model = WordNgrams(ngram_range=(1, 1)).fit([["bad", "day"], ["not", "bad"]])
    rows = _by_name(model.transform([["wasnt", "bad"]]), list(model.get_feature_names_out()))
    # "wasnt" was never seen in training but still opens a scope.
    assert set(rows[0]) == {"bad_NEG"}


@pytest.mark.parametrize("ngram_range", [(2, 4), (3, 5), (1, 3)])
def test_char_ngrams_match_sklearn(documents, ngram_range):
    train, test = documents[:200], documents[200:300]
    ours = CharNgrams(ngram_range=ngram_range, min_df=2).fit(train)
    reference = TfidfVectorizer(
        analyzer=lambda tokens: [g for t in tokens for g in char_ngrams(t, ngram_range)],
        min_df=2,
        sublinear_tf=True,
        lowercase=False,
    ).fit(train)
    ours_names = list(ours.get_feature_names_out())
    reference_names = list(reference.get_feature_names_out())
    for part in (train, test):
        _assert_same_matrix(
            ours.transform(part), ours_names, reference.transform(part), reference_names
        )


def test_char_ngrams_skip_frequent_tokens(documents):
    train, test = documents[:200], documents[200:300]
    ours = CharNgrams(ngram_range=(2, 4), max_token_df=0.05).fit(train)
    frequent = {t for t in {t for d in train for t in d} if sum(t in d for d in train) > 10}
    assert ours.n_frequent_ == len(frequent)
    assert {"@user", "the"} <= frequent
    reference = TfidfVectorizer(
        analyzer=lambda tokens: [
            g for t in tokens if t not in frequent for g in char_ngrams(t, (2, 4))
        ],
        min_df=2,
        sublinear_tf=True,
        lowercase=False,
    ).fit(train)
    ours_names = list(ours.get_feature_names_out())
    reference_names = list(reference.get_feature_names_out())
    for part in (train, test):
        _assert_same_matrix(
            ours.transform(part), ours_names, reference.transform(part), reference_names
        )
    restored = pickle.loads(pickle.dumps(ours))
    assert restored.transform([["the"]]).nnz == 0


@pytest.mark.parametrize("share", [0.0, 1.5])
def test_char_ngrams_reject_bad_share(documents, share):
    with pytest.raises(ConfigError, match=r"`max_token_df` must be a share in \(0, 1\]"):
        CharNgrams(max_token_df=share).fit(documents[:10])


def test_char_cache_reset_keeps_results(documents, monkeypatch):
    model = CharNgrams(ngram_range=(2, 4)).fit(documents[:300])
    expected = model.transform(documents[300:]).toarray()
    monkeypatch.setattr(features, "MAX_CACHED_TOKENS", 50)
    fresh = pickle.loads(pickle.dumps(model))
    for start in range(300, 600, 20):
        chunk = fresh.transform(documents[start : start + 20]).toarray()
        np.testing.assert_allclose(chunk, expected[start - 300 : start - 280], rtol=1e-6)
    assert len(fresh._cache) < 50 + 20 * 40


def test_word_unknown_cache_is_bounded(documents, monkeypatch):
    model = WordNgrams().fit(documents[:100])
    monkeypatch.setattr(features, "MAX_CACHED_TOKENS", 30)
    expected = model.transform(documents[100:]).toarray()
    for start in range(100, 600, 50):
        model.transform(documents[start : start + 50])
        assert len(model._token_ids) <= model.n_tokens_ + 30 + 50 * 40
    np.testing.assert_allclose(model.transform(documents[100:]).toarray(), expected, rtol=1e-6)


def test_pickled_transformers_drop_caches(documents):
    union = build_features(FeatureSettings(char_ngram_range=[3, 5])).fit(documents)
    expected = union.transform(documents[:100]).toarray()
    for _, transformer in union.transformer_list:
        saved = transformer.__getstate__()
        for name in transformer._CACHE_ATTRIBUTES:
            assert name not in saved
    restored = pickle.loads(pickle.dumps(union))
    np.testing.assert_allclose(restored.transform(documents[:100]).toarray(), expected, rtol=1e-6)


TWEET_CASES = [
    (["<elong>", "<allcaps>", "<allcaps>"], {"n_elongated": 1, "n_allcaps": 2}),
    (["!!!", "?", "?!"], {"n_exclamation": 3, "n_question": 1}),
    ([":)", ":d", "<3", ":(", ":'("], {"n_positive_emoticons": 3, "n_negative_emoticons": 2}),
    (["😂", "❤️", "👍🏽", "😭", "💔"], {"n_positive_emoji": 3, "n_negative_emoji": 2}),
    (["not", "never", "nothing"], {"n_negations": 3}),
    (["hello", "🤔", "#great"], {}),
]


@pytest.mark.parametrize(("tokens", "counts"), TWEET_CASES)
def test_tweet_features_table(tokens, counts):
    names = list(TweetFeatures.feature_names)
    row = TweetFeatures().fit([tokens]).transform([tokens]).toarray()[0]
    expected = np.zeros(len(names))
    for name, count in counts.items():
        expected[names.index(name)] = np.log1p(count)
    np.testing.assert_allclose(row, expected)


def test_tweet_features_empty_tweets():
    matrix = TweetFeatures().transform([[], ["!"], []]).toarray()
    assert matrix.shape == (3, len(TweetFeatures.feature_names))
    assert matrix[0].sum() == 0
    assert matrix[2].sum() == 0


def test_build_features_parts():
    union = build_features(FeatureSettings(char_ngram_range=[2, 5], tweet_features=False))
    assert [name for name, _ in union.transformer_list] == ["word", "char"]
    word_only = build_features(FeatureSettings(char_ngram_range=None))
    assert [name for name, _ in word_only.transformer_list] == ["word", "tweet"]


def test_build_features_rejects_long_word_range():
    with pytest.raises(ConfigError, match=r"`features.word_ngram_range` must end at 6 or less"):
        build_features(FeatureSettings(word_ngram_range=[1, 7]))


def test_transform_before_fit_raises():
    with pytest.raises(Exception, match="not fitted"):
        WordNgrams().transform([["a"]])


def test_union_handles_empty_documents(documents):
    union = build_features(FeatureSettings(char_ngram_range=[3, 5])).fit(documents)
    matrix = union.transform([[], documents[0], []])
    assert matrix.shape[0] == 3
    assert matrix[0].nnz == 0
    assert matrix[1].nnz > 0
