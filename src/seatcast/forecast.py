"""One forecast run: read, filter, classify, attribute, count, score, allocate and resample.

:func:`run_forecast` streams an election corpus in chunks. For each chunk it leaves out
retweets, duplicates and tweets over the per-user cap, attributes the rest to parties, and
sends their texts to the worker pool, which cleans and classifies them. Per-tweet predictions
are written as they arrive. What is kept in memory is bounded by the number of distinct
tweets (for duplicate detection, 12 bytes per key), the number of distinct users (for the
per-user cap) and the count tables, whatever the corpus size.

Count cleaning, in this order, each counted in the run summary even when nothing was left out:

1. retweets: texts that start with ``RT @handle`` (:func:`seatcast.preprocess.is_retweet`);
2. duplicates: with ``cleaning.duplicates: exact`` a text seen before; with ``near`` also a
   text that is the same after :func:`near_duplicate_text` (case, URLs, @handles, entities,
   punctuation and a trailing truncation ellipsis ignored); ``keep`` keeps them all;
3. the per-user cap: past ``cleaning.max_tweets_per_user`` tweets of one user (read from the
   source's ``user_column``), later tweets are left out;
4. attribution: tweets that match no party, or several parties when ``multi_party: drop``.

Counts become party scores (:mod:`seatcast.scores`) and scores become seats
(:mod:`seatcast.seats`); :mod:`seatcast.bootstrap` gives the intervals.
"""

from __future__ import annotations

import contextlib
import csv
import gzip
import hashlib
import io
import itertools
import logging
import re
from collections import Counter, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from seatcast.attribution import PartyMatcher
from seatcast.bootstrap import (
    ConfusionCorrection,
    allocate_from_counts,
    bootstrap_intervals,
    count_table,
)
from seatcast.config import ElectionConfig, ResultsSpec, SourceSpec
from seatcast.errors import ConfigError, DataError
from seatcast.io import RowLedger, read_chunks
from seatcast.model import LoadedModel, SharedScoring, load_model, score_chunk
from seatcast.parallel import ordered_map
from seatcast.preprocess import WORD_CHAR, is_retweet, normalize_for_match

__all__ = [
    "PREDICTION_COLUMNS",
    "CleaningCounts",
    "ForecastResult",
    "allocate_from_counts",
    "bootstrap_intervals",
    "count_table",
    "load_correction",
    "load_results",
    "near_duplicate_text",
    "run_forecast",
]

logger = logging.getLogger(__name__)

EXCLUDED_RETWEET = "retweet"
EXCLUDED_DUPLICATE = "duplicate tweet"
EXCLUDED_NEAR_DUPLICATE = "near-duplicate tweet"
EXCLUDED_USER_CAP = "over the per-user tweet cap"
EXCLUDED_UNMATCHED = "matches no party"
EXCLUDED_MULTIPLE = "matches several parties (multi_party: drop)"
EXCLUDED_UNCERTAIN = "classifier confidence below min_confidence"

# Columns of predictions.csv.gz. `date` is ISO 8601 in UTC, `state` the source's
# location_column, `gold_label` the source's label_column; each is empty when not configured.
# zlib's default compression level: level 9 took four times the CPU for a file 5% smaller.
GZIP_LEVEL = 6

PREDICTION_COLUMNS = (
    "file",
    "line",
    "parties",
    "label",
    "confidence",
    "date",
    "state",
    "gold_label",
)

# Characters that near-duplicate detection ignores: everything but word characters, # and @.
_NON_WORD_RE = re.compile(rf"(?:(?!{WORD_CHAR})[^#@\s])+")
# A tweet cut by the API ends in an ellipsis, sometimes after a partial word.
_TRUNCATION_RE = re.compile(r"\S*(?:…|\.\.\.)\s*$")
_SPACES_RE = re.compile(r"\s+")


def near_duplicate_text(text: str) -> str:
    """Return the text that near-duplicate detection compares.

    It is :func:`seatcast.preprocess.normalize_for_match` (entities unescaped, URLs removed,
    @handles written alike, lower case, white space collapsed) with a trailing truncation
    ellipsis and the partial word before it removed, and punctuation other than ``#`` and
    ``@`` removed. So "Vote BJP!! https://t.co/x" and "vote bjp https://t.co/y" are the same.
    """
    text = normalize_for_match(text)
    text = _TRUNCATION_RE.sub("", text)
    text = _NON_WORD_RE.sub(" ", text)
    return _SPACES_RE.sub(" ", text).strip()


@dataclass
class CleaningCounts:
    """How many tweets count cleaning and attribution left out, by reason.

    ``multiple_counted`` tweets were kept and counted once for each of their parties.
    ``users_capped`` is the number of distinct users who reached the per-user cap.
    """

    retweets: int = 0
    exact_duplicates: int = 0
    near_duplicates: int = 0
    over_user_cap: int = 0
    users_capped: int = 0
    unmatched: int = 0
    multiple_dropped: int = 0
    multiple_counted: int = 0
    below_min_confidence: int = 0

    def as_dict(self) -> dict[str, int]:
        """Return the counts as a JSON-ready dict, zeros included."""
        return dict(self.__dict__)


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
    cleaning: CleaningCounts = field(default_factory=CleaningCounts)
    settings: dict[str, Any] = field(default_factory=dict)
    gold_pairs: Counter[tuple[tuple[str, ...], str, str]] = field(default_factory=Counter)
    correction: ConfusionCorrection | None = None

    def summary(self) -> dict[str, Any]:
        """Return the run's counts and settings as a JSON-ready dict."""
        return {
            "election": self.name,
            "score": self.score,
            "rule": self.rule,
            "k": self.k if self.rule == "power" else None,
            "total_seats": self.total_seats,
            "cleaning": self.cleaning.as_dict(),
            "settings": self.settings,
            "confusion_correction": self.correction.describe() if self.correction else None,
            "rows": self.ledger.summary(),
        }


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
    has_votes = bool(spec.vote_share_column and spec.vote_share_column in frame.columns)
    if has_votes:
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
            **({spec.vote_share_column: "vote_share_actual"} if has_votes else {}),
        }
    )
    if not pd.api.types.is_numeric_dtype(result["seats_actual"]):
        raise DataError(f"results file {path}: `{spec.seats_column}` must hold whole numbers.")
    result["party"] = result["party"].astype(str)
    return result


def load_correction(config: ElectionConfig, root: Path) -> ConfusionCorrection | None:
    """Load the confusion matrix named by ``bootstrap.confusion_matrix``, if any."""
    if config.bootstrap.confusion_matrix is None:
        return None
    path = Path(config.bootstrap.confusion_matrix)
    path = path if path.is_absolute() else root / path
    return ConfusionCorrection.from_json(path, method=config.bootstrap.confusion_method)


def _reading_spec(spec: SourceSpec) -> SourceSpec:
    """Return the spec to read a source with, so that its party column comes back as an extra.

    The reader returns only the date, user and location columns besides the text.
    """
    if spec.party_column is None:
        return spec
    # NOTE: seatcast.io reads only date, user and location columns as extras, so the party
    # column is read through the location slot; a source cannot have both yet.
    if spec.location_column is not None:
        raise ConfigError(
            f"corpus source {spec.path}: `party_column` and `location_column` cannot both be set "
            "yet; remove `location_column`"
        )
    return spec.model_copy(update={"location_column": spec.party_column})


def _iso_dates(values: list[str]) -> list[str]:
    if not values:
        return []
    stamps = pd.to_datetime(pd.Series(values), errors="coerce", utc=True, format="mixed")
    return ["" if pd.isna(stamp) else stamp.strftime("%Y-%m-%dT%H:%M:%SZ") for stamp in stamps]


@dataclass
class _Tallies:
    """The counts a forecast is made of, added up chunk by chunk."""

    combos: Counter[tuple[tuple[str, ...], str]]
    gold_pairs: Counter[tuple[tuple[str, ...], str, str]]
    by_state: Counter[tuple[str, str, str]]
    by_date: Counter[tuple[str, str, str]]


def _count_chunk(
    kept: _KeptChunk,
    labels: list[str],
    confidences: list[float],
    min_confidence: float,
    tallies: _Tallies,
    counts: CleaningCounts,
    ledger: RowLedger,
) -> None:
    """Add one chunk's predictions to the tallies, leaving out those below ``min_confidence``.

    Counter.update counts an iterable in C, so a chunk costs little Python code per row.
    """
    rows: range | list[int] = range(len(labels))
    # A 3-class model's confidence is a margin, which can be below 0.
    if labels and min(confidences) < min_confidence:
        rows = [i for i in rows if confidences[i] >= min_confidence]
        uncertain = len(labels) - len(rows)
        counts.below_min_confidence += uncertain
        ledger.exclude(EXCLUDED_UNCERTAIN, uncertain)
    ledger.use(len(rows))
    parties, gold, states, dates = kept.parties, kept.gold, kept.states, kept.dates
    tallies.combos.update((parties[i], labels[i]) for i in rows)
    if any(gold):
        tallies.gold_pairs.update((parties[i], gold[i], labels[i]) for i in rows if gold[i])
    if any(states):
        tallies.by_state.update(
            (states[i], party, labels[i]) for i in rows if states[i] for party in parties[i]
        )
    if any(dates):
        tallies.by_date.update(
            (dates[i][:10], party, labels[i]) for i in rows if dates[i] for party in parties[i]
        )


@dataclass
class _KeptChunk:
    """Metadata of the kept rows of one chunk, in the order their results arrive."""

    source: str
    lines: list[int] = field(default_factory=list)
    parties: list[tuple[str, ...]] = field(default_factory=list)
    dates: list[str] = field(default_factory=list)
    states: list[str] = field(default_factory=list)
    gold: list[str] = field(default_factory=list)


class _Stream:
    """Reads the corpus and filters rows before they go to the workers."""

    def __init__(self, config: ElectionConfig, root: Path, ledger: RowLedger):
        self.config = config
        self.root = root
        self.ledger = ledger
        self.matcher = PartyMatcher(
            config.parties, by=config.attribution.by, multi_party=config.attribution.multi_party
        )
        self.counts = CleaningCounts()
        self.exact_seen: set[bytes] = set()
        self.near_seen: set[bytes] = set()
        self.per_user: Counter[str] = Counter()
        self.kept: deque[_KeptChunk] = deque()
        self.unknown_party_values: Counter[str] = Counter()
        if config.attribution.by == "source":
            for spec in config.corpus:
                if spec.party is None and spec.party_column is None:
                    raise ConfigError(
                        f"corpus source {spec.path} has neither `party` nor `party_column`, so "
                        "with `attribution.by: source` none of its tweets can be attributed; "
                        "set one, or use `attribution.by: keywords` or `both`"
                    )

    @staticmethod
    def _digest(text: str) -> bytes:
        return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=12).digest()

    def _is_duplicate(self, text: str) -> bool:
        mode = self.config.cleaning.duplicates
        if mode == "keep":
            return False
        exact = self._digest(text)
        if exact in self.exact_seen:
            self.counts.exact_duplicates += 1
            self.ledger.exclude(EXCLUDED_DUPLICATE)
            return True
        self.exact_seen.add(exact)
        if mode == "near":
            near = self._digest(near_duplicate_text(text))
            if near in self.near_seen:
                self.counts.near_duplicates += 1
                self.ledger.exclude(EXCLUDED_NEAR_DUPLICATE)
                return True
            self.near_seen.add(near)
        return False

    def _over_user_cap(self, user: str) -> bool:
        cap = self.config.cleaning.max_tweets_per_user
        user = user.strip().lower()
        if cap is None or not user:
            return False
        if self.per_user[user] >= cap:
            self.counts.over_user_cap += 1
            self.ledger.exclude(EXCLUDED_USER_CAP)
            return True
        self.per_user[user] += 1
        if self.per_user[user] == cap:
            self.counts.users_capped += 1
        return False

    def _attribute(self, text: str, spec: SourceSpec, column_value: str) -> list[str] | None:
        source_party = spec.party
        if spec.party_column is not None:
            source_party = self.matcher.party_for_value(column_value)
            if source_party is None and column_value.strip():
                self.unknown_party_values[column_value.strip()] += 1
        parties, outcome = self.matcher.classify(text, source_party)
        if outcome == "unmatched":
            self.counts.unmatched += 1
            self.ledger.exclude(EXCLUDED_UNMATCHED)
            return None
        if outcome == "multiple_dropped":
            self.counts.multiple_dropped += 1
            self.ledger.exclude(EXCLUDED_MULTIPLE)
            return None
        if outcome == "multiple_counted":
            self.counts.multiple_counted += 1
        return parties

    def _fixed_parties(self, spec: SourceSpec) -> tuple[str, ...] | None:
        """Return the parties of every tweet of ``spec`` when they do not depend on the text:
        attribution by source, with a fixed party for the source."""
        if self.config.attribution.by != "source" or spec.party_column is not None:
            return None
        return (spec.party,) if spec.party is not None else None

    def items(self) -> Iterator[tuple[str, list[str]]]:
        cleaning = self.config.cleaning
        deduplicate = cleaning.duplicates != "keep"
        capped = cleaning.max_tweets_per_user is not None
        for spec in self.config.corpus:
            reading = _reading_spec(spec)
            fixed = self._fixed_parties(spec)
            filtered = fixed is None or cleaning.drop_retweets or deduplicate or capped
            for chunk in read_chunks(
                reading,
                root=self.root,
                ledger=self.ledger,
                labelled=spec.label_column is not None,
                chunk_size=self.config.run.chunk_size,
                limits=self.config.limits,
            ):
                n_rows = len(chunk)
                users = chunk.extras.get(spec.user_column or "", [""] * n_rows)
                column = reading.location_column
                places = chunk.extras.get(column or "", [""] * n_rows)
                kept = _KeptChunk(source=chunk.source)
                raw_dates = chunk.extras[spec.date_column] if spec.date_column else []
                if not filtered:
                    # Every row is kept with the same parties: no Python code per row.
                    kept.lines = chunk.lines
                    kept.parties = [fixed] * n_rows
                    kept.states = [place.strip() for place in places]
                    kept.gold = chunk.labels if chunk.labels is not None else [""] * n_rows
                    texts = chunk.texts
                else:
                    texts, raw_dates = self._filter(chunk, spec, fixed, users, places, kept)
                if texts:
                    kept.dates = _iso_dates(raw_dates) if spec.date_column else [""] * len(texts)
                    self.kept.append(kept)
                    yield f"{chunk.source} line {kept.lines[0]}", texts

    def _filter(self, chunk, spec, fixed, users, places, kept) -> tuple[list[str], list[str]]:
        """Drop retweets, duplicates, tweets over the user cap and unattributed tweets; fill
        ``kept`` with the rest and return their texts and raw dates."""
        cleaning = self.config.cleaning
        deduplicate = cleaning.duplicates != "keep"
        capped = cleaning.max_tweets_per_user is not None
        texts: list[str] = []
        raw_dates: list[str] = []
        for i, text in enumerate(chunk.texts):
            if cleaning.drop_retweets and is_retweet(text):
                self.counts.retweets += 1
                self.ledger.exclude(EXCLUDED_RETWEET)
                continue
            if deduplicate and self._is_duplicate(text):
                continue
            if capped and self._over_user_cap(users[i]):
                continue
            parties = fixed if fixed is not None else self._attribute(text, spec, places[i])
            if parties is None:
                continue
            kept.lines.append(chunk.lines[i])
            kept.parties.append(tuple(parties))
            kept.states.append(places[i].strip() if spec.party_column is None else "")
            kept.gold.append(chunk.labels[i] if chunk.labels is not None else "")
            raw_dates.append(chunk.extras[spec.date_column][i] if spec.date_column else "")
            texts.append(text)
        return texts, raw_dates


def _point_estimates(config: ElectionConfig, combos, parties) -> pd.DataFrame:
    counts = count_table(combos, parties)
    seat_settings = config.seats
    scores, seats = allocate_from_counts(
        counts,
        score=seat_settings.score,
        rule=seat_settings.rule,
        total=seat_settings.total,
        k=seat_settings.k,
    )
    return counts.assign(
        pss=counts["party"].map(scores),
        seats_predicted=counts["party"].map(seats).astype("int64"),
    )


def _add_correction(table, config, combos, parties, correction) -> pd.DataFrame:
    corrected = _point_estimates(config, correction.correct(combos), parties)
    return table.assign(
        pss_corrected=table["party"].map(corrected.set_index("party")["pss"]),
        seats_corrected=table["party"].map(corrected.set_index("party")["seats_predicted"]),
    )


def _add_results(table: pd.DataFrame, config: ElectionConfig, root: Path, parties) -> pd.DataFrame:
    actual = load_results(config.results, root)
    table = table.merge(actual, on="party", how="outer")
    table["seats_predicted"] = table["seats_predicted"].fillna(0).astype("int64")
    for column in ("n_tweets", "n_positive", "n_negative"):
        table[column] = table[column].fillna(0).astype("int64")
    if "seats_corrected" in table.columns:
        table["seats_corrected"] = table["seats_corrected"].fillna(0).astype("int64")
    order = {party: i for i, party in enumerate(parties)}
    table = table.sort_values(
        "party", key=lambda column: column.map(lambda p: order.get(p, len(order)))
    ).reset_index(drop=True)
    table["seats_actual"] = table["seats_actual"].astype("Int64")
    for column in ("seats_low", "seats_high"):
        if column in table.columns:
            table[column] = table[column].astype("Int64")
    table["seat_error"] = table["seats_predicted"] - table["seats_actual"]
    return table


def _settings(config: ElectionConfig) -> dict[str, Any]:
    return {
        "drop_retweets": config.cleaning.drop_retweets,
        "duplicates": config.cleaning.duplicates,
        "max_tweets_per_user": config.cleaning.max_tweets_per_user,
        "attribution_by": config.attribution.by,
        "multi_party": config.attribution.multi_party,
        "min_confidence": config.min_confidence,
        "bootstrap_resamples": config.bootstrap.n_resamples,
        "bootstrap_confidence": config.bootstrap.confidence,
    }


def run_forecast(
    config: ElectionConfig,
    root: Path,
    *,
    model: LoadedModel | None = None,
    predictions_path: Path | None = None,
    progress: Callable[[int], None] | None = None,
    n_resamples: int | None = None,
    ledger: RowLedger | None = None,
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
        Where to write one row per classified tweet (gzip CSV with
        :data:`PREDICTION_COLUMNS`). The file is written as results arrive, under a temporary
        name, and renamed at the end.
    progress : callable, default=None
        Called with the number of tweets classified after each chunk.
    n_resamples : int, default=None
        Bootstrap resamples for the intervals; ``config.bootstrap.n_resamples`` when ``None``.
    ledger : RowLedger, default=None
        Receives the row accounting; pass one to keep the rejected rows when the run fails.

    Raises
    ------
    ModelError, DataError, ConfigError, PipelineError
        As raised by the stages.
    """
    from seatcast.report import atomic_path

    if model is None:
        model_path = Path(config.model)
        model = load_model(model_path if model_path.is_absolute() else root / model_path)
    correction = load_correction(config, root)
    if correction is not None:
        correction.check_labels(model.labels)
    parties = [party.name for party in config.parties]
    ledger = ledger if ledger is not None else RowLedger()
    stream = _Stream(config, root, ledger)
    combos: Counter[tuple[tuple[str, ...], str]] = Counter()
    gold_pairs: Counter[tuple[tuple[str, ...], str, str]] = Counter()
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
        exchange=SharedScoring(str(model.path), model.metadata["model_sha256"]),
    )
    target = atomic_path(predictions_path) if predictions_path else contextlib.nullcontext()
    with target as temporary:
        writer = None
        out = None
        handle = None
        if temporary is not None:
            # An empty name and a zero mtime in the gzip header keep the bytes the same from
            # run to run and keep the temporary name out of the file.
            handle = open(temporary, "wb")  # noqa: SIM115 - closed in finally
            compressed = gzip.GzipFile(
                filename="", mode="wb", fileobj=handle, mtime=0, compresslevel=GZIP_LEVEL
            )
            out = io.TextIOWrapper(compressed, encoding="utf-8", newline="")
            writer = csv.writer(out, lineterminator="\n")
            writer.writerow(PREDICTION_COLUMNS)
        try:
            for labels, confidences in results:
                kept = stream.kept.popleft()
                if len(labels) != len(kept.lines):  # a worker returns one label per text sent
                    raise RuntimeError("a chunk's predictions do not match its rows")
                if writer is not None:
                    writer.writerows(
                        zip(
                            itertools.repeat(kept.source),
                            kept.lines,
                            ["|".join(parties_of) for parties_of in kept.parties],
                            labels,
                            [f"{confidence:.4f}" for confidence in confidences],
                            kept.dates,
                            kept.states,
                            kept.gold,
                        )
                    )
                _count_chunk(
                    kept,
                    labels,
                    confidences,
                    config.min_confidence,
                    _Tallies(combos, gold_pairs, by_state, by_date),
                    stream.counts,
                    ledger,
                )
                if progress is not None:
                    progress(len(labels))
        finally:
            if out is not None:
                out.close()
            if handle is not None:
                handle.close()
        ledger.check_balanced()
        ledger.check_rejected_share(config.limits.max_rejected_share, "election corpus")
    if stream.unknown_party_values:
        shown = ", ".join(
            f"{value!r} ({n})" for value, n in stream.unknown_party_values.most_common(5)
        )
        logger.info("party column values that name no party (counted as unmatched): %s", shown)
    logger.info("Count cleaning and attribution: %s", stream.counts.as_dict())
    if ledger.rows_used == 0:
        raise DataError(
            "no tweet was attributed to a party, so there is nothing to forecast; check the "
            "corpus files and each party's hashtags, handles and keywords."
        )

    # Point estimates, then intervals, then the comparison with the actual result.
    table = _point_estimates(config, combos, parties)
    if correction is not None:
        table = _add_correction(table, config, combos, parties, correction)
    resamples = config.bootstrap.n_resamples if n_resamples is None else n_resamples
    if resamples:
        logger.info(
            "Bootstrap: %d resamples of the tweets%s",
            resamples,
            f", corrected with {correction.source} ({correction.method})" if correction else "",
        )
        seat_settings = config.seats
        intervals = bootstrap_intervals(
            combos,
            parties,
            score=seat_settings.score,
            rule=seat_settings.rule,
            total=seat_settings.total,
            k=seat_settings.k,
            n_resamples=resamples,
            confidence=config.bootstrap.confidence,
            jobs=config.run.jobs,
            correction=correction,
        )
        table = table.join(intervals, on="party")
        table = table.rename(columns={"score_low": "pss_low", "score_high": "pss_high"})
    if config.results is not None:
        table = _add_results(table, config, root, parties)
    return ForecastResult(
        name=config.name or "election",
        table=table,
        combos=combos,
        ledger=ledger,
        parties=parties,
        total_seats=config.seats.total,
        score=config.seats.score,
        rule=config.seats.rule,
        k=config.seats.k,
        by_state=by_state,
        by_date=by_date,
        model_labels=model.labels,
        cleaning=stream.counts,
        settings=_settings(config),
        gold_pairs=gold_pairs,
        correction=correction,
    )
