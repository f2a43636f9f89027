"""One forecast run: read, filter, classify, attribute, count, score, allocate and resample.

:func:`run_forecast` streams an election corpus in chunks. For each chunk it leaves out
retweets, duplicates and tweets over the per-user cap, attributes the rest to parties, and
sends their texts to the worker pool, which cleans and classifies them. Per-tweet predictions
are written as they arrive. What is kept in memory is bounded by the number of distinct
tweets (for duplicate detection, 12 bytes each) and by the count tables, whatever the corpus
size.

Counts become party scores (:mod:`seatcast.scores`) and scores become seats
(:mod:`seatcast.seats`). The bootstrap resamples tweets with replacement: since a forecast
depends on the tweets only through the count of each (parties, label) combination, drawing
those counts from a multinomial distribution is the same as resampling the tweets, and costs
nothing per tweet.
"""

from __future__ import annotations

import contextlib
import csv
import gzip
import hashlib
import logging
import warnings
from collections import Counter, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from joblib import Parallel, delayed

from seatcast.attribution import PartyMatcher
from seatcast.config import ElectionConfig, ResultsSpec
from seatcast.errors import ConfigError, DataError
from seatcast.io import RowLedger, read_chunks
from seatcast.model import LoadedModel, load_model, score_chunk
from seatcast.parallel import ordered_map
from seatcast.preprocess import is_retweet, normalize_for_match
from seatcast.scores import allocation_weights, compute_scores
from seatcast.seats import allocate_seats

__all__ = [
    "ForecastResult",
    "allocate_from_counts",
    "bootstrap_intervals",
    "count_table",
    "load_results",
    "run_forecast",
]

logger = logging.getLogger(__name__)

EXCLUDED_RETWEET = "retweet"
EXCLUDED_DUPLICATE = "duplicate tweet"
EXCLUDED_USER_CAP = "over the per-user tweet cap"
EXCLUDED_UNMATCHED = "matches no party"
EXCLUDED_MULTIPLE = "matches several parties (multi_party: drop)"
EXCLUDED_UNCERTAIN = "classifier confidence below min_confidence"
EXCLUDED_NEUTRAL = "neutral prediction"


@dataclass
class ForecastResult:
    """Everything a forecast run produced, before it is written out."""

    name: str
    table: pd.DataFrame
    combos: Counter[tuple[tuple[str, ...], str]]
    ledger: RowLedger
    parties: list[str]
    total_seats: int
    score: str
    rule: str
    k: float
    by_state: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    by_date: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    model_labels: tuple[str, ...] = ()

    def summary(self) -> dict[str, Any]:
        """Return the run's counts and settings as a JSON-ready dict."""
        return {
            "election": self.name,
            "score": self.score,
            "rule": self.rule,
            "k": self.k if self.rule == "power" else None,
            "total_seats": self.total_seats,
            "rows": self.ledger.summary(),
        }


def count_table(combos: Counter[tuple[tuple[str, ...], str]], parties: list[str]) -> pd.DataFrame:
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


def _bootstrap_block(categories, counts, parties, score, rule, total, k, seed, size):
    generator = np.random.default_rng(seed)
    n_total = int(counts.sum())
    probabilities = counts / n_total
    scores_out = np.empty((size, len(parties)))
    seats_out = np.empty((size, len(parties)))
    for b in range(size):
        draw = generator.multinomial(n_total, probabilities)
        sample = Counter(
            {category: int(n) for category, n in zip(categories, draw, strict=True) if n}
        )
        table = count_table(sample, parties)
        try:
            with warnings.catch_warnings():
                # A party with no positive or negative tweets in a resample gets weight 0;
                # allocation_weights warns about that, once per resample, which is noise here.
                warnings.simplefilter("ignore", UserWarning)
                scores, seats = allocate_from_counts(
                    table, score=score, rule=rule, total=total, k=k
                )
        except DataError:
            # A resample with no usable tweets for any party gives no forecast; mark it.
            scores_out[b] = np.nan
            seats_out[b] = np.nan
            continue
        scores_out[b] = [scores[party] for party in parties]
        seats_out[b] = [seats[party] for party in parties]
    return scores_out, seats_out


def bootstrap_intervals(
    combos: Counter[tuple[tuple[str, ...], str]],
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
) -> pd.DataFrame:
    """Resample the tweets ``n_resamples`` times and return percentile intervals.

    Returns a frame indexed by party with ``score_low``, ``score_high``, ``seats_low`` and
    ``seats_high`` at the given two-sided ``confidence``.
    """
    categories = list(combos)
    counts = np.array([combos[category] for category in categories], dtype=np.float64)
    if n_resamples == 0 or counts.sum() == 0:
        return pd.DataFrame(index=parties)
    blocks = max(1, min(jobs * 4, n_resamples // 50))
    sizes = [n_resamples // blocks + (1 if i < n_resamples % blocks else 0) for i in range(blocks)]
    seeds = np.random.SeedSequence(seed).spawn(blocks)
    results = Parallel(n_jobs=jobs)(
        delayed(_bootstrap_block)(categories, counts, parties, score, rule, total, k, s, n)
        for s, n in zip(seeds, sizes, strict=True)
    )
    scores = np.vstack([block[0] for block in results])
    seats = np.vstack([block[1] for block in results])
    tail = (1 - confidence) / 2 * 100
    return pd.DataFrame(
        {
            "score_low": np.nanpercentile(scores, tail, axis=0),
            "score_high": np.nanpercentile(scores, 100 - tail, axis=0),
            "seats_low": np.floor(np.nanpercentile(seats, tail, axis=0)).astype(int),
            "seats_high": np.ceil(np.nanpercentile(seats, 100 - tail, axis=0)).astype(int),
        },
        index=parties,
    )


def load_results(spec: ResultsSpec, root: Path) -> pd.DataFrame:
    """Read an actual-results file as ``party, seats_actual[, vote_share_actual]``."""
    path = Path(spec.path)
    path = path if path.is_absolute() else root / path
    if not path.is_file():
        raise DataError(f"results file not found: {path}. Fix `results.path` in the config.")
    try:
        frame = pd.read_csv(path, encoding="utf-8-sig")
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as error:
        raise DataError(f"cannot read results file {path}: {error}") from None
    wanted = [spec.party_column, spec.seats_column]
    if spec.vote_share_column and spec.vote_share_column in frame.columns:
        wanted.append(spec.vote_share_column)
    missing = [column for column in wanted if column not in frame.columns]
    if missing:
        raise ConfigError(
            f"column {missing[0]!r} not found in results file {path}; its columns are "
            f"{', '.join(frame.columns)}. Fix `results` in the config."
        )
    result = frame[wanted].rename(
        columns={
            spec.party_column: "party",
            spec.seats_column: "seats_actual",
            **({spec.vote_share_column: "vote_share_actual"} if spec.vote_share_column else {}),
        }
    )
    if not pd.api.types.is_numeric_dtype(result["seats_actual"]):
        raise DataError(f"results file {path}: `{spec.seats_column}` must hold whole numbers.")
    result["party"] = result["party"].astype(str)
    return result


class _Stream:
    """Reads the corpus and filters rows before they go to the workers."""

    def __init__(self, config: ElectionConfig, root: Path, ledger: RowLedger):
        self.config = config
        self.root = root
        self.ledger = ledger
        self.matcher = PartyMatcher(
            config.parties, by=config.attribution.by, multi_party=config.attribution.multi_party
        )
        self.seen: set[bytes] = set()
        self.per_user: Counter[str] = Counter()
        # Metadata of the kept rows of each chunk, in the order their results will arrive.
        self.kept: deque[tuple[str, list[int], list[tuple[str, ...]], list[str], list[str]]] = (
            deque()
        )

    def _key(self, text: str) -> bytes:
        mode = self.config.cleaning.duplicates
        basis = normalize_for_match(text) if mode == "near" else text
        return hashlib.blake2b(basis.encode("utf-8", "surrogatepass"), digest_size=12).digest()

    def items(self) -> Iterator[tuple[str, list[str]]]:
        cleaning = self.config.cleaning
        for spec in self.config.corpus:
            for chunk in read_chunks(
                spec,
                root=self.root,
                ledger=self.ledger,
                labelled=False,
                chunk_size=self.config.run.chunk_size,
                limits=self.config.limits,
            ):
                lines: list[int] = []
                texts: list[str] = []
                matched: list[tuple[str, ...]] = []
                dates: list[str] = []
                states: list[str] = []
                users = chunk.extras.get(spec.user_column or "", [])
                for i, text in enumerate(chunk.texts):
                    if cleaning.drop_retweets and is_retweet(text):
                        self.ledger.exclude(EXCLUDED_RETWEET)
                        continue
                    if cleaning.duplicates != "keep":
                        key = self._key(text)
                        if key in self.seen:
                            self.ledger.exclude(EXCLUDED_DUPLICATE)
                            continue
                        self.seen.add(key)
                    if cleaning.max_tweets_per_user is not None and users:
                        user = users[i].strip().lower()
                        if user and self.per_user[user] >= cleaning.max_tweets_per_user:
                            self.ledger.exclude(EXCLUDED_USER_CAP)
                            continue
                        self.per_user[user] += 1
                    parties, outcome = self.matcher.classify(text, spec.party)
                    if outcome == "unmatched":
                        self.ledger.exclude(EXCLUDED_UNMATCHED)
                        continue
                    if outcome == "multiple":
                        self.ledger.exclude(EXCLUDED_MULTIPLE)
                        continue
                    lines.append(chunk.lines[i])
                    texts.append(text)
                    matched.append(tuple(parties))
                    dates.append(chunk.extras[spec.date_column][i] if spec.date_column else "")
                    states.append(
                        chunk.extras[spec.location_column][i] if spec.location_column else ""
                    )
                if texts:
                    self.kept.append((chunk.source, lines, matched, dates, states))
                    yield f"{chunk.source} line {lines[0]}", texts


def _date_bucket(value: str) -> str:
    if not value:
        return ""
    stamp = pd.to_datetime(value, errors="coerce", utc=True, format="mixed")
    return "" if pd.isna(stamp) else stamp.strftime("%Y-%m-%d")


def run_forecast(
    config: ElectionConfig,
    root: Path,
    *,
    model: LoadedModel | None = None,
    predictions_path: Path | None = None,
    progress: Callable[[int], None] | None = None,
) -> ForecastResult:
    """Run one forecast for an election config.

    Parameters
    ----------
    config : ElectionConfig
        The validated election config.
    root : Path
        The folder that relative paths are resolved against.
    model : LoadedModel, default=None
        A loaded model; ``config.model`` is loaded when ``None``.
    predictions_path : Path, default=None
        Where to write one row per classified tweet (gzip CSV: file, line, parties, label,
        confidence). The file is written as results arrive, under a temporary name, and renamed
        at the end.
    progress : callable, default=None
        Called with the number of tweets classified after each chunk.

    Raises
    ------
    ModelError, DataError, ConfigError, PipelineError
        As raised by the stages.
    """
    from seatcast.report import atomic_path

    if model is None:
        model_path = Path(config.model)
        model = load_model(model_path if model_path.is_absolute() else root / model_path)
    parties = [party.name for party in config.parties]
    ledger = RowLedger()
    stream = _Stream(config, root, ledger)
    combos: Counter[tuple[tuple[str, ...], str]] = Counter()
    by_state: Counter[tuple[str, str, str]] = Counter()
    by_date: Counter[tuple[str, str, str]] = Counter()
    # Load the model into this process's cache so that forked workers inherit it.
    from seatcast.model import _MODEL_CACHE

    _MODEL_CACHE[(str(model.path), model.metadata["model_sha256"])] = model
    results = ordered_map(
        score_chunk,
        stream.items(),
        extra=(str(model.path), model.metadata["model_sha256"]),
        jobs=config.run.jobs,
        backend=config.run.backend,
        scheduler=config.run.scheduler,
    )
    target = atomic_path(predictions_path) if predictions_path else contextlib.nullcontext()
    with target as temporary:
        writer = None
        out = None
        if temporary is not None:
            out = gzip.open(temporary, "wt", encoding="utf-8", newline="")  # noqa: SIM115 - closed in finally
            writer = csv.writer(out, lineterminator="\n")
            writer.writerow(["file", "line", "parties", "label", "confidence"])
        try:
            for labels, confidences in results:
                source, lines, matched, dates, states = stream.kept.popleft()
                for line, parties_of, label, confidence, date, state in zip(
                    lines, matched, labels, confidences, dates, states, strict=True
                ):
                    if writer is not None:
                        writer.writerow(
                            [source, line, "|".join(parties_of), label, f"{confidence:.4f}"]
                        )
                    if confidence < config.min_confidence:
                        ledger.exclude(EXCLUDED_UNCERTAIN)
                        continue
                    ledger.use()
                    combos[(parties_of, label)] += 1
                    for party in parties_of:
                        if state:
                            by_state[(state, party, label)] += 1
                        if date:
                            by_date[(_date_bucket(date), party, label)] += 1
                if progress is not None:
                    progress(len(labels))
        finally:
            if out is not None:
                out.close()
        ledger.check_balanced()
        ledger.check_rejected_share(config.limits.max_rejected_share, "election corpus")
    if ledger.rows_used == 0:
        raise DataError(
            "no tweet was attributed to a party, so there is nothing to forecast; check the "
            "corpus files and each party's hashtags, handles and keywords."
        )
    counts = count_table(combos, parties)
    seat_settings = config.seats
    scores, seats = allocate_from_counts(
        counts,
        score=seat_settings.score,
        rule=seat_settings.rule,
        total=seat_settings.total,
        k=seat_settings.k,
    )
    table = counts.assign(
        pss=counts["party"].map(scores),
        seats_predicted=counts["party"].map(seats).astype("int64"),
    )
    bootstrap = config.bootstrap
    if bootstrap.n_resamples:
        logger.info("Bootstrap: %d resamples of the tweets", bootstrap.n_resamples)
        intervals = bootstrap_intervals(
            combos,
            parties,
            score=seat_settings.score,
            rule=seat_settings.rule,
            total=seat_settings.total,
            k=seat_settings.k,
            n_resamples=bootstrap.n_resamples,
            confidence=bootstrap.confidence,
            jobs=config.run.jobs,
        )
        table = table.join(intervals, on="party")
        table = table.rename(columns={"score_low": "pss_low", "score_high": "pss_high"})
    if config.results is not None:
        actual = load_results(config.results, root)
        table = table.merge(actual, on="party", how="outer")
        table["seats_predicted"] = table["seats_predicted"].fillna(0).astype("int64")
        for column in ("n_tweets", "n_positive", "n_negative"):
            table[column] = table[column].fillna(0).astype("int64")
        order = {party: i for i, party in enumerate(parties)}
        table = table.sort_values(
            "party", key=lambda column: column.map(lambda p: order.get(p, len(order)))
        ).reset_index(drop=True)
        table["seats_actual"] = table["seats_actual"].astype("Int64")
        for column in ("seats_low", "seats_high"):
            if column in table.columns:
                table[column] = table[column].astype("Int64")
        table["seat_error"] = table["seats_predicted"] - table["seats_actual"]
    return ForecastResult(
        name=config.name or "election",
        table=table,
        combos=combos,
        ledger=ledger,
        parties=parties,
        total_seats=seat_settings.total,
        score=seat_settings.score,
        rule=seat_settings.rule,
        k=seat_settings.k,
        by_state=by_state,
        by_date=by_date,
        model_labels=model.labels,
    )
