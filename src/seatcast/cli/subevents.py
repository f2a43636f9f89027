"""``seatcast subevents``: topics per time window, with each party's sentiment per topic."""

from __future__ import annotations

import argparse
from pathlib import Path

from seatcast.cli._paths import add_output_options, output_dirs
from seatcast.config import load_election_config
from seatcast.subevents import run_subevents


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``subevents`` subcommand."""
    parser = subparsers.add_parser(
        "subevents",
        help="find the topics of each time window in a forecast's classified tweets",
        description=(
            "Read reports/NAME/predictions.csv.gz (written by `seatcast predict`) and the corpus "
            "texts, group each time window's tweets into TF-IDF + NMF topics, and report each "
            "topic's top terms, size and per-party sentiment. Settings come from the config's "
            "`subevents` section. Writes reports/NAME/subevents.csv, subevents_windows.csv, "
            "subevents.md and subevents.png."
        ),
    )
    parser.add_argument("--config", type=Path, required=True, help="election config (YAML)")
    add_output_options(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> None:
    """Run ``seatcast subevents``."""
    config = load_election_config(args.config)
    root, _, reports_dir = output_dirs(args, args.config)
    paths = run_subevents(config, root, reports_dir / (config.name or "election"))
    for name, path in paths.items():
        print(f"{name:<22} {path}")
