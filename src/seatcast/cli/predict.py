"""``seatcast predict``: forecast an election's seats from its tweets."""

from __future__ import annotations

import argparse
import logging

from seatcast.cli._options import add_election_options, add_run_options
from seatcast.cli._paths import add_output_options, output_dirs
from seatcast.cli._progress import ProgressFactory
from seatcast.cli.train import run_overrides
from seatcast.config import load_election_config
from seatcast.errors import UsageError
from seatcast.forecast import run_forecast
from seatcast.io import RowLedger
from seatcast.report import (
    format_row_summary,
    format_table,
    seat_table,
    write_forecast,
    write_rejected,
)
from seatcast.subevents import run_subevents

logger = logging.getLogger("seatcast")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``predict`` subcommand."""
    parser = subparsers.add_parser(
        "predict",
        help="forecast seats from an election's tweets",
        description=(
            "Classify every tweet of an election corpus, count positive and negative tweets "
            "per party, compute each party's score (PSS by default) and convert the scores "
            "into seats. configs/elections/NAME.yaml writes reports/NAME/seats.csv, seats.json, "
            "seats.png, summary.json, predictions.csv.gz and rejected.csv, and, with "
            "`subevents.enabled`, subevents.csv, subevents.md and subevents.png."
        ),
    )
    add_election_options(
        parser,
        resamples_help="bootstrap resamples for the intervals "
        "(0 turns them off; default: the config's)",
    )
    add_output_options(parser)
    add_run_options(parser)
    parser.set_defaults(func=run)


def format_cleaning(summary: dict) -> str:
    """Format the count-cleaning and attribution counts, zeros included, for the terminal."""
    counts = summary["cleaning"]
    settings = summary["settings"]
    cap = settings["max_tweets_per_user"]
    lines = [
        "count cleaning and attribution:",
        f"  retweets dropped          {counts['retweets']:>8}"
        + ("" if settings["drop_retweets"] else "  (drop_retweets is off)"),
        f"  exact duplicates dropped  {counts['exact_duplicates']:>8}",
        f"  near duplicates dropped   {counts['near_duplicates']:>8}"
        f"  (duplicates: {settings['duplicates']})",
        f"  over per-user cap         {counts['over_user_cap']:>8}"
        + (f"  ({counts['users_capped']} users reached {cap})" if cap else "  (no cap)"),
        f"  matching no party         {counts['unmatched']:>8}",
        f"  several parties, dropped  {counts['multiple_dropped']:>8}",
        f"  several parties, counted  {counts['multiple_counted']:>8}"
        f"  (multi_party: {settings['multi_party']})",
        f"  below min_confidence      {counts['below_min_confidence']:>8}",
    ]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> None:
    """Run ``seatcast predict``."""
    overrides = {
        **run_overrides(args),
        "model": args.model,
        "bootstrap.n_resamples": args.resamples,
    }
    config = load_election_config(args.config, overrides=overrides)
    root, _, reports_dir = output_dirs(args, args.config)
    report_dir = reports_dir / (config.name or "election")
    progress = ProgressFactory()
    ledger = RowLedger()
    try:
        result = run_forecast(
            config,
            root,
            predictions_path=report_dir / "predictions.csv.gz",
            progress=progress("classifying tweets", None),
            ledger=ledger,
        )
    except UsageError:
        # Written when the input makes the run fail too (too many rejected rows, say), so
        # that the user can see which rows were unusable. A run that is interrupted or whose
        # worker dies writes nothing.
        if ledger.rows_read:
            path = write_rejected(report_dir / "rejected.csv", ledger.rejected_rows)
            logger.warning("Wrote the %d rejected rows to %s", ledger.rows_rejected, path)
        raise
    finally:
        progress.close()
    paths = write_forecast(result, report_dir)
    if config.subevents.enabled:
        if any(source.date_column for source in config.corpus):
            paths.update(run_subevents(config, root, report_dir))
        else:
            # Sub-events are on by default; a corpus without dates still gets its forecast.
            logger.warning(
                "Skipped sub-events: no corpus source sets `date_column`. Set it to find "
                "topics per time window, or set `subevents.enabled: false` to hide this warning."
            )
    print(
        f"{result.name}: {result.score} score, {result.rule} rule, {result.total_seats} seats"
        + (f" (k = {result.k:g})" if result.rule == "power" else "")
    )
    print(format_row_summary(result.ledger.summary()))
    print(format_cleaning(result.summary()))
    print()
    print(format_table(seat_table(result.table)))
    if "seat_error" in result.table.columns:
        error = result.table["seat_error"].abs().sum()
        print(f"\ntotal absolute seat error: {error}")
    print()
    for name, path in paths.items():
        print(f"{name:<22} {path}")
    print(f"{'predictions.csv.gz':<22} {report_dir / 'predictions.csv.gz'}")
