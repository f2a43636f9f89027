"""``seatcast backtest``: compare every score and seat rule with an election's real result."""

from __future__ import annotations

import argparse
import logging

from seatcast.backtest import BASELINE_SCORE, run_backtest
from seatcast.backtest_report import write_backtest
from seatcast.cli._options import add_election_options, add_run_options
from seatcast.cli._paths import add_output_options, output_dirs
from seatcast.cli._progress import ProgressFactory
from seatcast.cli.predict import format_cleaning
from seatcast.cli.train import run_overrides
from seatcast.config import load_election_config
from seatcast.errors import UsageError
from seatcast.io import RowLedger
from seatcast.report import format_row_summary, format_table, write_rejected

logger = logging.getLogger("seatcast")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``backtest`` subcommand."""
    parser = subparsers.add_parser(
        "backtest",
        help="compare every score and seat rule with an election's real result",
        description=(
            "Classify an election's tweets once, then allocate seats with every party score "
            "(pss, positive_ratio, net, mentions) and every seat rule (hamilton, dhondt, "
            "sainte-lague, power with the config's k and with k fitted on the elections in "
            "backtest.calibration_results), and compare with the config's `results`. With "
            "`constituency_results` and tweets that carry a state, also compare state by state. "
            "Writes reports/NAME/backtest.csv, backtest_summary.csv, backtest_summary.md, "
            "backtest.json, backtest.png, backtest_seats.png and, by state, "
            "backtest_states.csv, backtest_states_summary.csv and backtest_states.png."
        ),
    )
    add_election_options(
        parser,
        resamples_help="bootstrap resamples for the intervals "
        "(0 turns them off; default: the config's)",
    )
    parser.add_argument(
        "--seed", type=int, default=0, help="seed of the bootstrap resampling (default: 0)"
    )
    add_output_options(parser)
    add_run_options(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> None:
    """Run ``seatcast backtest``."""
    overrides = {**run_overrides(args), "model": args.model}
    config = load_election_config(args.config, overrides=overrides)
    root, _, reports_dir = output_dirs(args, args.config)
    report_dir = reports_dir / (config.name or "election")
    progress = ProgressFactory()
    ledger = RowLedger()
    try:
        result = run_backtest(
            config,
            root,
            progress=progress("classifying tweets", None),
            n_resamples=args.resamples,
            seed=args.seed,
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
    paths = write_backtest(result, report_dir)
    paths["rejected.csv"] = write_rejected(report_dir / "rejected.csv", ledger.rejected_rows)
    summary = result.forecast.summary()
    print(f"backtest of {result.name}: {result.forecast.total_seats} seats")
    print(format_row_summary(summary["rows"]))
    print(format_cleaning(summary))
    print()
    columns = [
        "score",
        "rule",
        "total_abs_error",
        "total_abs_error_low",
        "total_abs_error_high",
        "tracked_abs_error",
        "vote_share_mae_pp",
        "winner_predicted",
        "winner_actual",
    ]
    print(format_table(result.summary[columns], floatfmt=".1f"))
    methods = result.summary[result.summary["score"] != BASELINE_SCORE]
    best = methods.nsmallest(1, "total_abs_error").iloc[0]
    print(
        f"\nsmallest total absolute seat error: {int(best['total_abs_error'])} "
        f"({best['score']} with {best['rule']})"
    )
    if result.states_summary is not None:
        print("\nby state:")
        print(format_table(result.states_summary, floatfmt=".3f"))
    print()
    for name, path in paths.items():
        print(f"{name:<28} {path}")
