"""Uncertainty of a forecast: bootstrap resampling and the classifier-error correction.

A forecast depends on the tweets only through the count of each (parties, label)
combination, where ``parties`` is the tuple of parties a tweet was attributed to and
``label`` its predicted sentiment. Resampling the tweets with replacement is therefore the
same as drawing those counts from a multinomial distribution with the observed proportions,
which costs nothing per tweet. Each resample is scored and allocated with every requested
:class:`SeatMethod`, so a backtest of twenty score and rule combinations resamples once.

Classifier errors are a second source of error that resampling alone does not show: a
classifier that calls 20% of negative tweets positive inflates every party's positive count.
:class:`ConfusionCorrection` takes a confusion matrix measured on gold-labelled tweets (rows
true labels, columns predicted labels; ``seatcast labelnoise`` writes one) and, in each
resample, replaces the predicted label counts of each party group by estimated true label
counts. Two methods are offered:

* ``inverse`` (default): the misclassification rates ``R[t, p] = P(predicted p | true t)``
  are drawn from a Dirichlet posterior of each row of the matrix (uniform prior), and the true
  counts ``x`` solve ``R^T x = observed``. Negative solutions are set to 0 and the result is
  scaled back to the group's number of tweets. For two labels this is the Rogan-Gladen
  estimator of a prevalence under a test of known sensitivity and specificity (Rogan and
  Gladen, American Journal of Epidemiology 107(1), 1978). The rates do not depend on how
  common each label was where the matrix was measured, so the correction transfers to a
  corpus with a different share of positive tweets.
* ``posterior``: each classified tweet's true label is drawn from ``P(true t | predicted p)``,
  the column of a Dirichlet draw of the whole matrix. This is the literal "re-draw each
  tweet's true label" correction, but the posterior carries the label shares of the
  measurement set, so it pulls every corpus toward them.

NOTE: Both corrections assume that the classifier errs on the forecast corpus at the rates
measured on the gold set. A matrix measured on US debate tweets says little about Hindi or
Hinglish tweets, which the English model mostly cannot read.
"""

from __future__ import annotations

import json
import logging
import warnings
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from joblib import Parallel, delayed

from seatcast.errors import ConfigError, DataError
from seatcast.scores import allocation_weights, compute_scores, score_values, weight_values
from seatcast.seats import allocate_seats

__all__ = [
    "CONFUSION_METHODS",
    "BootstrapDraws",
    "ConfusionCorrection",
    "SeatMethod",
    "allocate_from_counts",
    "bootstrap_draws",
    "bootstrap_intervals",
    "count_table",
    "interval_frame",
]

logger = logging.getLogger(__name__)

CONFUSION_METHODS = ("inverse", "posterior")

# Resamples per parallel task, at least; fewer tasks than this would cost more to start.
_MIN_BLOCK = 50

Combos = Counter[tuple[tuple[str, ...], str]]


@dataclass(frozen=True)
class SeatMethod:
    """One way to turn counts into seats: a score method, a seat rule and its exponent.

    ``name`` labels the method in reports; it defaults to the rule, with ``k`` for ``power``.
    """

    score: str
    rule: str
    k: float = 3.0
    name: str = ""

    @property
    def label(self) -> str:
        """Return ``name``, or the rule (with ``k`` for power) when no name was given."""
        if self.name:
            return self.name
        return f"power k={self.k:.2f}" if self.rule == "power" else self.rule


def count_table(combos: Combos, parties: list[str]) -> pd.DataFrame:
    """Turn (parties, label) counts into one row per party with n_tweets, n_positive and
    n_negative. A tweet attributed to several parties counts once for each."""
    rows = {party: {"n_tweets": 0, "n_positive": 0, "n_negative": 0} for party in parties}
    for (matched, label), count in combos.items():
        for party in matched:
            rows[party]["n_tweets"] += count
            if label == "positive":
                rows[party]["n_positive"] += count
            elif label == "negative":
                rows[party]["n_negative"] += count
    frame = pd.DataFrame([{"party": party, **rows[party]} for party in parties])
    return frame.astype({"n_tweets": "int64", "n_positive": "int64", "n_negative": "int64"})


def allocate_from_counts(
    counts: pd.DataFrame, *, score: str, rule: str, total: int, k: float
) -> tuple[pd.Series, dict[str, int]]:
    """Return the party scores and the seats they give."""
    scores = compute_scores(counts, method=score)
    weights = allocation_weights(scores, method=score)
    seats = allocate_seats(weights.to_dict(), total, rule=rule, k=k)
    return scores, seats


def _round_to_total(values: np.ndarray, total: int) -> np.ndarray:
    """Round non-negative values to whole numbers that add up to ``total`` (largest
    remainder), so that corrected counts stay valid tweet counts."""
    floors = np.floor(values).astype(np.int64)
    left = total - int(floors.sum())
    if left > 0:
        order = np.argsort(-(values - floors), kind="stable")
        floors[order[:left]] += 1
    return floors


class ConfusionCorrection:
    """Correct predicted label counts for classifier errors with a measured confusion matrix.

    Parameters
    ----------
    labels : sequence of str
        The labels of the matrix rows and columns, in order.
    matrix : array-like of shape (n_labels, n_labels)
        Tweet counts: ``matrix[t][p]`` tweets of true label ``labels[t]`` were predicted
        ``labels[p]``.
    method : {'inverse', 'posterior'}, default='inverse'
        See the module docstring.
    source : str, default=''
        Where the matrix came from, for reports.

    Raises
    ------
    ConfigError
        If the method is unknown, the labels repeat, the matrix is not square with one row per
        label, a count is negative or not whole, or a row (``inverse``) or column
        (``posterior``) has no tweets.
    """

    def __init__(self, labels, matrix, *, method: str = "inverse", source: str = ""):
        if method not in CONFUSION_METHODS:
            raise ConfigError(
                f"`bootstrap.confusion_method` must be one of {', '.join(CONFUSION_METHODS)}; "
                f"got {method!r}"
            )
        labels = [str(label) for label in labels]
        if len(set(labels)) != len(labels) or len(labels) < 2:
            raise ConfigError(
                f"confusion matrix {source}: `labels` must name at least two distinct labels; "
                f"got {labels}"
            )
        try:
            counts = np.asarray(matrix, dtype=np.float64)
        except (TypeError, ValueError):
            raise ConfigError(
                f"confusion matrix {source}: `matrix` must be a square list of lists of counts"
            ) from None
        if counts.shape != (len(labels), len(labels)):
            raise ConfigError(
                f"confusion matrix {source}: `matrix` must be {len(labels)} x {len(labels)} for "
                f"labels {labels}; got shape {counts.shape}"
            )
        if not np.all(np.isfinite(counts)) or (counts < 0).any() or (counts % 1).any():
            raise ConfigError(
                f"confusion matrix {source}: every cell must be a whole number of at least 0"
            )
        empty = counts.sum(axis=1 if method == "inverse" else 0) == 0
        if empty.any():
            side = "row (true label)" if method == "inverse" else "column (predicted label)"
            raise ConfigError(
                f"confusion matrix {source}: the {side} {labels[int(np.argmax(empty))]!r} has no "
                "tweets, so its error rates are unknown; measure on more gold tweets"
            )
        self.labels = labels
        self.matrix = counts
        self.method = method
        self.source = source
        # Point estimates of the rates, from the counts themselves.
        self.rates_ = counts / counts.sum(axis=1, keepdims=True)
        column_sums = counts.sum(axis=0, keepdims=True)
        self.posterior_ = np.divide(
            counts, column_sums, out=np.zeros_like(counts), where=column_sums > 0
        )

    @classmethod
    def from_json(cls, path: Path, *, method: str = "inverse") -> ConfusionCorrection:
        """Load a matrix written by ``seatcast labelnoise`` (``labels`` and ``matrix`` keys).

        Raises
        ------
        ConfigError
            If the file is missing, is not JSON, or lacks ``labels`` or ``matrix``.
        """
        path = Path(path)
        if not path.is_file():
            raise ConfigError(
                f"confusion matrix file not found: {path}. Fix `bootstrap.confusion_matrix` or "
                "write one with `seatcast labelnoise`."
            )
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise ConfigError(f"confusion matrix {path} is not valid JSON: {error}") from None
        if not isinstance(document, dict) or "labels" not in document or "matrix" not in document:
            raise ConfigError(
                f"confusion matrix {path} must be a JSON object with `labels` and `matrix` "
                "(rows true labels, columns predicted labels)"
            )
        return cls(document["labels"], document["matrix"], method=method, source=str(path))

    def check_labels(self, model_labels) -> None:
        """Raise :class:`ConfigError` unless the matrix has exactly the model's labels."""
        if sorted(self.labels) != sorted(model_labels):
            raise ConfigError(
                f"confusion matrix {self.source} has labels {self.labels}, but the model "
                f"predicts {list(model_labels)}; measure the matrix with the same model mode"
            )

    def _draw_rates(self, generator: np.random.Generator | None) -> np.ndarray:
        if generator is None:
            return self.rates_ if self.method == "inverse" else self.posterior_
        if self.method == "inverse":
            return np.vstack([generator.dirichlet(row + 1.0) for row in self.matrix])
        cells = generator.dirichlet(self.matrix.ravel() + 1.0).reshape(self.matrix.shape)
        return cells / cells.sum(axis=0, keepdims=True)

    def correct(self, combos: Combos, generator: np.random.Generator | None = None) -> Combos:
        """Return the combos with predicted labels replaced by estimated true labels.

        With ``generator`` the rates are drawn from their posterior (and, for ``posterior``,
        each tweet's label is drawn); without it the point estimate is returned, rounded to
        whole tweets.
        """
        index = {label: i for i, label in enumerate(self.labels)}
        groups: dict[tuple[str, ...], np.ndarray] = {}
        for (parties, label), count in combos.items():
            if label not in index:
                raise DataError(
                    f"predicted label {label!r} is not in the confusion matrix labels {self.labels}"
                )
            vector = groups.setdefault(parties, np.zeros(len(self.labels)))
            vector[index[label]] += count
        rates = self._draw_rates(generator)
        corrected: Combos = Counter()
        for parties, observed in groups.items():
            n_group = int(observed.sum())
            if self.method == "inverse":
                estimate = np.linalg.lstsq(rates.T, observed, rcond=None)[0]
                estimate = np.clip(estimate, 0.0, None)
                if estimate.sum() <= 0:
                    estimate = observed.copy()
                true_counts = _round_to_total(estimate * n_group / estimate.sum(), n_group)
            elif generator is None:
                true_counts = _round_to_total(rates @ observed, n_group)
            else:
                true_counts = np.zeros(len(self.labels), dtype=np.int64)
                for p, n_predicted in enumerate(observed.astype(np.int64)):
                    if n_predicted:
                        true_counts += generator.multinomial(n_predicted, rates[:, p])
            for t, count in enumerate(true_counts):
                if count:
                    corrected[(parties, self.labels[t])] += int(count)
        return corrected

    def describe(self) -> dict:
        """Return the matrix, method and per-label rates as a JSON-ready dict."""
        return {
            "source": self.source,
            "method": self.method,
            "labels": self.labels,
            "matrix": self.matrix.astype(int).tolist(),
            "recall": {label: float(self.rates_[i, i]) for i, label in enumerate(self.labels)},
        }


def _score_weights(table, score: str):
    """Return the scores and seat-rule weights of one score method, or ``None`` when the
    resample gives no usable weight."""
    with warnings.catch_warnings():
        # A party with no positive or negative tweets in a resample gets weight 0;
        # allocation_weights warns about that, once per resample, which is noise here.
        warnings.simplefilter("ignore", UserWarning)
        try:
            scores = compute_scores(table, method=score)
            return scores, allocation_weights(scores, method=score).to_dict()
        except DataError:
            return None


def _count_matrix(categories, parties) -> np.ndarray:
    """Return the matrix that turns the counts of ``categories`` into the columns of
    :func:`count_table`: shape (3, categories, parties) for n_tweets, n_positive and
    n_negative."""
    matrix = np.zeros((3, len(categories), len(parties)))
    column = {party: j for j, party in enumerate(parties)}
    for i, (matched, label) in enumerate(categories):
        for party in matched:
            matrix[0, i, column[party]] += 1
            if label == "positive":
                matrix[1, i, column[party]] += 1
            elif label == "negative":
                matrix[2, i, column[party]] += 1
    return matrix


def _bootstrap_block(categories, counts, parties, methods, total, correction, seed, size):
    generator = np.random.default_rng(seed)
    n_total = int(counts.sum())
    probabilities = counts / n_total
    scores_out = np.full((size, len(methods), len(parties)), np.nan)
    seats_out = np.full((size, len(methods), len(parties)), np.nan)
    if correction is None:
        # The common case, in NumPy alone: the same draws and results as the loop below.
        matrix = _count_matrix(categories, parties)
        for b in range(size):
            draw = generator.multinomial(n_total, probabilities).astype(float)
            n_tweets, n_positive, n_negative = draw @ matrix
            found_by_score = {}
            for m, method in enumerate(methods):
                if method.score not in found_by_score:
                    scores = score_values(n_tweets, n_positive, n_negative, method.score)
                    found_by_score[method.score] = (scores, weight_values(scores, method.score))
                scores, weights = found_by_score[method.score]
                if weights is None:
                    continue
                seats = allocate_seats(
                    dict(zip(parties, weights.tolist(), strict=True)),
                    total,
                    rule=method.rule,
                    k=method.k,
                )
                scores_out[b, m] = scores
                seats_out[b, m] = [seats[party] for party in parties]
        return scores_out, seats_out
    for b in range(size):
        draw = generator.multinomial(n_total, probabilities)
        sample: Combos = Counter(
            {category: int(n) for category, n in zip(categories, draw, strict=True) if n}
        )
        if correction is not None:
            sample = correction.correct(sample, generator)
        table = count_table(sample, parties)
        # Scores and weights depend only on the score method, so they are computed once per
        # method and shared by its seat rules.
        weights_by_score = {}
        for m, method in enumerate(methods):
            if method.score not in weights_by_score:
                weights_by_score[method.score] = _score_weights(table, method.score)
            found = weights_by_score[method.score]
            if found is None:
                # A resample with no usable tweets for any party gives no forecast; it stays NaN.
                continue
            scores, weights = found
            seats = allocate_seats(weights, total, rule=method.rule, k=method.k)
            scores_out[b, m] = [scores[party] for party in parties]
            seats_out[b, m] = [seats[party] for party in parties]
    return scores_out, seats_out


@dataclass
class BootstrapDraws:
    """The scores and seats of every resample, of shape (resamples, methods, parties)."""

    methods: list[SeatMethod]
    parties: list[str]
    scores: np.ndarray
    seats: np.ndarray

    def intervals(self, method: SeatMethod, confidence: float) -> pd.DataFrame:
        """Return percentile intervals for one method; see :func:`interval_frame`."""
        m = self.methods.index(method)
        return interval_frame(self.scores[:, m], self.seats[:, m], self.parties, confidence)


def interval_frame(scores, seats, parties, confidence: float) -> pd.DataFrame:
    """Return ``score_low``, ``score_high``, ``seats_low`` and ``seats_high`` per party at the
    two-sided ``confidence``. Seat bounds are rounded outward to whole seats."""
    tail = (1 - confidence) / 2 * 100
    with warnings.catch_warnings():
        # A party whose score is NaN in every resample has no interval, so NaN is returned.
        warnings.simplefilter("ignore", RuntimeWarning)
        score_low = np.nanpercentile(scores, tail, axis=0)
        score_high = np.nanpercentile(scores, 100 - tail, axis=0)
        seats_low = np.floor(np.nanpercentile(seats, tail, axis=0))
        seats_high = np.ceil(np.nanpercentile(seats, 100 - tail, axis=0))
    return pd.DataFrame(
        {
            "score_low": score_low,
            "score_high": score_high,
            "seats_low": pd.array(seats_low, dtype="Float64").astype("Int64"),
            "seats_high": pd.array(seats_high, dtype="Float64").astype("Int64"),
        },
        index=parties,
    )


def bootstrap_draws(
    combos: Combos,
    parties: list[str],
    methods: list[SeatMethod],
    *,
    total: int,
    n_resamples: int,
    seed: int = 0,
    jobs: int = 1,
    correction: ConfusionCorrection | None = None,
) -> BootstrapDraws:
    """Resample the tweets ``n_resamples`` times and score each resample with every method.

    Parameters
    ----------
    combos : Counter
        Tweet counts per (parties, predicted label).
    parties : list of str
        The parties, in report order.
    methods : list of SeatMethod
        Score and seat-rule combinations to evaluate on every resample.
    total : int
        Seats to allocate.
    n_resamples : int
        Number of resamples, at least 1.
    seed : int, default=0
        Seed of the random generator; the same seed and ``jobs`` give the same draws.
    jobs : int, default=1
        Parallel joblib workers. The resamples are split into blocks with seeds spawned from
        ``seed``, so the draws do not depend on which worker runs a block.
    correction : ConfusionCorrection, default=None
        When given, each resample's labels are corrected for classifier errors.

    Raises
    ------
    DataError
        If there are no tweets to resample.
    """
    categories = list(combos)
    counts = np.array([combos[category] for category in categories], dtype=np.float64)
    if counts.sum() == 0:
        raise DataError("there are no attributed tweets to resample")
    if n_resamples < 1:
        raise ConfigError(f"`bootstrap.n_resamples` must be at least 1 here; got {n_resamples}")
    # The block layout depends only on n_resamples, so that any `jobs` gives the same draws.
    blocks = max(1, min(8, n_resamples // _MIN_BLOCK))
    sizes = [n_resamples // blocks + (1 if i < n_resamples % blocks else 0) for i in range(blocks)]
    seeds = np.random.SeedSequence(seed).spawn(blocks)
    if correction is None:
        # Without a correction a resample takes a fraction of a millisecond, far less than
        # starting worker processes; the draws are the same either way.
        jobs = 1
    results = Parallel(n_jobs=jobs)(
        delayed(_bootstrap_block)(categories, counts, parties, methods, total, correction, s, n)
        for s, n in zip(seeds, sizes, strict=True)
    )
    return BootstrapDraws(
        methods=list(methods),
        parties=list(parties),
        scores=np.concatenate([block[0] for block in results]),
        seats=np.concatenate([block[1] for block in results]),
    )


def bootstrap_intervals(
    combos: Combos,
    parties: list[str],
    *,
    score: str,
    rule: str,
    total: int,
    k: float,
    n_resamples: int,
    confidence: float,
    seed: int = 0,
    jobs: int = 1,
    correction: ConfusionCorrection | None = None,
) -> pd.DataFrame:
    """Resample the tweets ``n_resamples`` times and return percentile intervals.

    Returns a frame indexed by party with ``score_low``, ``score_high``, ``seats_low`` and
    ``seats_high`` at the given two-sided ``confidence``; an empty frame when
    ``n_resamples`` is 0 or there are no tweets.
    """
    if n_resamples == 0 or sum(combos.values()) == 0:
        return pd.DataFrame(index=parties)
    method = SeatMethod(score=score, rule=rule, k=k)
    draws = bootstrap_draws(
        combos,
        parties,
        [method],
        total=total,
        n_resamples=n_resamples,
        seed=seed,
        jobs=jobs,
        correction=correction,
    )
    return draws.intervals(method, confidence)
