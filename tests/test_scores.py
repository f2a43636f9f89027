"""Tests for seatcast.scores: party scores from counts and the weights given to seat rules."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from seatcast.errors import ConfigError, DataError
from seatcast.scores import SCORE_METHODS, allocation_weights, compute_scores
from seatcast.seats import allocate_seats


def make_counts(rows):
    return pd.DataFrame(rows, columns=["party", "n_tweets", "n_positive", "n_negative"])


# A: 50 positive, 20 negative of 100 tweets; B: 30 and 30 of 80; C: 20 and 0 of 20.
COUNTS = make_counts(
    [
        ("A", 100, 50, 20),
        ("B", 80, 30, 30),
        ("C", 20, 20, 0),
    ]
)


def test_score_methods_listed():
    assert SCORE_METHODS == ("pss", "positive_ratio", "net", "mentions")


def test_pss_is_share_of_positive_tweets():
    scores = compute_scores(COUNTS)
    # 100 positive tweets in all: 50 / 100, 30 / 100, 20 / 100.
    assert scores.to_dict() == pytest.approx({"A": 0.5, "B": 0.3, "C": 0.2})
    assert scores.name == "pss"
    assert scores.index.name == "party"


def test_positive_ratio():
    scores = compute_scores(COUNTS, "positive_ratio")
    # 50 / 70, 30 / 60, 20 / 20.
    assert scores.to_dict() == pytest.approx({"A": 5 / 7, "B": 0.5, "C": 1.0})


def test_net_sentiment():
    scores = compute_scores(COUNTS, "net")
    # (50 - 20) / 70, (30 - 30) / 60, (20 - 0) / 20.
    assert scores.to_dict() == pytest.approx({"A": 3 / 7, "B": 0.0, "C": 1.0})


def test_mentions_share():
    scores = compute_scores(COUNTS, "mentions")
    # 200 tweets in all: 100 / 200, 80 / 200, 20 / 200.
    assert scores.to_dict() == pytest.approx({"A": 0.5, "B": 0.4, "C": 0.1})


def test_scores_keep_input_order():
    assert list(compute_scores(COUNTS.iloc[::-1])) == pytest.approx([0.2, 0.3, 0.5])
    assert list(compute_scores(COUNTS.iloc[::-1]).index) == ["C", "B", "A"]


def test_extra_columns_ignored():
    counts = COUNTS.assign(n_neutral=[30, 20, 0])
    assert compute_scores(counts).equals(compute_scores(COUNTS))


def test_float_counts_with_whole_values_accepted():
    counts = COUNTS.astype({"n_positive": float})
    assert compute_scores(counts).to_dict() == pytest.approx({"A": 0.5, "B": 0.3, "C": 0.2})


def test_pss_nan_without_positive_tweets():
    counts = make_counts([("A", 10, 0, 4), ("B", 5, 0, 5)])
    assert compute_scores(counts).isna().all()


def test_ratio_nan_for_party_without_polar_tweets():
    counts = make_counts([("A", 10, 6, 4), ("B", 5, 0, 0)])
    for method in ("positive_ratio", "net"):
        scores = compute_scores(counts, method)
        assert math.isnan(scores["B"])
        assert not math.isnan(scores["A"])


def test_mentions_nan_without_tweets():
    counts = make_counts([("A", 0, 0, 0), ("B", 0, 0, 0)])
    assert compute_scores(counts, "mentions").isna().all()


def test_unknown_method_rejected():
    with pytest.raises(
        ConfigError, match=r"`score` must be one of pss, positive_ratio, net, mentions; got 'vader'"
    ):
        compute_scores(COUNTS, "vader")


@pytest.mark.parametrize(
    ("counts", "message"),
    [
        (COUNTS.drop(columns="n_negative"), r"`counts` must have columns .*; missing n_negative"),
        (COUNTS.iloc[0:0], r"`counts` must have at least one party row; got 0 rows"),
        (make_counts([("A", 1, 1, 0), ("A", 2, 1, 1)]), r"must list each party once; .*\['A'\]"),
        (make_counts([("", 1, 1, 0)]), r"`counts` row 0: `party` must be a non-empty name; got ''"),
        (make_counts([(None, 1, 1, 0)]), r"`party` must be a non-empty name; got None"),
        (
            make_counts([("A", 10, 5, 1), ("B", 10, -1, 0)]),
            r"`counts` row 1 \(B\): `n_positive` must be a whole number of at least 0; got -1",
        ),
        (make_counts([("A", 10, 2.5, 1)]), r"`n_positive` must be a whole number .*; got 2\.5"),
        (make_counts([("A", 10, 5, "x")]), r"`n_negative` must be a whole number .*; got 'x'"),
        (make_counts([("A", np.nan, 5, 1)]), r"`n_tweets` must be a whole number .*; got nan"),
        (
            make_counts([("A", 10, 6, 5)]),
            r"row 0 \(A\): `n_positive` \+ `n_negative` must be at most `n_tweets`; got 11 > 10",
        ),
    ],
)
def test_bad_counts_rejected(counts, message):
    with pytest.raises(DataError, match=message):
        compute_scores(counts)


def test_non_dataframe_rejected():
    with pytest.raises(DataError, match=r"`counts` must be a pandas DataFrame; got dict"):
        compute_scores({"party": ["A"]})


@pytest.mark.parametrize("method", SCORE_METHODS)
def test_weights_non_negative_sum_to_one(method):
    weights = allocation_weights(compute_scores(COUNTS, method), method)
    assert weights.sum() == pytest.approx(1.0)
    assert (weights >= 0).all()
    assert list(weights.index) == ["A", "B", "C"]


def test_pss_weights_equal_scores():
    scores = compute_scores(COUNTS, "pss")
    assert allocation_weights(scores, "pss").to_numpy() == pytest.approx(scores.to_numpy())


def test_net_shift_matches_positive_ratio():
    # (net + 1) / 2 = P / (P + N), so both methods allocate alike.
    net = allocation_weights(compute_scores(COUNTS, "net"), "net")
    ratio = allocation_weights(compute_scores(COUNTS, "positive_ratio"), "positive_ratio")
    assert net.to_numpy() == pytest.approx(ratio.to_numpy())
    # Shifted net: A (3/7 + 1) / 2 = 5/7, B 1/2, C 1; divided by their sum 31/14.
    assert net.to_dict() == pytest.approx({"A": 10 / 31, "B": 7 / 31, "C": 14 / 31})


def test_net_most_negative_party_keeps_weight():
    counts = make_counts([("A", 10, 0, 10), ("B", 10, 5, 5)])
    weights = allocation_weights(compute_scores(counts, "net"), "net")
    # A's net is -1, shifted to 0; B's net 0 is shifted to 0.5.
    assert weights.to_dict() == pytest.approx({"A": 0.0, "B": 1.0})


def test_nan_scores_warn_and_get_zero_weight():
    counts = make_counts([("A", 10, 6, 4), ("B", 5, 0, 0)])
    scores = compute_scores(counts, "positive_ratio")
    with pytest.warns(UserWarning, match=r"positive_ratio scores are NaN for \['B'\]"):
        weights = allocation_weights(scores, "positive_ratio")
    assert weights.to_dict() == {"A": 1.0, "B": 0.0}


def test_all_zero_weights_raise():
    counts = make_counts([("A", 10, 0, 4), ("B", 5, 0, 5)])
    with pytest.raises(DataError, match=r"must give at least one party a positive pss weight"):
        allocation_weights(compute_scores(counts), "pss")


def test_all_zero_scores_raise():
    scores = pd.Series({"A": 0.0, "B": 0.0})
    with pytest.raises(DataError, match=r"got zero or undefined for all of \['A', 'B'\]"):
        allocation_weights(scores, "mentions")


@pytest.mark.parametrize(
    ("scores", "method", "message"),
    [
        (
            pd.Series({"A": -0.2, "B": 0.5}),
            "pss",
            r"`scores\['A'\]` must be a finite number of at least 0 for method pss; got -0\.2",
        ),
        (pd.Series({"A": np.inf}), "mentions", r"`scores\['A'\]` must be a finite number"),
        (pd.Series({"A": 1.5}), "net", r"`scores\['A'\]` must be in \[-1, 1\] for method net"),
        (pd.Series(dtype=float), "pss", r"`scores` must have at least one party"),
    ],
)
def test_bad_scores_rejected(scores, method, message):
    with pytest.raises(DataError, match=message):
        allocation_weights(scores, method)


def test_weights_unknown_method_rejected():
    with pytest.raises(ConfigError, match=r"`score` must be one of .*; got 'share'"):
        allocation_weights(pd.Series({"A": 1.0}), "share")


def test_weights_non_series_rejected():
    with pytest.raises(DataError, match=r"`scores` must be a pandas Series; got dict"):
        allocation_weights({"A": 1.0}, "pss")


def test_counts_to_seats():
    # PSS 0.5 / 0.3 / 0.2 of 10 seats under Hamilton is exactly 5 / 3 / 2.
    weights = allocation_weights(compute_scores(COUNTS), "pss")
    assert allocate_seats(weights.to_dict(), 10) == {"A": 5, "B": 3, "C": 2}
