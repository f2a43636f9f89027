"""``seatcast evaluate``: score a saved model on any labelled file."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from seatcast.cli._options import add_run_options
from seatcast.cli._progress import ProgressFactory
from seatcast.config import LimitSettings, RunSettings, SourceSpec
from seatcast.errors import ConfigError
from seatcast.evaluation import evaluate_model
from seatcast.model import load_model
from seatcast.report import plot_confusion_matrix, write_json, write_rejected

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
    except ValueError as error:
        raise ConfigError(f"invalid option: {error}") from None
    model = load_model(args.model)
    progress = ProgressFactory()
    try:
        metrics, (data, _) = evaluate_model(
            model,
            spec,
            root=Path.cwd(),
            run=run_settings,
            limits=LimitSettings(),
            progress=progress("tokenizing", None),
        )
    finally:
        progress.close()
    labels = metrics["labels"]
    print(
        f"{args.model} on {args.data}: {metrics['n_rows']} rows scored, "
        f"{metrics['n_rejected']} rejected"
    )
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
        if data.ledger.rows_rejected:
            rejected = write_rejected(
                args.output.parent / "rejected.csv", data.ledger.rejected_rows
            )
            print(f"rejected: {rejected}")
