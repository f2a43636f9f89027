"""Lexicon baselines: VADER and TextBlob, turned into seatcast's labels.

Both packages are optional (``pip install 'seatcast[baselines]'``) and imported only when a
baseline runs. Each scores raw tweet text, not seatcast's tokens, as its authors intend.

Labelling rules (the thresholds are stated in ``reports/evaluation/compare.md`` too):

* VADER (vaderSentiment 3.3): the ``compound`` score. 3-class: positive at >= 0.05, negative at
  <= -0.05, neutral in between, the thresholds the VADER README recommends. Binary: positive at
  >= 0, negative below 0.
* TextBlob (0.18+, PatternAnalyzer): the ``polarity`` score. 3-class: positive above 0,
  negative below 0, neutral at exactly 0 (TextBlob returns 0.0 when no lexicon word is found).
  Binary: positive at >= 0, negative below 0.

In binary mode a score of exactly 0 (no sentiment word found) counts as positive, the majority
class of both SemEval-2017 and the TweetEval validation split.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

import numpy as np

from seatcast.errors import ConfigError

__all__ = [
    "BASELINES",
    "TEXTBLOB_NEUTRAL_BAND",
    "VADER_NEUTRAL_BAND",
    "label_scores",
    "predict_baseline",
    "textblob_scores",
    "vader_scores",
]

logger = logging.getLogger(__name__)

# Half-width of the neutral band in 3-class mode: |score| < band is neutral. TextBlob's band
# is 0, so only an exact 0.0 is neutral.
VADER_NEUTRAL_BAND = 0.05
TEXTBLOB_NEUTRAL_BAND = 0.0

_INSTALL_HINT = "install the baselines extra: pip install 'seatcast[baselines]'"


def vader_scores(texts: Sequence[str]) -> np.ndarray:
    """Return VADER's compound score (-1 to 1) for each text.

    Raises
    ------
    ConfigError
        If vaderSentiment is not installed.
    """
    try:
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer
    except ImportError:
        raise ConfigError(f"the VADER baseline needs vaderSentiment; {_INSTALL_HINT}") from None
    analyzer = SentimentIntensityAnalyzer()
    return np.fromiter(
        (analyzer.polarity_scores(text)["compound"] for text in texts),
        dtype=np.float64,
        count=len(texts),
    )


def textblob_scores(texts: Sequence[str]) -> np.ndarray:
    """Return TextBlob's polarity (-1 to 1) for each text.

    Raises
    ------
    ConfigError
        If textblob is not installed.
    """
    try:
        from textblob import TextBlob
    except ImportError:
        raise ConfigError(f"the TextBlob baseline needs textblob; {_INSTALL_HINT}") from None
    return np.fromiter(
        (TextBlob(text).sentiment.polarity for text in texts), dtype=np.float64, count=len(texts)
    )


def label_scores(scores: np.ndarray, labels: Sequence[str], neutral_band: float) -> list[str]:
    """Turn polarity scores into labels of a model's label set.

    Parameters
    ----------
    scores : ndarray
        Polarity scores, negative to positive.
    labels : sequence of str
        ``("negative", "positive")`` or ``("negative", "neutral", "positive")``.
    neutral_band : float
        In 3-class mode, scores with ``abs(score) < neutral_band`` are neutral, and with a band
        of 0 exactly 0.0 is neutral. Binary mode ignores it: 0 and above is positive.

    Raises
    ------
    ConfigError
        If ``labels`` is neither label set.
    """
    label_set = tuple(sorted(labels))
    if label_set == ("negative", "positive"):
        return np.where(scores >= 0, "positive", "negative").tolist()
    if label_set == ("negative", "neutral", "positive"):
        if neutral_band > 0:
            positive = scores >= neutral_band
            negative = scores <= -neutral_band
        else:
            positive = scores > 0
            negative = scores < 0
        return np.where(positive, "positive", np.where(negative, "negative", "neutral")).tolist()
    raise ConfigError(
        f"baseline labels must be negative/positive or negative/neutral/positive; got {labels}"
    )


BASELINES: dict[str, tuple[Callable[[Sequence[str]], np.ndarray], float, str]] = {
    "VADER": (
        vader_scores,
        VADER_NEUTRAL_BAND,
        "compound >= 0.05 positive, <= -0.05 negative, else neutral (binary: >= 0 positive)",
    ),
    "TextBlob": (
        textblob_scores,
        TEXTBLOB_NEUTRAL_BAND,
        "polarity > 0 positive, < 0 negative, 0 neutral (binary: >= 0 positive)",
    ),
}


def predict_baseline(name: str, texts: Sequence[str], labels: Sequence[str]) -> list[str]:
    """Label raw texts with the baseline ``name`` (``VADER`` or ``TextBlob``).

    Raises
    ------
    ConfigError
        If the baseline is unknown or its package is not installed.
    """
    if name not in BASELINES:
        raise ConfigError(f"`baseline` must be one of {', '.join(BASELINES)}; got {name!r}")
    score, band, _ = BASELINES[name]
    return label_scores(score(texts), labels, band)
