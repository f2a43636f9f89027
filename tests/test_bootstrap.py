"""Tests for seatcast.bootstrap: intervals, seeds, and the confusion-matrix correction."""

import json
from collections import Counter

import numpy as np
import pytest

from seatcast.bootstrap import (
    ConfusionCorrection,
    SeatMethod,
    allocate_from_counts,
    bootstrap_draws,
    bootstrap_intervals,
    count_table,
)
from seatcast.errors import ConfigError, DataError

PARTIES = ["YSRCP", "TDP", "JSP"]


def combos(scale: int = 1) -> Counter:
    """Counts shaped like an Andhra Pradesh corpus, times ``scale``."""
    base = {
        (("YSRCP",), "positive"): 300,
        (("YSRCP",), "negative"): 120,
        (("TDP",), "positive"): 200,
        (("TDP",), "negative"): 150,
        (("JSP",), "positive"): 40,
        (("JSP",), "negative"): 30,
        (("YSRCP", "TDP"), "negative"): 25,
    }
    return Counter({key: value * scale for key, value in base.items()})


def intervals(counts, **kwargs):
    settings = {
        "score": "pss",
        "rule": "hamilton",
        "total": 175,
        "k": 3.0,
        "n_resamples": 300,
        "confidence": 0.9,
        "seed": 7,
    }
    return bootstrap_intervals(counts, PARTIES, **{**settings, **kwargs})


def test_count_table_counts_multi_party_for_each():
    table = count_table(combos(), PARTIES).set_index("party")
    assert table.loc["YSRCP", "n_tweets"] == 445
    assert table.loc["TDP", "n_negative"] == 175
    assert table.loc["JSP", "n_positive"] == 40


@pytest.mark.parametrize("rule", ["hamilton", "dhondt", "sainte-lague", "power"])
def test_interval_contains_point_estimate(rule):
    counts = combos()
    scores, seats = allocate_from_counts(
        count_table(counts, PARTIES), score="pss", rule=rule, total=175, k=3.0
    )
    frame = intervals(counts, rule=rule)
    for party in PARTIES:
        assert frame.loc[party, "score_low"] <= scores[party] <= frame.loc[party, "score_high"]
        assert frame.loc[party, "seats_low"] <= seats[party] <= frame.loc[party, "seats_high"]


@pytest.mark.slow
def test_interval_narrows_with_more_tweets():
    small = intervals(combos(1))
    large = intervals(combos(20))
    for party in PARTIES:
        small_width = small.loc[party, "score_high"] - small.loc[party, "score_low"]
        large_width = large.loc[party, "score_high"] - large.loc[party, "score_low"]
        assert large_width < small_width / 2


def test_same_seed_same_intervals():
    first = intervals(combos(), seed=3)
    again = intervals(combos(), seed=3)
    other = intervals(combos(), seed=4)
    assert first.equals(again)
    assert not first[["score_low", "score_high"]].equals(other[["score_low", "score_high"]])


def test_draws_do_not_depend_on_jobs():
    method = [SeatMethod("pss", "dhondt")]
    one = bootstrap_draws(combos(), PARTIES, method, total=175, n_resamples=120, seed=1, jobs=1)
    two = bootstrap_draws(combos(), PARTIES, method, total=175, n_resamples=120, seed=1, jobs=2)
    np.testing.assert_array_equal(one.seats, two.seats)
    assert one.seats.shape == (120, 1, 3)


class _NoCorrection:
    """A correction that changes nothing, which sends every resample down the general path
    (Counter, count table and pandas) instead of the NumPy one."""

    def correct(self, sample, generator):
        return sample


def test_numpy_path_equals_general_path():
    # Every score method, a party without polar tweets, a tweet attributed to two parties
    # and few tweets, so that some resamples leave a party without tweets.
    counts = combos() + Counter({(("JSP",), "neutral"): 3})
    counts[(("JSP",), "positive")] = 2
    counts[(("JSP",), "negative")] = 1
    methods = [SeatMethod(score, "hamilton") for score in ("pss", "positive_ratio", "net")]
    methods += [SeatMethod("mentions", "power", 3.0), SeatMethod("pss", "dhondt")]
    settings = {"total": 175, "n_resamples": 200, "seed": 5}
    fast = bootstrap_draws(counts, PARTIES, methods, **settings)
    general = bootstrap_draws(counts, PARTIES, methods, **settings, correction=_NoCorrection())
    np.testing.assert_allclose(fast.scores, general.scores, rtol=1e-12, equal_nan=True)
    np.testing.assert_array_equal(fast.seats, general.seats)
    # Some resamples give JSP no polar tweet, so its positive_ratio is NaN there.
    assert np.isnan(fast.scores[:, 1, 2]).any()
    assert not np.isnan(fast.scores[:, 1, 2]).all()


def test_draws_keep_total_seats_per_method():
    methods = [SeatMethod("pss", "hamilton"), SeatMethod("mentions", "power", 7.67)]
    draws = bootstrap_draws(combos(), PARTIES, methods, total=175, n_resamples=60, seed=0)
    np.testing.assert_array_equal(draws.seats.sum(axis=2), np.full((60, 2), 175.0))


def test_no_resamples_gives_empty_frame():
    assert intervals(combos(), n_resamples=0).empty


def test_no_tweets_rejected():
    with pytest.raises(DataError, match="no attributed tweets"):
        bootstrap_draws(Counter(), PARTIES, [SeatMethod("pss", "hamilton")], total=5, n_resamples=5)


# --- confusion-matrix correction ------------------------------------------------------------


def observed_from_truth(true_negative, true_positive, rates):
    """Predicted counts that exactly match the rates (rows true, columns predicted)."""
    negative = true_negative * rates[0][0] + true_positive * rates[1][0]
    positive = true_negative * rates[0][1] + true_positive * rates[1][1]
    return negative, positive


def test_identity_matrix_changes_nothing():
    correction = ConfusionCorrection(["negative", "positive"], [[50, 0], [0, 50]])
    assert correction.correct(combos()) == combos()


def test_inverse_point_estimate_recovers_true_counts():
    # Recall 0.8 for negative and 0.9 for positive.
    correction = ConfusionCorrection(["negative", "positive"], [[80, 20], [10, 90]])
    negative, positive = observed_from_truth(400, 600, [[0.8, 0.2], [0.1, 0.9]])
    observed = Counter({(("A",), "negative"): int(negative), (("A",), "positive"): int(positive)})
    corrected = correction.correct(observed)
    assert corrected[(("A",), "negative")] == 400
    assert corrected[(("A",), "positive")] == 600


def test_inverse_ignores_matrix_label_shares():
    # The same rates measured on a corpus with 10x more negatives give the same correction.
    balanced = ConfusionCorrection(["negative", "positive"], [[80, 20], [10, 90]])
    skewed = ConfusionCorrection(["negative", "positive"], [[800, 200], [10, 90]])
    assert balanced.correct(combos()) == skewed.correct(combos())


def test_posterior_point_estimate_uses_matrix_columns():
    # P(true negative | predicted positive) = 20 / 110; predicted negative is always right.
    correction = ConfusionCorrection(
        ["negative", "positive"], [[90, 20], [0, 90]], method="posterior"
    )
    observed = Counter({(("A",), "positive"): 110, (("A",), "negative"): 10})
    corrected = correction.correct(observed)
    assert corrected[(("A",), "negative")] == 30
    assert corrected[(("A",), "positive")] == 90


def test_corrected_counts_keep_group_sizes():
    correction = ConfusionCorrection(["negative", "positive"], [[70, 30], [25, 75]])
    generator = np.random.default_rng(0)
    for method in ("inverse", "posterior"):
        correction.method = method
        corrected = correction.correct(combos(), generator)
        for parties in {key[0] for key in combos()}:
            before = sum(n for (group, _), n in combos().items() if group == parties)
            after = sum(n for (group, _), n in corrected.items() if group == parties)
            assert after == before


@pytest.mark.slow
def test_correction_moves_intervals_toward_truth():
    # A classifier that calls 30% of negatives positive inflates positives; the corrected
    # bootstrap interval of a party's positive ratio must cover the true ratio, the plain
    # one must not.
    rates = [[0.7, 0.3], [0.1, 0.9]]
    truth = {"A": (600, 400), "B": (300, 700)}
    observed = Counter()
    for party, (negative, positive) in truth.items():
        predicted_negative, predicted_positive = observed_from_truth(negative, positive, rates)
        observed[((party,), "negative")] = round(predicted_negative)
        observed[((party,), "positive")] = round(predicted_positive)
    correction = ConfusionCorrection(["negative", "positive"], [[700, 300], [100, 900]])
    settings = {
        "score": "positive_ratio",
        "rule": "hamilton",
        "total": 100,
        "k": 3.0,
        "n_resamples": 300,
        "confidence": 0.9,
        "seed": 0,
    }
    plain = bootstrap_intervals(observed, ["A", "B"], **settings)
    corrected = bootstrap_intervals(observed, ["A", "B"], correction=correction, **settings)
    true_ratio = 400 / 1000
    assert not plain.loc["A", "score_low"] <= true_ratio <= plain.loc["A", "score_high"]
    assert corrected.loc["A", "score_low"] <= true_ratio <= corrected.loc["A", "score_high"]


def test_correction_json_round_trip(tmp_path):
    path = tmp_path / "matrix.json"
    path.write_text(json.dumps({"labels": ["negative", "positive"], "matrix": [[8, 2], [1, 9]]}))
    correction = ConfusionCorrection.from_json(path, method="posterior")
    assert correction.method == "posterior"
    assert correction.describe()["matrix"] == [[8, 2], [1, 9]]
    correction.check_labels(("positive", "negative"))
    with pytest.raises(ConfigError, match="the model predicts"):
        correction.check_labels(("negative", "neutral", "positive"))


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"labels": ["negative", "positive"]}, "must be a JSON object with `labels` and `matrix`"),
        ({"labels": ["negative", "positive"], "matrix": [[1, 2]]}, "must be 2 x 2"),
        ({"labels": ["negative", "positive"], "matrix": [[1, -2], [3, 4]]}, "whole number"),
        ({"labels": ["negative", "positive"], "matrix": [[0, 0], [3, 4]]}, "has no tweets"),
        ({"labels": ["positive", "positive"], "matrix": [[1, 2], [3, 4]]}, "two distinct labels"),
    ],
)
def test_invalid_matrix_rejected(tmp_path, document, message):
    path = tmp_path / "matrix.json"
    path.write_text(json.dumps(document))
    with pytest.raises(ConfigError, match=message):
        ConfusionCorrection.from_json(path)


def test_missing_or_broken_matrix_file(tmp_path):
    with pytest.raises(ConfigError, match="confusion matrix file not found"):
        ConfusionCorrection.from_json(tmp_path / "none.json")
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    with pytest.raises(ConfigError, match="is not valid JSON"):
        ConfusionCorrection.from_json(broken)


def test_unknown_method_rejected():
    with pytest.raises(ConfigError, match=r"`bootstrap\.confusion_method` must be one of"):
        ConfusionCorrection(["negative", "positive"], [[1, 0], [0, 1]], method="bayes")
