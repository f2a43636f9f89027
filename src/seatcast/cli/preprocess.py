"""``seatcast preprocess``: clean and tokenize a tweet file into JSON Lines."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from seatcast.cli._options import add_limit_options, add_run_options, limit_settings
from seatcast.cli._progress import ProgressFactory
from seatcast.config import PreprocessSettings, RunSettings, SourceSpec
from seatcast.corpus import preprocess_file
from seatcast.dataset import clean_options
from seatcast.errors import ConfigError, UsageError
from seatcast.io import RowLedger
from seatcast.report import format_row_summary, write_rejected

logger = logging.getLogger("seatcast")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``preprocess`` subcommand."""
    parser = subparsers.add_parser(
        "preprocess",
        help="clean and tokenize a tweet file into JSON Lines",
        description=(
            "Clean and tokenize every usable row of INPUT (CSV, TSV, JSON Lines, SemEval, or "
            ".gz of each) on a worker pool, and write one JSON object per row, in input "
            'order: {"line": N, "tokens": [...]}. The input is read and the output written '
            "in chunks, so memory does not grow with the file. The output is the same bytes "
            "for any --jobs. Unusable rows go to a rejected.csv beside the output."
        ),
    )
    parser.add_argument("input", type=Path, help="tweet file to read")
    parser.add_argument(
        "--output",
        "-o",
        type=Path,
        required=True,
        help="JSON Lines file to write (gzip-compressed when it ends in .gz)",
    )
    parser.add_argument("--text-column", default="text", help="column with the tweet text")
    parser.add_argument(
        "--format",
        default="auto",
        choices=("auto", "csv", "tsv", "jsonl", "semeval"),
        help="input format (default: from the file name)",
    )
    parser.add_argument("--encoding", default="utf-8", help="input text encoding")
    parser.add_argument(
        "--strip-label-emoticons",
        action="store_true",
        help="drop the emoticons that label emoticon-labelled sets such as :) and :(",
    )
    add_limit_options(parser)
    add_run_options(parser, with_config=False)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> None:
    """Run ``seatcast preprocess``."""
    try:
        spec = SourceSpec(
            path=str(args.input),
            format=args.format,
            text_column=args.text_column,
            encoding=args.encoding,
        )
        run_settings = RunSettings(
            jobs=args.jobs or RunSettings().jobs,
            chunk_size=args.chunk_size or RunSettings().chunk_size,
            backend=args.backend or "processes",
            scheduler=args.scheduler,
        )
        limits = limit_settings(args)
    except ValueError as error:
        raise ConfigError(f"invalid option: {error}") from None
    options = clean_options(PreprocessSettings(strip_label_emoticons=args.strip_label_emoticons))
    if args.output.resolve() == args.input.resolve():
        raise ConfigError("--output must differ from the input file; it would overwrite it.")
    progress = ProgressFactory()
    ledger = RowLedger()
    rejected_path = args.output.parent / "rejected.csv"
    try:
        preprocess_file(
            spec,
            args.output,
            root=Path.cwd(),
            options=options,
            run=run_settings,
            limits=limits,
            progress=progress("tokenizing", None),
            ledger=ledger,
        )
    except UsageError:
        # Written when the input makes the run fail too (too many rejected rows, say), so
        # that the user can see which rows were unusable. A run that is interrupted or whose
        # worker dies writes nothing.
        if ledger.rows_rejected:
            write_rejected(rejected_path, ledger.rejected_rows)
            logger.warning("Wrote the %d rejected rows to %s", ledger.rows_rejected, rejected_path)
        raise
    finally:
        progress.close()
    if ledger.rows_rejected:
        write_rejected(rejected_path, ledger.rejected_rows)
    print(format_row_summary(ledger.summary()))
    print(f"output:   {args.output}")
    if ledger.rows_rejected:
        print(f"rejected: {rejected_path}")
