"""``seatcast train``: cross-validate and fit the sentiment model of a config."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from seatcast.cli._options import add_run_options
from seatcast.cli._paths import add_output_options, output_dirs
from seatcast.cli._progress import ProgressFactory
from seatcast.config import load_train_config
from seatcast.report import format_row_summary
from seatcast.training import train

logger = logging.getLogger("seatcast")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``train`` subcommand."""
    parser = subparsers.add_parser(
        "train",
        help="cross-validate and fit the sentiment model",
        description=(
            "Train the sentiment model described by a config: read and tokenize the labelled "
            "tweets, score the model with stratified k-fold cross-validation, refit it on all "
            "the data and save it. configs/NAME.yaml writes models/NAME.skops, models/NAME.json "
            "and reports/NAME/metrics.json."
        ),
    )
    parser.add_argument("--config", type=Path, required=True, help="training config (YAML)")
    parser.add_argument(
        "--no-cv", action="store_true", help="skip cross-validation and only fit the model"
    )
    add_output_options(parser)
    add_run_options(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> None:
    """Run ``seatcast train``."""
    config = load_train_config(args.config, overrides=run_overrides(args))
    root, models_dir, reports_dir = output_dirs(args, args.config)
    progress = ProgressFactory()
    try:
        result = train(
            config,
            root,
            models_dir=models_dir,
            reports_dir=reports_dir,
            run_cv=not args.no_cv,
            progress=progress,
        )
    finally:
        progress.close()
    metrics = result.metrics
    print(format_row_summary(metrics["rows"]))
    if "folds" in metrics:
        print(format_cv_summary(metrics))
    print(f"model:   {result.model_path}")
    print(f"metrics: {result.metrics_path}")
    if result.plot_path:
        print(f"plot:    {result.plot_path}")


def run_overrides(args: argparse.Namespace) -> dict[str, object]:
    """Return the config keys that the shared run options override."""
    return {
        "run.jobs": args.jobs,
        "run.chunk_size": args.chunk_size,
        "run.backend": args.backend,
        "run.scheduler": args.scheduler,
    }


def format_cv_summary(metrics: dict) -> str:
    """Format the cross-validation scores as a short table: metric, mean ± std, range."""
    folds = metrics["folds"]
    lines = [
        f"{metrics['n_splits']}-fold stratified cross-validation, {metrics['mode']} model, "
        f"{sum(metrics['label_counts'].values())} tweets {metrics['label_counts']}",
        f"{'metric':<20} {'mean':>7} {'± std':>7} {'min':>7} {'max':>7}",
    ]
    names = ["accuracy", "macro_precision", "macro_recall", "macro_f1"]
    for label in metrics["labels"]:
        names += [f"{label}_precision", f"{label}_recall", f"{label}_f1"]
    for name in names:
        if name in metrics["mean"]:
            if "_" in name and name.split("_")[0] in metrics["labels"]:
                label, measure = name.split("_", 1)
                values = [fold["per_class"][label][measure] for fold in folds]
            else:
                values = [fold[name] for fold in folds]
            lines.append(
                f"{name:<20} {metrics['mean'][name]:>7.3f} {metrics['std'][name]:>7.3f} "
                f"{min(values):>7.3f} {max(values):>7.3f}"
            )
    return "\n".join(lines)
