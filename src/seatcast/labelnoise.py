"""Label noise: how far classifier errors move each party's score.

A corpus with gold labels (a source with ``label_column``) and a party per tweet is classified
like any forecast corpus (:func:`seatcast.forecast.run_forecast`). Each party's score is then
computed twice, from the gold labels and from the predicted labels, on the same tweets:

* ``polar`` rows use only tweets whose gold label is positive or negative, the classes of a
  binary model. The difference is the classifier's own error.
* ``all`` rows use every tweet: the predicted side counts all of them, as a forecast does,
  while the gold side ignores gold-neutral tweets. The difference adds the error of forcing
  neutral tweets into positive or negative.

The shift ``pss_predicted - pss_gold`` gets a bootstrap interval (tweets resampled with gold
and predicted labels kept together) so that it can be compared with plain sampling noise.

The confusion matrix on the gold-polar tweets is written as JSON for
``bootstrap.confusion_matrix``. To check that the correction helps out of sample, the tweets
are split in two halves by line number; the matrix measured on one half corrects the
predicted counts of the other (``pss_corrected``).
"""

from __future__ import annotations

import gzip
import logging
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from seatcast.bootstrap import ConfusionCorrection, count_table
from seatcast.config import ElectionConfig
from seatcast.errors import ConfigError, DataError
from seatcast.forecast import ForecastResult, run_forecast
from seatcast.model import LoadedModel
from seatcast.scores import compute_scores

__all__ = ["LabelNoiseResult", "confusion_counts", "label_noise_table", "run_label_noise"]

logger = logging.getLogger(__name__)

POLAR = ("negative", "positive")


@dataclass
class LabelNoiseResult:
    """The per-party shifts, the measured confusion matrix and the forecast run behind them."""

    name: str
    table: pd.DataFrame
    matrix: dict
    forecast: ForecastResult
    n_resamples: int
    confidence: float


def confusion_counts(frame: pd.DataFrame, labels=POLAR) -> np.ndarray:
    """Count tweets per (gold, predicted) label: rows gold, columns predicted."""
    matrix = np.zeros((len(labels), len(labels)), dtype=np.int64)
    index = {label: i for i, label in enumerate(labels)}
    pairs = Counter(zip(frame["gold_label"], frame["label"], strict=True))
    for (gold, predicted), n in pairs.items():
        if gold in index and predicted in index:
            matrix[index[gold], index[predicted]] += n
    return matrix


def _scores(frame: pd.DataFrame, column: str, parties: list[str]) -> pd.Series:
    combos: Counter = Counter()
    for parties_of, label in zip(frame["parties"], frame[column], strict=True):
        combos[(parties_of, label)] += 1
    return compute_scores(count_table(combos, parties), method="pss")


def _counts(frame: pd.DataFrame, column: str, parties: list[str]) -> pd.DataFrame:
    combos: Counter = Counter(zip(frame["parties"], frame[column], strict=True))
    return count_table(combos, parties).set_index("party")


def _cross_fitted(frame: pd.DataFrame, parties: list[str]) -> pd.Series:
    """PSS from predicted labels corrected, in each half, with the other half's matrix."""
    halves = frame["line"] % 2
    corrected: Counter = Counter()
    for half in (0, 1):
        measure = frame[(halves != half) & frame["gold_label"].isin(POLAR)]
        apply = frame[halves == half]
        correction = ConfusionCorrection(POLAR, confusion_counts(measure), method="inverse")
        combos = Counter(zip(apply["parties"], apply["label"], strict=True))
        corrected.update(correction.correct(combos))
    return compute_scores(count_table(corrected, parties), method="pss")


def _shift_interval(frame, parties, n_resamples, confidence, seed) -> tuple[np.ndarray, np.ndarray]:
    """Percentile interval of pss_predicted - pss_gold per party over tweet resamples."""
    if n_resamples == 0 or frame.empty:
        nan = np.full(len(parties), np.nan)
        return nan, nan
    generator = np.random.default_rng(seed)
    member = np.array([[party in p for party in parties] for p in frame["parties"]], dtype=float)
    gold_positive = (frame["gold_label"] == "positive").to_numpy(dtype=float)
    predicted_positive = (frame["label"] == "positive").to_numpy(dtype=float)
    shifts = np.empty((n_resamples, len(parties)))
    for b in range(n_resamples):
        weights = np.bincount(generator.integers(0, len(frame), len(frame)), minlength=len(frame))
        gold = (member * (weights * gold_positive)[:, None]).sum(axis=0)
        predicted = (member * (weights * predicted_positive)[:, None]).sum(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            shifts[b] = predicted / predicted.sum() - gold / gold.sum()
    tail = (1 - confidence) / 2 * 100
    return np.nanpercentile(shifts, tail, axis=0), np.nanpercentile(shifts, 100 - tail, axis=0)


def label_noise_table(
    frame: pd.DataFrame,
    parties: list[str],
    *,
    n_resamples: int = 1000,
    confidence: float = 0.9,
    seed: int = 0,
) -> pd.DataFrame:
    """Compare gold and predicted PSS per party on the tweets of ``frame``.

    Parameters
    ----------
    frame : pandas.DataFrame
        One row per tweet with ``line``, ``parties`` (a tuple), ``label`` (predicted) and
        ``gold_label``.
    parties : list of str
        The parties, in report order.
    n_resamples : int, default=1000
        Bootstrap resamples for the interval of the shift (0 turns it off).
    confidence : float, default=0.9
        Two-sided level of the interval.
    seed : int, default=0
        Seed of the resampling.

    Returns
    -------
    pandas.DataFrame
        Rows per ``subset`` (``polar`` then ``all``) and party, with tweet counts, gold and
        predicted positives, ``pss_gold``, ``pss_predicted``, ``pss_shift`` with its interval,
        ``pss_corrected`` (cross-fitted, ``polar`` only) and ``corrected_shift``.
    """
    rows = []
    polar = frame[frame["gold_label"].isin(POLAR)]
    for subset, part in (("polar", polar), ("all", frame)):
        if part.empty:
            continue
        gold = _scores(part, "gold_label", parties)
        predicted = _scores(part, "label", parties)
        gold_counts = _counts(part, "gold_label", parties)
        predicted_counts = _counts(part, "label", parties)
        low, high = _shift_interval(part, parties, n_resamples, confidence, seed)
        corrected = _cross_fitted(part, parties) if subset == "polar" else None
        for i, party in enumerate(parties):
            row = {
                "subset": subset,
                "party": party,
                "n_tweets": int(gold_counts.loc[party, "n_tweets"]),
                "n_positive_gold": int(gold_counts.loc[party, "n_positive"]),
                "n_positive_predicted": int(predicted_counts.loc[party, "n_positive"]),
                "pss_gold": gold[party],
                "pss_predicted": predicted[party],
                "pss_shift": predicted[party] - gold[party],
                "pss_shift_low": low[i],
                "pss_shift_high": high[i],
                "pss_corrected": corrected[party] if corrected is not None else np.nan,
            }
            row["corrected_shift"] = row["pss_corrected"] - row["pss_gold"]
            rows.append(row)
    return pd.DataFrame(rows)


def _read_predictions(path: Path) -> pd.DataFrame:
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        frame = pd.read_csv(
            handle, dtype={"gold_label": str, "parties": str}, keep_default_na=False
        )
    frame["parties"] = frame["parties"].map(lambda value: tuple(value.split("|")) if value else ())
    return frame


def run_label_noise(
    config: ElectionConfig,
    root: Path,
    predictions_path: Path,
    *,
    model: LoadedModel | None = None,
    progress=None,
    n_resamples: int | None = None,
    seed: int = 0,
) -> LabelNoiseResult:
    """Classify a gold-labelled corpus and measure how classifier errors shift each party's PSS.

    Raises
    ------
    ConfigError
        If no corpus source has a ``label_column``, or the model is not binary.
    DataError
        If no attributed tweet has a positive or negative gold label.
    """
    if not any(spec.label_column for spec in config.corpus):
        raise ConfigError(
            "label noise needs gold labels: set `label_column` on a corpus source (for the GOP "
            "debate tweets, `label_column: sentiment`)"
        )
    forecast = run_forecast(
        config,
        root,
        model=model,
        predictions_path=predictions_path,
        progress=progress,
        n_resamples=0,
    )
    if tuple(sorted(forecast.model_labels)) != POLAR:
        raise ConfigError(
            f"label noise compares positive and negative labels, so it needs a binary model; "
            f"the model predicts {list(forecast.model_labels)}"
        )
    frame = _read_predictions(predictions_path)
    frame = frame[frame["gold_label"] != ""]
    polar = frame[frame["gold_label"].isin(POLAR)]
    if polar.empty:
        raise DataError(
            "no attributed tweet has a positive or negative gold label, so there is nothing to "
            "compare; check `label_column` and `label_map`"
        )
    resamples = config.bootstrap.n_resamples if n_resamples is None else n_resamples
    table = label_noise_table(
        frame,
        forecast.parties,
        n_resamples=resamples,
        confidence=config.bootstrap.confidence,
        seed=seed,
    )
    counts = confusion_counts(polar)
    model_path = Path(config.model)
    matrix = {
        "labels": list(POLAR),
        "matrix": counts.tolist(),
        "rows": "gold (true) label",
        "columns": "predicted label",
        "n_tweets": int(counts.sum()),
        "accuracy": float(np.trace(counts) / counts.sum()),
        "recall": {
            label: float(counts[i, i] / counts[i].sum()) if counts[i].sum() else None
            for i, label in enumerate(POLAR)
        },
        "gold_label_shares": {
            label: float(counts[i].sum() / counts.sum()) for i, label in enumerate(POLAR)
        },
        "corpus": [str(spec.path) for spec in config.corpus],
        "model": str(model_path),
    }
    logger.info(
        "Label noise: %d gold-polar tweets, accuracy %.3f", matrix["n_tweets"], matrix["accuracy"]
    )
    return LabelNoiseResult(
        name=config.name or "election",
        table=table,
        matrix=matrix,
        forecast=forecast,
        n_resamples=resamples,
        confidence=config.bootstrap.confidence,
    )


def _plot(path: Path, table: pd.DataFrame, title: str) -> Path:
    from seatcast.backtest_report import _pyplot, _save

    plt = _pyplot()
    polar = table[table["subset"] == "polar"].reset_index(drop=True)
    figure, axes = plt.subplots(figsize=(max(6, 0.9 * len(polar)), 4))
    positions = np.arange(len(polar))
    width = 0.27
    axes.bar(positions - width, polar["pss_gold"], width, label="gold labels")
    shift_error = [
        np.nan_to_num(polar["pss_shift"] - polar["pss_shift_low"]),
        np.nan_to_num(polar["pss_shift_high"] - polar["pss_shift"]),
    ]
    axes.bar(
        positions,
        polar["pss_predicted"],
        width,
        yerr=shift_error,
        capsize=2,
        label="predicted labels (bar: interval of the shift)",
    )
    axes.bar(positions + width, polar["pss_corrected"], width, label="predicted, corrected")
    axes.set_xticks(positions, polar["party"], rotation=30, ha="right")
    axes.set_ylabel("PSS (share of positive tweets)")
    axes.set_title(title)
    axes.legend(fontsize=8)
    axes.grid(axis="y", alpha=0.3)
    return _save(figure, path)


def _markdown(result: LabelNoiseResult) -> str:
    from seatcast.backtest_report import markdown_table

    matrix = result.matrix
    counts = matrix["matrix"]
    forecast = result.forecast
    polar = result.table[result.table["subset"] == "polar"]
    every = result.table[result.table["subset"] == "all"]
    lines = [
        f"# Label noise: {result.name}",
        "",
        f"Tweets used: {forecast.ledger.rows_used} of {forecast.ledger.rows_read} read "
        f"(retweets dropped: {forecast.cleaning.retweets}, duplicates dropped: "
        f"{forecast.cleaning.exact_duplicates + forecast.cleaning.near_duplicates}, matching no "
        f"party: {forecast.cleaning.unmatched}). Model: {matrix['model']}.",
        "",
        "## Confusion matrix on gold-polar tweets (rows gold, columns predicted)",
        "",
        "| gold \\ predicted | negative | positive |",
        "|---|---|---|",
        f"| negative | {counts[0][0]} | {counts[0][1]} |",
        f"| positive | {counts[1][0]} | {counts[1][1]} |",
        "",
        f"Accuracy {matrix['accuracy']:.3f} on {matrix['n_tweets']} tweets; recall negative "
        f"{matrix['recall']['negative']:.3f}, positive {matrix['recall']['positive']:.3f}.",
        "",
        "## PSS from gold and predicted labels, gold-polar tweets",
        "",
        f"Shift = predicted - gold; its interval is {result.confidence:.0%} over "
        f"{result.n_resamples} tweet resamples. `pss_corrected` corrects the predicted counts of "
        "each half of the tweets with the confusion matrix of the other half (inverse method).",
        "",
        markdown_table(polar.drop(columns="subset")),
        "",
        f"Mean absolute PSS shift: {polar['pss_shift'].abs().mean():.4f}; after correction: "
        f"{polar['corrected_shift'].abs().mean():.4f}; largest: "
        f"{polar['pss_shift'].abs().max():.4f}.",
        "",
        "## All tweets (gold neutral included on the predicted side)",
        "",
        markdown_table(every.drop(columns=["subset", "pss_corrected", "corrected_shift"])),
        "",
        f"Mean absolute PSS shift: {every['pss_shift'].abs().mean():.4f}.",
        "",
    ]
    return "\n".join(lines)


def write_label_noise(result: LabelNoiseResult, report_dir: Path) -> dict[str, Path]:
    """Write label_noise.csv, label_noise.md, label_noise.png and confusion_matrix.json."""
    from seatcast.report import write_csv, write_json, write_text

    return {
        "label_noise.csv": write_csv(report_dir / "label_noise.csv", result.table),
        "label_noise.md": write_text(report_dir / "label_noise.md", _markdown(result)),
        "confusion_matrix.json": write_json(report_dir / "confusion_matrix.json", result.matrix),
        "label_noise.png": _plot(
            report_dir / "label_noise.png", result.table, f"{result.name}: PSS, gold vs predicted"
        ),
        "summary.json": write_json(
            report_dir / "label_noise_summary.json", result.forecast.summary()
        ),
    }
