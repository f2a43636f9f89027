"""Sub-event discovery: topics per time window, with each party's sentiment inside each topic.

A shift in a party's score is easier to read when one can see what people were tweeting
about at the time. :func:`discover_subevents` splits an election's classified tweets into
time windows (``subevents.window``, a pandas offset such as ``1D`` or ``6h``), and in each
window with at least ``subevents.min_tweets`` tweets it

1. cleans and tokenizes the texts with :func:`seatcast.preprocess.clean` (URLs, @handles and
   numbers dropped, English stop words removed, hashtags kept);
2. weights the tokens with TF-IDF (unigrams, a term must occur in at least 2 tweets);
3. factorises the TF-IDF matrix with non-negative matrix factorisation (NMF,
   ``subevents.n_topics`` components, fixed seed) and assigns each tweet to its strongest
   topic; a tweet with no weight on any topic is left unassigned;
4. reports each topic's ``subevents.top_terms`` heaviest terms, its size and, per party, the
   positive and negative tweets and the positive ratio inside the topic.

Topics are fitted per window, so topic 0 of one day is unrelated to topic 0 of the next; the
top terms say what each one is. The texts come from the corpus files again, joined to
``predictions.csv.gz`` by file and line, so the labels are exactly those of the forecast.
"""

from __future__ import annotations

import gzip
import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.decomposition import NMF
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, TfidfVectorizer

from seatcast.config import ElectionConfig, SubeventSettings
from seatcast.errors import ConfigError, DataError
from seatcast.forecast import PREDICTION_COLUMNS, _reading_spec
from seatcast.io import RowLedger, read_rows
from seatcast.preprocess import CleanOptions, clean

__all__ = [
    "SUBEVENT_COLUMNS",
    "SubeventResult",
    "discover_subevents",
    "load_classified_tweets",
    "run_subevents",
    "write_subevents",
]

logger = logging.getLogger(__name__)

SUBEVENT_COLUMNS = [
    "window",
    "topic",
    "top_terms",
    "topic_tweets",
    "window_tweets",
    "party",
    "n_tweets",
    "n_positive",
    "n_negative",
    "positive_ratio",
]

# Cleaning for topic terms: no URL, mention or marker tokens, lower case, hashtags kept.
_TOPIC_OPTIONS = CleanOptions(
    lowercase=True,
    urls="remove",
    mentions="remove",
    hashtags="keep",
    mark_elongation=False,
    mark_allcaps=False,
)

# Tokens that carry no topic: English stop words, retweet and HTML leftovers.
_STOP_TOKENS = frozenset(ENGLISH_STOP_WORDS) | {"rt", "amp", "via", "…", "...", "u", "im"}


def _topic_tokens(text: str) -> list[str]:
    tokens = []
    for token in clean(text, _TOPIC_OPTIONS):
        word = token.lstrip("#")
        if len(word) < 2 or token in _STOP_TOKENS or word in _STOP_TOKENS:
            continue
        if not any(character.isalpha() for character in word):
            continue
        tokens.append(token)
    return tokens


def _check_window(window: str) -> pd.Timedelta:
    """Return the window as a fixed length; calendar offsets such as ``1M`` are rejected."""
    try:
        length = pd.Timedelta(pd.tseries.frequencies.to_offset(window))
    except ValueError:
        length = None
    if length is None or length <= pd.Timedelta(0):
        raise ConfigError(
            "`subevents.window` must be a fixed-length pandas offset such as 1D, 12h or 30min; "
            f"got {window!r}"
        )
    return length


def load_classified_tweets(
    config: ElectionConfig, root: Path, predictions_path: Path
) -> pd.DataFrame:
    """Join ``predictions.csv.gz`` to the corpus texts by file and line.

    Returns one row per classified tweet with the prediction columns, ``parties`` as a tuple,
    ``date`` as a UTC timestamp and ``text``.

    Raises
    ------
    DataError
        If the predictions file is missing, lacks the date column or has no dated tweet.
    """
    if not predictions_path.is_file():
        raise DataError(
            f"predictions file not found: {predictions_path}; run `seatcast predict` first"
        )
    with gzip.open(predictions_path, "rt", encoding="utf-8") as handle:
        frame = pd.read_csv(handle, dtype=str, keep_default_na=False)
    missing = [column for column in PREDICTION_COLUMNS[:6] if column not in frame.columns]
    if missing:
        raise DataError(
            f"{predictions_path} has no column {missing[0]!r}; it was written by an older "
            "seatcast, so run `seatcast predict` again"
        )
    frame["line"] = frame["line"].astype(int)
    frame["date"] = pd.to_datetime(frame["date"], errors="coerce", utc=True, format="ISO8601")
    frame = frame[frame["date"].notna()]
    if frame.empty:
        raise DataError(
            f"no tweet in {predictions_path} has a date; set `date_column` on the corpus sources"
        )
    wanted = set(zip(frame["file"], frame["line"], strict=True))
    texts: dict[tuple[str, int], str] = {}
    ledger = RowLedger()
    for spec in config.corpus:
        for line, text, _, _ in read_rows(
            _reading_spec(spec),
            root=root,
            ledger=ledger,
            labelled=spec.label_column is not None,
            limits=config.limits,
        ):
            key = (str(spec.path), line)
            if key in wanted:
                texts[key] = text
    frame["text"] = [texts.get(key, "") for key in zip(frame["file"], frame["line"], strict=True)]
    lost = int((frame["text"] == "").sum())
    if lost:
        logger.warning(
            "%d classified tweets were not found in the corpus files (changed since predict?); "
            "they are left out of the topics",
            lost,
        )
        frame = frame[frame["text"] != ""]
    frame["parties"] = frame["parties"].map(lambda value: tuple(value.split("|")) if value else ())
    return frame.reset_index(drop=True)


@dataclass
class SubeventResult:
    """Topics per window (long table, one row per topic and party) and the window totals."""

    table: pd.DataFrame
    windows: pd.DataFrame
    parties: list[str]
    settings: SubeventSettings


def _fit_topics(texts: list[str], settings: SubeventSettings, seed: int):
    vectorizer = TfidfVectorizer(analyzer=_topic_tokens, min_df=2, sublinear_tf=True)
    try:
        matrix = vectorizer.fit_transform(texts)
    except ValueError:
        # Every term occurs in one tweet only: nothing to group.
        return None, None
    n_topics = min(settings.n_topics, matrix.shape[0], matrix.shape[1])
    model = NMF(n_components=n_topics, init="nndsvda", random_state=seed, max_iter=400)
    weights = model.fit_transform(matrix)
    terms = np.array(vectorizer.get_feature_names_out())
    top_terms = [
        " ".join(terms[np.argsort(-component)[: settings.top_terms]])
        for component in model.components_
    ]
    assignment = np.where(weights.max(axis=1) > 0, weights.argmax(axis=1), -1)
    return assignment, top_terms


def discover_subevents(
    tweets: pd.DataFrame, parties: list[str], settings: SubeventSettings, *, seed: int = 0
) -> SubeventResult:
    """Find topics per time window and each party's sentiment inside each topic.

    Parameters
    ----------
    tweets : pandas.DataFrame
        One row per classified tweet with ``date`` (UTC timestamps), ``text``, ``label`` and
        ``parties`` (tuples), as from :func:`load_classified_tweets`.
    parties : list of str
        The parties, in report order.
    settings : SubeventSettings
        Window, number of topics, number of top terms and the minimum tweets per window.
    seed : int, default=0
        Seed of the NMF initialisation.

    Returns
    -------
    SubeventResult
        ``table`` has :data:`SUBEVENT_COLUMNS`; ``windows`` has one row per window and party
        with the party's tweets, positives, negatives and positive ratio, and whether topics
        were fitted in that window.
    """
    length = _check_window(settings.window)
    tweets = tweets.assign(window=tweets["date"].dt.floor(length))
    rows: list[dict] = []
    window_rows: list[dict] = []
    for window, part in tweets.groupby("window", sort=True):
        fitted = len(part) >= settings.min_tweets
        assignment = top_terms = None
        if fitted:
            assignment, top_terms = _fit_topics(part["text"].tolist(), settings, seed)
            fitted = assignment is not None
        for party in parties:
            mask = part["parties"].map(lambda value, name=party: name in value).to_numpy()
            window_rows.append(
                {
                    "window": window,
                    "party": party,
                    "topics_fitted": fitted,
                    "window_tweets": len(part),
                    **_sentiment(part[mask]),
                }
            )
        if not fitted:
            continue
        for topic, terms in enumerate(top_terms):
            in_topic = part[assignment == topic]
            for party in parties:
                mask = in_topic["parties"].map(lambda value, name=party: name in value).to_numpy()
                rows.append(
                    {
                        "window": window,
                        "topic": topic,
                        "top_terms": terms,
                        "topic_tweets": len(in_topic),
                        "window_tweets": len(part),
                        "party": party,
                        **_sentiment(in_topic[mask]),
                    }
                )
    table = pd.DataFrame(rows, columns=SUBEVENT_COLUMNS)
    windows = pd.DataFrame(window_rows)
    n_windows = int(windows["topics_fitted"].sum() / max(len(parties), 1)) if len(windows) else 0
    logger.info(
        "Sub-events: %d windows of %s, topics fitted in %d (min_tweets %d)",
        tweets["window"].nunique(),
        settings.window,
        n_windows,
        settings.min_tweets,
    )
    return SubeventResult(table=table, windows=windows, parties=parties, settings=settings)


def _sentiment(part: pd.DataFrame) -> dict:
    positive = int((part["label"] == "positive").sum())
    negative = int((part["label"] == "negative").sum())
    return {
        "n_tweets": len(part),
        "n_positive": positive,
        "n_negative": negative,
        "positive_ratio": positive / (positive + negative) if positive + negative else np.nan,
    }


def _plot_label(terms: str) -> str:
    """Return the first two Latin-script terms for a bar label.

    Matplotlib's default font (DejaVu Sans) has no Devanagari or Telugu glyphs, so such terms
    would show as boxes; subevents.md and subevents.csv keep every term.
    """
    latin = [term for term in terms.split() if all(ord(c) < 0x250 for c in term)]
    return "\n".join(latin[:2]) if latin else "(non-Latin terms)"


def _plot(path: Path, result: SubeventResult, title: str) -> Path:
    from seatcast.backtest_report import _pyplot, _save

    plt = _pyplot()
    windows = result.windows
    figure, (top, bottom) = plt.subplots(
        2,
        1,
        figsize=(max(10, 1.3 * result.windows["window"].nunique()), 8),
        sharex=True,
        gridspec_kw={"height_ratios": [1, 1.6]},
    )
    starts = sorted(windows["window"].unique())
    positions = {window: i for i, window in enumerate(starts)}
    for party in result.parties:
        part = windows[windows["party"] == party]
        top.plot(
            [positions[w] for w in part["window"]], part["positive_ratio"], marker="o", label=party
        )
    top.set_ylabel("positive ratio")
    top.set_title(title)
    top.legend(fontsize=7, ncol=min(5, len(result.parties)))
    top.grid(alpha=0.3)
    topics = result.table.drop_duplicates(["window", "topic"])
    for window, part in topics.groupby("window", sort=True):
        base = 0
        x = positions[window]
        for record in part.sort_values("topic_tweets", ascending=False).itertuples(index=False):
            bottom.bar(x, record.topic_tweets, 0.8, bottom=base, edgecolor="white")
            if record.topic_tweets >= 0.12 * record.window_tweets:
                label = _plot_label(record.top_terms)
                bottom.text(
                    x, base + record.topic_tweets / 2, label, ha="center", va="center", fontsize=5.5
                )
            base += record.topic_tweets
    unfitted = windows.drop_duplicates("window")
    unfitted = unfitted[~unfitted["topics_fitted"]]
    bottom.bar(
        [positions[w] for w in unfitted["window"]],
        unfitted["window_tweets"],
        0.8,
        color="lightgrey",
        label="too few tweets for topics",
    )
    if not unfitted.empty:
        bottom.legend(fontsize=7)
    bottom.set_ylabel("tweets per topic")
    bottom.set_xticks(
        range(len(starts)),
        [pd.Timestamp(w).strftime("%m-%d %H:%M") for w in starts],
        rotation=45,
        ha="right",
        fontsize=7,
    )
    bottom.grid(axis="y", alpha=0.3)
    return _save(figure, path)


def _markdown(result: SubeventResult, name: str) -> str:
    lines = [
        f"# Sub-events: {name}",
        "",
        f"Window {result.settings.window}, up to {result.settings.n_topics} NMF topics per window "
        f"with at least {result.settings.min_tweets} tweets. Per party: positive/negative "
        "tweets inside the topic (positive ratio).",
        "",
    ]
    for window, part in result.table.groupby("window", sort=True):
        lines += [f"## {pd.Timestamp(window).strftime('%Y-%m-%d %H:%M')} UTC", ""]
        topics = part.drop_duplicates("topic").sort_values("topic_tweets", ascending=False)
        for record in topics.itertuples(index=False):
            per_party = part[(part["topic"] == record.topic) & (part["n_tweets"] > 0)]
            sentiment = ", ".join(
                f"{row.party} {row.n_positive}/{row.n_negative}"
                + ("" if pd.isna(row.positive_ratio) else f" ({row.positive_ratio:.2f})")
                for row in per_party.itertuples(index=False)
            )
            lines.append(
                f"- topic {record.topic} ({record.topic_tweets} of {record.window_tweets} tweets): "
                f"**{record.top_terms}**; {sentiment}"
            )
        lines.append("")
    return "\n".join(lines)


def write_subevents(result: SubeventResult, report_dir: Path, name: str) -> dict[str, Path]:
    """Write subevents.csv, subevents_windows.csv, subevents.md and subevents.png."""
    from seatcast.report import write_csv, write_text

    table = result.table.assign(window=result.table["window"].astype(str))
    windows = result.windows.assign(window=result.windows["window"].astype(str))
    return {
        "subevents.csv": write_csv(report_dir / "subevents.csv", table),
        "subevents_windows.csv": write_csv(report_dir / "subevents_windows.csv", windows),
        "subevents.md": write_text(report_dir / "subevents.md", _markdown(result, name)),
        "subevents.png": _plot(
            report_dir / "subevents.png", result, f"{name}: sentiment and topics over time"
        ),
    }


def run_subevents(config: ElectionConfig, root: Path, report_dir: Path) -> dict[str, Path]:
    """Load the classified tweets of ``report_dir/predictions.csv.gz``, find the sub-events
    and write them to ``report_dir``."""
    tweets = load_classified_tweets(config, root, report_dir / "predictions.csv.gz")
    parties = [party.name for party in config.parties]
    result = discover_subevents(tweets, parties, config.subevents)
    return write_subevents(result, report_dir, config.name or "election")
