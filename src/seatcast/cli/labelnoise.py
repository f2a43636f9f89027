"""``seatcast labelnoise``: measure how far classifier errors move each party's PSS."""

from __future__ import annotations

import argparse

from seatcast.cli._options import add_election_options, add_run_options
from seatcast.cli._paths import add_output_options, output_dirs
from seatcast.cli._progress import ProgressFactory
from seatcast.cli.predict import format_cleaning
from seatcast.cli.train import run_overrides
from seatcast.config import load_election_config
from seatcast.labelnoise import run_label_noise, write_label_noise
from seatcast.report import format_table


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``labelnoise`` subcommand."""
    parser = subparsers.add_parser(
        "labelnoise",
        help="measure how classifier errors shift each party's PSS on gold-labelled tweets",
        description=(
            "Classify a corpus whose sources have gold labels (`label_column`) and compare each "
            "party's PSS from gold labels with the PSS from predicted labels, on the same tweets. "
            "Writes reports/NAME/label_noise.csv, label_noise.md, label_noise.png, "
            "confusion_matrix.json (for `bootstrap.confusion_matrix`) and predictions.csv.gz."
        ),
    )
    add_election_options(
        parser, resamples_help="bootstrap resamples for the shift intervals (default: the config's)"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the resampling (default: 0)")
    add_output_options(parser)
    add_run_options(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> None:
    """Run ``seatcast labelnoise``."""
    config = load_election_config(
        args.config, overrides={**run_overrides(args), "model": args.model}
    )
    root, _, reports_dir = output_dirs(args, args.config)
    report_dir = reports_dir / (config.name or "election")
    progress = ProgressFactory()
    try:
        result = run_label_noise(
            config,
            root,
            report_dir / "predictions.csv.gz",
            progress=progress("classifying tweets", None),
            n_resamples=args.resamples,
            seed=args.seed,
        )
    finally:
        progress.close()
    paths = write_label_noise(result, report_dir)
    matrix = result.matrix
    print(f"label noise of {result.name}: {matrix['n_tweets']} gold-polar tweets")
    print(format_cleaning(result.forecast.summary()))
    print(
        f"\nconfusion matrix (rows gold negative/positive, columns predicted): {matrix['matrix']}"
        f"; accuracy {matrix['accuracy']:.3f}"
    )
    print()
    print(format_table(result.table, floatfmt=".4f"))
    print()
    for name, path in paths.items():
        print(f"{name:<22} {path}")
