"""Backtests: compare every score and seat rule with an election's known result.

:func:`run_backtest` classifies an election's tweets once (:func:`seatcast.forecast.run_forecast`)
and then evaluates every combination of the four party scores (``pss``, ``positive_ratio``,
``net``, ``mentions``) and the seat rules (``hamilton``, ``dhondt``, ``sainte-lague``, ``power``
with the config's ``k``, and ``power`` with ``k`` fitted on each past election listed in
``backtest.calibration_results``). One bootstrap run resamples the tweets and scores each
resample with every combination, so all intervals come from the same draws.

For each combination it reports the seats per party with their interval, the absolute seat
error per party and in total (with an interval from the same resamples), the error of the
implied vote shares where the result file has vote shares, and whether the predicted winner
is the actual one. An "equal split" baseline, which gives every tracked party the same number
of seats, shows what knowing nothing scores.

:func:`state_backtest` repeats the seat comparison per state, where tweets carry a state and a
constituency result file (such as ``data/india2019/LS_2.0.csv.gz``) gives the winner of each
seat.

NOTE: A corpus collected by party hashtags with a fixed number of tweets per query, as the
shipped 2019 Lok Sabha corpus was, measures collection volume as much as opinion: ``mentions``
is then a property of the collection, and ``pss`` mostly follows it.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from seatcast.bootstrap import (
    SeatMethod,
    allocate_from_counts,
    bootstrap_draws,
    count_table,
)
from seatcast.config import ConstituencyResultsSpec, ElectionConfig, ResultsSpec, resolve_path
from seatcast.errors import ConfigError, DataError
from seatcast.forecast import ForecastResult, load_results, run_forecast
from seatcast.io import RowLedger
from seatcast.model import LoadedModel
from seatcast.scores import SCORE_METHODS, allocation_weights
from seatcast.seats import allocate_seats, fit_power_exponent

__all__ = [
    "BACKTEST_COLUMNS",
    "OTHERS",
    "BacktestResult",
    "Calibration",
    "fit_calibrations",
    "load_state_winners",
    "normalise_state",
    "run_backtest",
    "seat_methods",
    "state_backtest",
]

logger = logging.getLogger(__name__)

BACKTEST_COLUMNS = [
    "score",
    "rule",
    "party",
    "seats_predicted",
    "seats_low",
    "seats_high",
    "seats_actual",
    "abs_error",
]

# The row for seats won by parties that the config does not track.
OTHERS = "OTHERS"

BASELINE_SCORE = "baseline"
BASELINE_RULE = "equal split"

_NON_LETTERS_RE = re.compile(r"[^a-z]+")


@dataclass(frozen=True)
class Calibration:
    """A power-rule exponent fitted on a past election's vote shares and seats."""

    name: str
    path: str
    k: float
    n_parties: int
    total_seats: int


def fit_calibrations(config: ElectionConfig, root: Path) -> list[Calibration]:
    """Fit ``k`` of the power rule on each file in ``backtest.calibration_results``.

    Raises
    ------
    ConfigError
        If a calibration file is the election's own results file (a fit on the result being
        tested would leak it into the forecast), or lacks a ``vote_share`` column.
    """
    own = resolve_path(root, config.results.path).resolve() if config.results else None
    fitted = []
    for value in config.backtest.calibration_results:
        path = resolve_path(root, value)
        if own is not None and path.resolve() == own:
            raise ConfigError(
                f"`backtest.calibration_results` must not list the election's own results file "
                f"{value}: k fitted on the result being tested would leak it; use a past election"
            )
        results = load_results(ResultsSpec(path=str(path)), root)
        if "vote_share_actual" not in results.columns:
            raise ConfigError(
                f"calibration results {value} must have a `vote_share` column to fit k on"
            )
        votes = dict(zip(results["party"], results["vote_share_actual"].astype(float), strict=True))
        seats = dict(zip(results["party"], results["seats_actual"].astype(int), strict=True))
        k = fit_power_exponent(votes, seats)
        name = Path(value).name.removesuffix(".csv").removesuffix("_results")
        fitted.append(Calibration(name, str(value), k, len(votes), sum(seats.values())))
        logger.info("Fitted power k = %.3f on %s", k, value)
    return fitted


def seat_methods(config: ElectionConfig, calibrations: list[Calibration]) -> list[SeatMethod]:
    """Return every score x rule combination of a backtest, in report order."""
    methods = []
    for score in SCORE_METHODS:
        for rule in ("hamilton", "dhondt", "sainte-lague"):
            methods.append(SeatMethod(score=score, rule=rule))
        k = config.seats.k
        methods.append(SeatMethod(score, "power", k, f"power k={k:.2f} (config)"))
        for calibration in calibrations:
            methods.append(
                SeatMethod(
                    score,
                    "power",
                    calibration.k,
                    f"power k={calibration.k:.2f} ({calibration.name})",
                )
            )
    return methods


def _winner(seats: pd.Series) -> str:
    """Return the party with the most seats, or the tied parties joined by ``=``."""
    top = seats.max()
    leaders = sorted(seats.index[seats == top])
    return "=".join(leaders)


@dataclass
class BacktestResult:
    """The per-party table, the per-combination summary and the forecast it came from."""

    name: str
    table: pd.DataFrame
    summary: pd.DataFrame
    forecast: ForecastResult
    calibrations: list[Calibration]
    n_resamples: int
    confidence: float
    states: pd.DataFrame | None = None
    states_summary: pd.DataFrame | None = None
    state_notes: dict = field(default_factory=dict)


def _vote_share_error(weights: pd.Series, actual: pd.DataFrame) -> float:
    """Return the mean absolute error, in percentage points, of the weights as vote shares.

    Both sides are renormalised over the tracked parties that have an actual vote share, since
    tweets about the tracked parties cannot estimate the others' votes.
    """
    if "vote_share_actual" not in actual.columns:
        return float("nan")
    shares = actual.set_index("party")["vote_share_actual"].astype(float)
    common = [party for party in weights.index if party in shares.index and pd.notna(shares[party])]
    if len(common) < 2 or shares[common].sum() <= 0:
        return float("nan")
    predicted = weights[common] / weights[common].sum() * 100
    observed = shares[common] / shares[common].sum() * 100
    return float((predicted - observed).abs().mean())


def _rows_for_method(method, seats, low, high, actual, parties) -> list[dict]:
    rows = []
    actual_seats = actual.set_index("party")["seats_actual"].astype(int)
    listed = list(parties) + [party for party in actual_seats.index if party not in parties]
    for i, party in enumerate(listed):
        tracked = party in parties
        predicted = int(seats[party]) if tracked else 0
        won = int(actual_seats.get(party, 0))
        rows.append(
            {
                "score": method.score,
                "rule": method.label,
                "party": party,
                "seats_predicted": predicted,
                "seats_low": low[i]
                if tracked and low is not None
                else (0 if not tracked else pd.NA),
                "seats_high": high[i]
                if tracked and high is not None
                else (0 if not tracked else pd.NA),
                "seats_actual": won,
                "abs_error": abs(predicted - won),
            }
        )
    return rows


def _tracked_errors(counts, method: SeatMethod, actual: pd.DataFrame, parties) -> tuple[int, float]:
    """Return the seat error when only the tracked parties' real seat total is allocated, and
    the mean error of their seat shares among themselves, in percentage points.

    With untracked parties in the result, the total error has a floor (twice their seats when
    the leader is over-predicted), whatever the tweets show. These two errors have no such floor.
    """
    actual_seats = actual.set_index("party")["seats_actual"].astype(int)
    won = {party: int(actual_seats.get(party, 0)) for party in parties}
    tracked_total = sum(won.values())
    if tracked_total == 0:
        return 0, float("nan")
    _, seats = allocate_from_counts(
        counts, score=method.score, rule=method.rule, total=tracked_total, k=method.k
    )
    error = sum(abs(seats[party] - won[party]) for party in parties)
    share_error = np.mean(
        [abs(seats[party] - won[party]) / tracked_total * 100 for party in parties]
    )
    return int(error), float(share_error)


def _abs_error_draws(seat_draws: np.ndarray, parties, actual: pd.DataFrame) -> np.ndarray:
    """Total absolute seat error of each resample (NaN where the resample had no forecast)."""
    actual_seats = actual.set_index("party")["seats_actual"].astype(int)
    targets = np.array([actual_seats.get(party, 0) for party in parties], dtype=float)
    untracked = sum(int(n) for party, n in actual_seats.items() if party not in parties)
    return np.abs(seat_draws - targets).sum(axis=1) + untracked


def run_backtest(
    config: ElectionConfig,
    root: Path,
    *,
    model: LoadedModel | None = None,
    progress=None,
    n_resamples: int | None = None,
    seed: int = 0,
    ledger: RowLedger | None = None,
) -> BacktestResult:
    """Classify an election's tweets once and evaluate every score and seat rule.

    Parameters
    ----------
    config : ElectionConfig
        An election config with ``results``.
    root : Path
        The folder that relative paths are resolved against.
    model : LoadedModel, default=None
        A loaded model; ``config.model`` is loaded when ``None``.
    progress : callable, default=None
        Called with the number of tweets classified after each chunk.
    n_resamples : int, default=None
        Bootstrap resamples; ``config.bootstrap.n_resamples`` when ``None``. 0 gives no
        intervals.
    seed : int, default=0
        Seed of the bootstrap.
    ledger : RowLedger, default=None
        Receives the row accounting; pass one to keep the rejected rows when the run fails.

    Raises
    ------
    ConfigError
        If the config has no ``results``.
    """
    if config.results is None:
        raise ConfigError(
            "`results` is required for a backtest: add the actual result file to the election "
            "config (party, seats[, vote_share])"
        )
    calibrations = fit_calibrations(config, root)
    forecast = run_forecast(
        config, root, model=model, progress=progress, n_resamples=0, ledger=ledger
    )
    actual = load_results(config.results, root)
    parties = forecast.parties
    total = config.seats.total
    methods = seat_methods(config, calibrations)
    resamples = config.bootstrap.n_resamples if n_resamples is None else n_resamples
    draws = None
    if resamples:
        logger.info(
            "Bootstrap: %d resamples, each scored with %d combinations", resamples, len(methods)
        )
        draws = bootstrap_draws(
            forecast.combos,
            parties,
            methods,
            total=total,
            n_resamples=resamples,
            seed=seed,
            jobs=config.run.jobs,
            correction=forecast.correction,
        )
    counts = count_table(forecast.combos, parties)
    tail = (1 - config.bootstrap.confidence) / 2 * 100
    rows: list[dict] = []
    summary: list[dict] = []
    winner_actual = _winner(actual.set_index("party")["seats_actual"].astype(int))
    for m, method in enumerate(methods):
        scores, seats = allocate_from_counts(
            counts, score=method.score, rule=method.rule, total=total, k=method.k
        )
        low = high = None
        error_low = error_high = float("nan")
        if draws is not None:
            seat_draws = draws.seats[:, m]
            low = np.floor(np.nanpercentile(seat_draws, tail, axis=0)).astype(int)
            high = np.ceil(np.nanpercentile(seat_draws, 100 - tail, axis=0)).astype(int)
            errors = _abs_error_draws(seat_draws, parties, actual)
            error_low = float(np.nanpercentile(errors, tail))
            error_high = float(np.nanpercentile(errors, 100 - tail))
        method_rows = _rows_for_method(method, seats, low, high, actual, parties)
        rows.extend(method_rows)
        predicted = pd.Series({row["party"]: row["seats_predicted"] for row in method_rows})
        weights = allocation_weights(scores, method=method.score)
        tracked_error, tracked_share_error = _tracked_errors(counts, method, actual, parties)
        summary.append(
            {
                "score": method.score,
                "rule": method.label,
                "k": method.k if method.rule == "power" else np.nan,
                "total_abs_error": int(sum(row["abs_error"] for row in method_rows)),
                "total_abs_error_low": error_low,
                "total_abs_error_high": error_high,
                "seats_misallocated_share": sum(row["abs_error"] for row in method_rows)
                / 2
                / total,
                "tracked_abs_error": tracked_error,
                "tracked_seat_share_mae_pp": tracked_share_error,
                "vote_share_mae_pp": _vote_share_error(weights, actual),
                "winner_predicted": _winner(predicted[parties]),
                "winner_actual": winner_actual,
                "winner_correct": _winner(predicted[parties]) == winner_actual,
            }
        )
    summary.append(_baseline_summary(parties, total, actual, winner_actual))
    table = pd.DataFrame(rows, columns=BACKTEST_COLUMNS)
    for column in ("seats_low", "seats_high"):
        table[column] = table[column].astype("Int64")
    result = BacktestResult(
        name=config.name or "election",
        table=table,
        summary=pd.DataFrame(summary),
        forecast=forecast,
        calibrations=calibrations,
        n_resamples=resamples,
        confidence=config.bootstrap.confidence,
    )
    if config.constituency_results is not None:
        states, states_summary, notes = state_backtest(
            config.constituency_results, forecast, methods, root
        )
        result.states = states
        result.states_summary = states_summary
        result.state_notes = notes
    return result


def _baseline_summary(parties, total, actual, winner_actual) -> dict:
    """Summarise the equal-split baseline: every tracked party gets total / n seats."""
    share = {party: 1.0 / len(parties) for party in parties}
    seats = allocate_seats(share, total, rule="hamilton")
    actual_seats = actual.set_index("party")["seats_actual"].astype(int)
    listed = list(parties) + [party for party in actual_seats.index if party not in parties]
    error = sum(abs(seats.get(party, 0) - int(actual_seats.get(party, 0))) for party in listed)
    return {
        "score": BASELINE_SCORE,
        "rule": BASELINE_RULE,
        "k": np.nan,
        "total_abs_error": int(error),
        "total_abs_error_low": np.nan,
        "total_abs_error_high": np.nan,
        "seats_misallocated_share": error / 2 / total,
        **dict(
            zip(
                ("tracked_abs_error", "tracked_seat_share_mae_pp"),
                _tracked_baseline(parties, actual),
                strict=True,
            )
        ),
        "vote_share_mae_pp": _vote_share_error(pd.Series(share), actual),
        "winner_predicted": _winner(pd.Series(seats)),
        "winner_actual": winner_actual,
        "winner_correct": _winner(pd.Series(seats)) == winner_actual,
    }


def _tracked_baseline(parties, actual) -> tuple[int, float]:
    actual_seats = actual.set_index("party")["seats_actual"].astype(int)
    won = {party: int(actual_seats.get(party, 0)) for party in parties}
    tracked_total = sum(won.values())
    if tracked_total == 0:
        return 0, float("nan")
    seats = allocate_seats(dict.fromkeys(parties, 1.0), tracked_total, rule="hamilton")
    error = sum(abs(seats[party] - won[party]) for party in parties)
    return int(error), float(
        np.mean([abs(seats[p] - won[p]) / tracked_total * 100 for p in parties])
    )


# ---------------------------------------------------------------------------------------------
# State level


def normalise_state(name: str) -> str:
    """Return the key that state names are matched by: ASCII letters only, lower case, with
    ``&`` read as ``and``. "NCT OF Delhi" and "NCTOF Delhi" give the same key."""
    text = unicodedata.normalize("NFKD", name).casefold().replace("&", "and")
    return _NON_LETTERS_RE.sub("", text)


def load_state_winners(
    spec: ConstituencyResultsSpec, root: Path, parties: list[str]
) -> pd.DataFrame:
    """Count seats won per state: one row per state with a column per tracked party and
    :data:`OTHERS`, and ``seats_total``.

    A winner's party is mapped through ``party_aliases`` first; a party that is then not one
    of ``parties`` counts as :data:`OTHERS`.

    Raises
    ------
    DataError
        If the file is missing or unreadable, or marks no winner.
    ConfigError
        If a configured column is missing.
    """
    path = resolve_path(root, spec.path)
    if not path.is_file():
        raise DataError(
            f"constituency results file not found: {path}. Fix `constituency_results.path`."
        )
    try:
        frame = pd.read_csv(path, encoding="utf-8-sig")
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as error:
        raise DataError(f"cannot read constituency results {path}: {error}") from None
    for key, column in (
        ("state_column", spec.state_column),
        ("party_column", spec.party_column),
        ("winner_column", spec.winner_column),
    ):
        if column not in frame.columns:
            raise ConfigError(
                f"column {column!r} not found in {path}; set `constituency_results.{key}` to one "
                f"of {', '.join(repr(name) for name in frame.columns)}"
            )
    winners = frame[pd.to_numeric(frame[spec.winner_column], errors="coerce") == 1]
    if winners.empty:
        raise DataError(
            f"{path}: no row has {spec.winner_column} = 1, so no seat has a winner; check "
            "`constituency_results.winner_column`"
        )
    party = (
        winners[spec.party_column]
        .astype(str)
        .str.strip()
        .map(lambda value: spec.party_aliases.get(value, value))
    )
    party = party.where(party.isin(parties), OTHERS)
    table = pd.crosstab(winners[spec.state_column].astype(str).str.strip(), party)
    for column in [*parties, OTHERS]:
        if column not in table.columns:
            table[column] = 0
    table = table[[*parties, OTHERS]]
    table["seats_total"] = table.sum(axis=1)
    table.index.name = "state"
    return table.reset_index()


def _state_counts(forecast: ForecastResult, spec: ConstituencyResultsSpec, known: dict[str, str]):
    """Group the per-state tweet counts by results-file state; return them and the tweet
    locations that match no state, with their tweet counts."""
    per_state: dict[str, Counter] = {}
    unmatched: Counter[str] = Counter()
    for (location, party, label), count in forecast.by_state.items():
        name = spec.state_aliases.get(location, location)
        state = known.get(normalise_state(name))
        if state is None:
            unmatched[location] += count
            continue
        per_state.setdefault(state, Counter())[((party,), label)] += count
    return per_state, unmatched


def state_backtest(
    spec: ConstituencyResultsSpec,
    forecast: ForecastResult,
    methods: list[SeatMethod],
    root: Path,
) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Allocate each state's seats from the tweets located in it, for every method.

    Returns the per-state, per-party table (``score, rule, state, party, n_tweets,
    seats_predicted, seats_actual, abs_error``), a summary per method, and notes: the states
    without tweets and the tweet locations that match no state.

    Notes
    -----
    A state without tweets gets no forecast; its seats are counted in ``seats_without_tweets``
    of the summary, not in the error. Intervals are not computed at state level.
    """
    parties = forecast.parties
    winners = load_state_winners(spec, root, parties)
    known = {normalise_state(state): state for state in winners["state"]}
    per_state, unmatched_locations = _state_counts(forecast, spec, known)
    rows: list[dict] = []
    summary: list[dict] = []
    without = sorted(set(winners["state"]) - set(per_state))
    for method in methods:
        total_error = 0
        states_right = 0
        states_scored = 0
        national = Counter()
        for record in winners.itertuples(index=False):
            state = record.state
            actual = {party: int(getattr(record, party)) for party in [*parties, OTHERS]}
            combos = per_state.get(state)
            if not combos:
                continue
            counts = count_table(combos, parties)
            try:
                _, seats = allocate_from_counts(
                    counts,
                    score=method.score,
                    rule=method.rule,
                    total=int(record.seats_total),
                    k=method.k,
                )
            except DataError as error:
                logger.debug(
                    "state %s, %s %s: no forecast (%s)", state, method.score, method.label, error
                )
                continue
            states_scored += 1
            seats = {**seats, OTHERS: 0}
            tweets = counts.set_index("party")["n_tweets"]
            for party in [*parties, OTHERS]:
                error = abs(seats[party] - actual[party])
                total_error += error
                national[party] += seats[party]
                rows.append(
                    {
                        "score": method.score,
                        "rule": method.label,
                        "state": state,
                        "party": party,
                        "n_tweets": int(tweets.get(party, 0)),
                        "seats_predicted": seats[party],
                        "seats_actual": actual[party],
                        "abs_error": error,
                    }
                )
            if _winner(pd.Series(seats)) == _winner(pd.Series(actual)):
                states_right += 1
        scored_seats = int(winners.loc[winners["state"].isin(per_state), "seats_total"].sum())
        summary.append(
            {
                "score": method.score,
                "rule": method.label,
                "states_scored": states_scored,
                "states_winner_correct": states_right,
                "seats_scored": scored_seats,
                "seats_without_tweets": int(winners["seats_total"].sum()) - scored_seats,
                "total_abs_error": total_error,
                "seats_misallocated_share": total_error / 2 / scored_seats
                if scored_seats
                else np.nan,
                **{f"sum_of_states_{party}": national[party] for party in parties},
            }
        )
    notes = {
        "states_without_tweets": without,
        "unmatched_locations": dict(unmatched_locations.most_common()),
    }
    return pd.DataFrame(rows), pd.DataFrame(summary), notes
