"""Party scores from per-party tweet counts, and the seat-rule weights derived from them.

For party *i*, ``n_i`` is its number of tweets, ``P_i`` its positive tweets and ``N_i`` its
negative tweets (the rest are neutral). The score methods are:

* ``pss`` (default) - Positive Sentiment Score, the party's share of all positive tweets:
  ``PSS_i = P_i / sum_j P_j``.
* ``positive_ratio`` - the positive fraction of the party's own polar tweets:
  ``P_i / (P_i + N_i)``.
* ``net`` - net sentiment, ``(P_i - N_i) / (P_i + N_i)``, in [-1, 1].
* ``mentions`` - share of mentions, ``n_i / sum_j n_j``, as in Tumasjan et al. (2010),
  "Predicting Elections with Twitter: What 140 Characters Reveal about Political Sentiment".

NOTE: ``pss`` is our reconstruction. The study that seatcast follows names a Positive Sentiment
Score but does not publish its equation.
"""

from __future__ import annotations

import logging
import warnings

import numpy as np
import pandas as pd

from seatcast.errors import ConfigError, DataError

__all__ = [
    "COUNT_COLUMNS",
    "SCORE_METHODS",
    "allocation_weights",
    "compute_scores",
    "score_values",
    "weight_values",
]

logger = logging.getLogger(__name__)

SCORE_METHODS = ("pss", "positive_ratio", "net", "mentions")

COUNT_COLUMNS = ("party", "n_tweets", "n_positive", "n_negative")


def _plain(value: object) -> object:
    # numpy 2 scalars repr as np.float64(...); messages show the plain Python value instead.
    return value.item() if isinstance(value, np.generic) else value


def _check_method(method: object) -> str:
    if method not in SCORE_METHODS:
        raise ConfigError(f"`score` must be one of {', '.join(SCORE_METHODS)}; got {method!r}")
    return str(method)


def _check_counts(counts: pd.DataFrame) -> pd.DataFrame:
    if not isinstance(counts, pd.DataFrame):
        raise DataError(f"`counts` must be a pandas DataFrame; got {type(counts).__name__}")
    missing = [column for column in COUNT_COLUMNS if column not in counts.columns]
    if missing:
        raise DataError(
            f"`counts` must have columns {', '.join(COUNT_COLUMNS)}; missing {', '.join(missing)}"
        )
    if counts.empty:
        raise DataError("`counts` must have at least one party row; got 0 rows")

    parties = counts["party"]
    for row, party in enumerate(parties):
        if not isinstance(party, str) or not party.strip():
            raise DataError(f"`counts` row {row}: `party` must be a non-empty name; got {party!r}")
    duplicated = sorted(set(parties[parties.duplicated()]))
    if duplicated:
        raise DataError(f"`counts` must list each party once; got duplicates {duplicated}")

    numbers = {}
    for column in COUNT_COLUMNS[1:]:
        values = pd.to_numeric(counts[column], errors="coerce")
        bad = ~(np.isfinite(values) & (values >= 0) & (values == np.floor(values)))
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise DataError(
                f"`counts` row {row} ({parties.iloc[row]}): `{column}` must be a whole number "
                f"of at least 0; got {_plain(counts[column].iloc[row])!r}"
            )
        numbers[column] = values.astype("int64").to_numpy()

    polar = numbers["n_positive"] + numbers["n_negative"]
    over = np.flatnonzero(polar > numbers["n_tweets"])
    if over.size:
        row = int(over[0])
        raise DataError(
            f"`counts` row {row} ({parties.iloc[row]}): `n_positive` + `n_negative` must be at "
            f"most `n_tweets`; got {polar[row]} > {numbers['n_tweets'][row]}"
        )
    return pd.DataFrame(numbers, index=pd.Index(parties.to_list(), name="party"))


def score_values(
    n_tweets: np.ndarray, n_positive: np.ndarray, n_negative: np.ndarray, method: str
) -> np.ndarray:
    """Compute the scores of :func:`compute_scores` from count arrays, without checks.

    For callers whose counts are valid by construction, such as the bootstrap, which scores
    thousands of resamples. The arguments are float arrays with one entry per party.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        if method == "pss":
            return _share(n_positive)
        if method == "mentions":
            return _share(n_tweets)
        polar = n_positive + n_negative
        numerator = n_positive if method == "positive_ratio" else n_positive - n_negative
        # Parties without any polar tweet get NaN, because 0 / 0 has no meaningful value.
        return np.where(polar > 0, numerator / polar, np.nan)


def weight_values(scores: np.ndarray, method: str) -> np.ndarray | None:
    """Turn valid scores into the weights of :func:`allocation_weights`, without checks or
    warnings; ``None`` when no party has a positive weight."""
    values = (scores + 1.0) / 2.0 if method == "net" else scores
    values = np.nan_to_num(values, nan=0.0)
    total = values.sum()
    if not total > 0:
        return None
    return values / total


def _share(values: np.ndarray) -> np.ndarray:
    total = values.sum()
    if total == 0:
        return np.full(len(values), np.nan)
    return values / total


def compute_scores(counts: pd.DataFrame, method: str = "pss") -> pd.Series:
    """Compute one score per party from tweet counts.

    Parameters
    ----------
    counts : pandas.DataFrame
        One row per party with columns ``party``, ``n_tweets``, ``n_positive`` and
        ``n_negative``. Counts are whole numbers of at least 0, and ``n_positive + n_negative``
        is at most ``n_tweets``.
    method : {"pss", "positive_ratio", "net", "mentions"}, default="pss"
        Score formula; each is defined in the module docstring.

    Returns
    -------
    pandas.Series
        Float score per party, indexed by ``party`` in input order and named after `method`.
        A score whose denominator is zero is NaN: every party under ``pss`` when no party has a
        positive tweet, under ``mentions`` when there are no tweets, and, under
        ``positive_ratio`` and ``net``, each party with no positive or negative tweet.

    Raises
    ------
    ConfigError
        If `method` is unknown.
    DataError
        If a column is missing, a party is blank or repeated, or a count is negative,
        fractional, missing or larger than the party's ``n_tweets``.
    """
    method = _check_method(method)
    checked = _check_counts(counts)
    values = score_values(
        checked["n_tweets"].to_numpy(dtype=float),
        checked["n_positive"].to_numpy(dtype=float),
        checked["n_negative"].to_numpy(dtype=float),
        method,
    )
    scores = pd.Series(values, index=checked.index, name=method)
    logger.debug("computed %s scores for %d parties", method, len(scores))
    return scores


def allocation_weights(scores: pd.Series, method: str = "pss") -> pd.Series:
    """Turn party scores into non-negative weights that add up to 1, for the seat rules.

    ``pss``, ``positive_ratio`` and ``mentions`` scores are used as they are. ``net`` scores lie
    in [-1, 1] and are shifted to ``(net_i + 1) / 2`` first. That shift equals
    ``P_i / (P_i + N_i)``, so ``net`` allocates exactly like ``positive_ratio`` and differs
    from it only in the score it reports. The weights are then divided by their sum.

    Parameters
    ----------
    scores : pandas.Series
        Score per party, as returned by :func:`compute_scores`.
    method : {"pss", "positive_ratio", "net", "mentions"}, default="pss"
        The method that produced `scores`.

    Returns
    -------
    pandas.Series
        Weight per party in the order of `scores`, each at least 0, adding up to 1.

    Raises
    ------
    ConfigError
        If `method` is unknown.
    DataError
        If a score is infinite or out of its method's range (below 0, or outside [-1, 1] for
        ``net``), or if every weight is zero or NaN, so no seat can be allocated.

    Warns
    -----
    UserWarning
        When some (not all) scores are NaN. Those parties get weight 0, and so no seats under
        the divisor rules.
    """
    method = _check_method(method)
    if not isinstance(scores, pd.Series):
        raise DataError(f"`scores` must be a pandas Series; got {type(scores).__name__}")
    if scores.empty:
        raise DataError("`scores` must have at least one party; got an empty Series")
    values = pd.to_numeric(scores, errors="coerce").astype(float)

    low = -1.0 if method == "net" else 0.0
    high = 1.0 if method == "net" else np.inf
    known = values.dropna()
    out_of_range = known[~np.isfinite(known) | (known < low) | (known > high)]
    if not out_of_range.empty:
        party = out_of_range.index[0]
        expected = "in [-1, 1]" if method == "net" else "a finite number of at least 0"
        raise DataError(
            f"`scores[{party!r}]` must be {expected} for method {method}; "
            f"got {_plain(out_of_range.iloc[0])!r}"
        )

    undefined = values.index[values.isna()].to_list()
    if undefined and len(undefined) < len(values):
        warnings.warn(
            f"{method} scores are NaN for {undefined} because their denominator is zero; those "
            "parties get weight 0. Collect tweets for them or drop them from the election config.",
            UserWarning,
            stacklevel=2,
        )
    weights = weight_values(values.to_numpy(), method)
    if weights is None:
        raise DataError(
            f"`scores` must give at least one party a positive {method} weight; got zero or "
            f"undefined for all of {scores.index.to_list()}. Check that the tweets were "
            "classified and attributed to parties."
        )
    return pd.Series(weights, index=values.index, name="weight")
