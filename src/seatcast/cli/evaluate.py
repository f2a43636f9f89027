"""``seatcast evaluate``: score a saved model on any labelled file."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from seatcast.cli._options import add_run_options
from seatcast.cli._progress import ProgressFactory
from seatcast.config import LimitSettings, RunSettings, SourceSpec
from seatcast.errors import ConfigError, SeatcastError
from seatcast.evaluation import evaluate_model
from seatcast.io import RowLedger
from seatcast.model import load_model
from seatcast.report import (
    format_row_summary,
    plot_confusion_matrix,
    write_json,
    write_rejected,
)

logger = logging.getLogger("seatcast")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``evaluate`` subcommand."""
    parser = subparsers.add_parser(
        "evaluate",
        help="score a saved model on a labelled file",
        description=(
            "Score a saved model on a labelled file: accuracy, macro precision, recall and F1, "
            "per-class precision and recall, and the confusion matrix. Rows with a label the "
            "model does not predict (neutral rows for a binary model) are counted and left out."
        ),
    )
    parser.add_argument("--model", type=Path, required=True, help="model file (.skops)")
    parser.add_argument("--data", type=Path, required=True, help="labelled tweet file")
    parser.add_argument("--text-column", default="text", help="column with the tweet text")
    parser.add_argument("--label-column", default="label", help="column with the label")
    parser.add_argument(
        "--format",
        default="auto",
        choices=("auto", "csv", "tsv", "jsonl", "semeval"),
        help="input format (default: from the file name)",
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=None,
        help="metrics JSON to write; a confusion-matrix PNG and rejected.csv go beside it",
    )
    parser.add_argument(
        "--max-rejected-share",
        type=float,
        default=LimitSettings().max_rejected_share,
        help="fail when more than this share of rows is unusable (default: %(default)s)",
    )
    add_run_options(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> None:
    """Run ``seatcast evaluate``."""
    try:
        spec = SourceSpec(
            path=str(args.data),
            format=args.format,
            text_column=args.text_column,
            label_column=args.label_column,
        )
        run_settings = RunSettings(
            jobs=args.jobs or 1,
            chunk_size=args.chunk_size or RunSettings().chunk_size,
            backend=args.backend or "processes",
            scheduler=args.scheduler,
        )
        limits = LimitSettings(max_rejected_share=args.max_rejected_share)
    except ValueError as error:
        raise ConfigError(f"invalid option: {error}") from None
    model = load_model(args.model)
    progress = ProgressFactory()
    ledger = RowLedger()
    try:
        metrics, (data, _) = evaluate_model(
            model,
            spec,
            root=Path.cwd(),
            run=run_settings,
            limits=limits,
            progress=progress("tokenizing", None),
            ledger=ledger,
        )
    except SeatcastError:
        # Written when the evaluation fails too, so that the user can see which rows were
        # unusable.
        if ledger.rows_read:
            _write_rejected(args.output, ledger)
        raise
    finally:
        progress.close()
    labels = metrics["labels"]
    print(
        f"{args.model} on {args.data}: {metrics['n_rows']} rows scored, "
        f"{metrics['n_rejected']} rejected"
    )
    print(format_row_summary(ledger.summary()))
    for name in ("accuracy", "macro_precision", "macro_recall", "macro_f1"):
        print(f"{name:<16} {metrics[name]:.3f}")
    print(f"{'class':<10} {'precision':>9} {'recall':>7} {'f1':>7} {'support':>8}")
    for label in labels:
        row = metrics["per_class"][label]
        print(
            f"{label:<10} {row['precision']:>9.3f} {row['recall']:>7.3f} {row['f1']:>7.3f} "
            f"{row['support']:>8}"
        )
    print("confusion matrix (rows true, columns predicted): " + ", ".join(labels))
    for label, row in zip(labels, metrics["confusion_matrix"], strict=True):
        print(f"  {label:<10} {row}")
    if args.output is not None:
        write_json(args.output, metrics)
        png = plot_confusion_matrix(
            args.output.with_suffix(".png"),
            metrics["confusion_matrix"],
            labels,
            f"{args.model.stem} on {args.data.name}",
        )
        print(f"metrics: {args.output}\nplot:    {png}")
    rejected = _write_rejected(args.output, data.ledger)
    if rejected is not None:
        print(f"rejected: {rejected}")


def _write_rejected(output: Path | None, ledger: RowLedger) -> Path | None:
    """Write rejected.csv beside ``output``, or say how to get it when there is no output."""
    if output is not None:
        return write_rejected(output.parent / "rejected.csv", ledger.rejected_rows)
    if ledger.rows_rejected:
        logger.warning(
            "%d rows were rejected; pass --output to write them to rejected.csv",
            ledger.rows_rejected,
        )
    return None
