"""Writing backtest results: CSV tables, a Markdown summary, JSON notes and PNG charts.

Every file goes through :func:`seatcast.report.atomic_path`, so an interrupted run leaves the
previous files as they were.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from seatcast.backtest import BASELINE_SCORE, OTHERS, BacktestResult
from seatcast.report import atomic_path, write_csv, write_json, write_text

__all__ = ["markdown_table", "write_backtest"]


def _cell(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return ""
    if isinstance(value, float | np.floating):
        return f"{value:.3f}"
    return str(value).replace("|", "\\|")


def markdown_table(frame: pd.DataFrame) -> str:
    """Format a data frame as a GitHub Markdown table (floats with 3 decimals)."""
    header = "| " + " | ".join(str(column) for column in frame.columns) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    body = [
        "| " + " | ".join(_cell(value) for value in row) + " |"
        for row in frame.itertuples(index=False)
    ]
    return "\n".join([header, rule, *body])


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(figure, path: Path) -> Path:
    plt = _pyplot()
    with atomic_path(path) as temporary:
        figure.savefig(temporary, format="png", dpi=120, bbox_inches="tight")
    plt.close(figure)
    return Path(path)


def plot_errors(path: Path, summary: pd.DataFrame, title: str) -> Path:
    """Plot the total absolute seat error (with bootstrap intervals) and the tracked-party
    error of each score and rule, with the equal-split baseline as a dashed line."""
    plt = _pyplot()
    methods = summary[summary["score"] != BASELINE_SCORE]
    baseline = summary[summary["score"] == BASELINE_SCORE]
    scores = list(dict.fromkeys(methods["score"]))
    rules = list(dict.fromkeys(methods["rule"]))
    figure, panels = plt.subplots(1, 2, figsize=(max(12, 4.4 * len(scores)), 4.5))
    width = 0.8 / len(rules)
    for axes, column, label in (
        (panels[0], "total_abs_error", "total absolute seat error (all parties)"),
        (panels[1], "tracked_abs_error", "seat error, tracked parties' real total allocated"),
    ):
        for r, rule in enumerate(rules):
            rows = methods[methods["rule"] == rule].set_index("score").reindex(scores)
            positions = np.arange(len(scores)) + (r - (len(rules) - 1) / 2) * width
            values = rows[column].to_numpy(dtype=float)
            error = None
            if column == "total_abs_error":
                low = rows["total_abs_error_low"].to_numpy(dtype=float)
                high = rows["total_abs_error_high"].to_numpy(dtype=float)
                if not np.isnan(low).all():
                    error = [np.nan_to_num(values - low), np.nan_to_num(high - values)]
            axes.bar(positions, values, width, yerr=error, capsize=2, label=rule)
        if not baseline.empty:
            reference = float(baseline[column].iloc[0])
            axes.set_ylim(top=max(axes.get_ylim()[1], reference * 1.05))
            axes.axhline(
                reference,
                color="black",
                linestyle="--",
                linewidth=1,
                label="equal-split baseline",
            )
        axes.set_xticks(range(len(scores)), scores)
        axes.set_ylabel(label)
        axes.grid(axis="y", alpha=0.3)
    panels[1].legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    figure.suptitle(title)
    return _save(figure, path)


def plot_seats_by_method(path: Path, table: pd.DataFrame, title: str) -> Path:
    """Plot predicted seats per party for every rule (one panel per score) against actual
    seats, with bootstrap intervals."""
    plt = _pyplot()
    scores = list(dict.fromkeys(table["score"]))
    parties = list(dict.fromkeys(table["party"]))
    rules = list(dict.fromkeys(table["rule"]))
    figure, axes_list = plt.subplots(
        1, len(scores), figsize=(3.6 * len(scores), 4), sharey=True, squeeze=False
    )
    width = 0.8 / (len(rules) + 1)
    for axes, score in zip(axes_list[0], scores, strict=True):
        rows = table[table["score"] == score]
        for r, rule in enumerate(rules):
            part = rows[rows["rule"] == rule].set_index("party").reindex(parties)
            values = part["seats_predicted"].to_numpy(dtype=float)
            low = pd.to_numeric(part["seats_low"], errors="coerce").to_numpy(dtype=float)
            high = pd.to_numeric(part["seats_high"], errors="coerce").to_numpy(dtype=float)
            error = [np.nan_to_num(values - low), np.nan_to_num(high - values)]
            positions = np.arange(len(parties)) + r * width
            axes.bar(positions, values, width, yerr=error, capsize=1.5, label=rule)
        actual = rows.drop_duplicates("party").set_index("party").reindex(parties)["seats_actual"]
        axes.bar(
            np.arange(len(parties)) + len(rules) * width,
            actual.to_numpy(dtype=float),
            width,
            color="black",
            label="actual",
        )
        axes.set_xticks(np.arange(len(parties)) + len(rules) * width / 2, parties)
        axes.set_title(score)
        axes.grid(axis="y", alpha=0.3)
    axes_list[0][0].set_ylabel("seats")
    axes_list[0][-1].legend(fontsize=6)
    figure.suptitle(title)
    return _save(figure, path)


def plot_states(path: Path, states: pd.DataFrame, score: str, rule: str, title: str) -> Path:
    """Plot predicted against actual seats per state and party for one score and rule."""
    plt = _pyplot()
    rows = states[(states["score"] == score) & (states["rule"] == rule)]
    figure, axes = plt.subplots(figsize=(6, 6))
    for party in dict.fromkeys(rows["party"]):
        part = rows[rows["party"] == party]
        axes.scatter(part["seats_actual"], part["seats_predicted"], label=party, alpha=0.7)
        for record in part.itertuples(index=False):
            if max(record.seats_actual, record.seats_predicted) >= 15:
                axes.annotate(
                    record.state, (record.seats_actual, record.seats_predicted), fontsize=6
                )
    top = max(
        1, int(rows[["seats_actual", "seats_predicted"]].to_numpy().max()) if len(rows) else 1
    )
    axes.plot([0, top], [0, top], color="grey", linestyle="--", linewidth=1, label="perfect")
    axes.set_xlabel("actual seats in the state")
    axes.set_ylabel("predicted seats in the state")
    axes.set_title(title)
    axes.legend(fontsize=8)
    axes.grid(alpha=0.3)
    return _save(figure, path)


def _markdown(result: BacktestResult) -> str:
    forecast = result.forecast
    summary = result.summary.copy()
    lines = [
        f"# Backtest: {result.name}",
        "",
        f"Tweets used: {forecast.ledger.rows_used} of {forecast.ledger.rows_read} read. "
        f"Seats: {forecast.total_seats}. Intervals: {result.n_resamples} bootstrap resamples, "
        f"{result.confidence:.0%} two-sided"
        + (
            f", corrected with the confusion matrix {forecast.correction.source} "
            f"({forecast.correction.method})."
            if forecast.correction
            else "."
        ),
        "",
    ]
    if result.calibrations:
        fitted = ", ".join(f"{c.name} k = {c.k:.2f}" for c in result.calibrations)
        lines += [f"Power-rule exponents fitted on other elections: {fitted}.", ""]
    lines += [
        "`total_abs_error` adds |predicted - actual| over every party in the result file, "
        "untracked parties included; `seats_misallocated_share` is half of it over the seats. "
        "`tracked_abs_error` allocates only the tracked parties' real seat total among them, "
        "so seats won by untracked parties do not put a floor under the error. "
        "`vote_share_mae_pp` compares the seat-rule weights with the actual vote shares, both "
        "renormalised over the tracked parties, in percentage points.",
        "",
        "## Every score and rule",
        "",
        markdown_table(summary),
        "",
    ]
    best = summary[summary["score"] != BASELINE_SCORE].nsmallest(1, "total_abs_error")
    if not best.empty:
        row = best.iloc[0]
        lines += [
            f"Smallest total error: {row['score']} with {row['rule']}, "
            f"{int(row['total_abs_error'])} seats "
            f"({row['seats_misallocated_share']:.1%} of seats misallocated).",
            "",
        ]
    if result.states_summary is not None:
        notes = result.state_notes
        lines += [
            "## By state",
            "",
            "States without tweets (not scored): "
            + (", ".join(notes["states_without_tweets"]) or "none")
            + ".",
            "Tweet locations that match no state: "
            + (
                ", ".join(f"{name} ({n})" for name, n in notes["unmatched_locations"].items())
                or "none"
            )
            + ".",
            f"Untracked parties ({OTHERS}) get no seats in a state forecast.",
            "",
            markdown_table(result.states_summary),
            "",
        ]
    return "\n".join(lines)


def write_backtest(result: BacktestResult, report_dir: Path) -> dict[str, Path]:
    """Write backtest.csv, backtest_summary.csv/.md, backtest.json and the charts, and, with
    state results, backtest_states.csv, backtest_states_summary.csv and backtest_states.png."""
    forecast = result.forecast
    paths = {
        "backtest.csv": write_csv(report_dir / "backtest.csv", result.table),
        "backtest_summary.csv": write_csv(report_dir / "backtest_summary.csv", result.summary),
        "backtest_summary.md": write_text(report_dir / "backtest_summary.md", _markdown(result)),
        "backtest.json": write_json(
            report_dir / "backtest.json",
            {
                **forecast.summary(),
                "calibrations": [c.__dict__ for c in result.calibrations],
                "n_resamples": result.n_resamples,
                "confidence": result.confidence,
                "states": result.state_notes or None,
            },
        ),
    }
    title = f"{result.name}: seat error by score and rule"
    paths["backtest.png"] = plot_errors(report_dir / "backtest.png", result.summary, title)
    paths["backtest_seats.png"] = plot_seats_by_method(
        report_dir / "backtest_seats.png", result.table, f"{result.name}: seats by score and rule"
    )
    if result.states is not None:
        paths["backtest_states.csv"] = write_csv(report_dir / "backtest_states.csv", result.states)
        paths["backtest_states_summary.csv"] = write_csv(
            report_dir / "backtest_states_summary.csv", result.states_summary
        )
        score, rule = forecast.score, forecast.rule
        label = next(
            (name for name in result.states_summary["rule"] if name.startswith(rule)), rule
        )
        paths["backtest_states.png"] = plot_states(
            report_dir / "backtest_states.png",
            result.states,
            score,
            label,
            f"{result.name} by state: {score} with {label}",
        )
    return paths
