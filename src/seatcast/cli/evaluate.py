"""``seatcast evaluate``: score a saved model on any labelled file.

Three forms:

* ``seatcast evaluate --model M --data D [--output X.json]``: one model's scores, with a
  confusion-matrix PNG beside the JSON;
* ``seatcast evaluate --compare --model M1 --model M2 --data D``: our models against VADER and
  TextBlob on the same rows -> ``REPORT_DIR/compare.md`` and ``compare.json``;
* ``seatcast evaluate --leak-check --config C``: cross-validation of an emoticon-labelled
  config with and without the label emoticons -> ``REPORT_DIR/leak_check.md`` and ``.json``.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from seatcast.cli._options import add_limit_options, add_run_options, limit_settings
from seatcast.cli._progress import ProgressFactory
from seatcast.cli.train import run_overrides
from seatcast.config import (
    LimitSettings,
    RunSettings,
    SourceSpec,
    find_project_root,
    load_train_config,
)
from seatcast.errors import ConfigError, UsageError
from seatcast.evaluation import (
    compare_with_baselines,
    evaluate_model,
    format_comparison,
    format_leak_check,
    leak_check,
)
from seatcast.io import RowLedger
from seatcast.model import load_model
from seatcast.report import (
    format_row_summary,
    plot_confusion_matrix,
    write_json,
    write_rejected,
    write_text,
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
    parser.add_argument(
        "--model",
        type=Path,
        action="append",
        default=None,
        help="model file (.skops); repeat with --compare to compare several models",
    )
    parser.add_argument("--data", type=Path, default=None, help="labelled tweet file")
    parser.add_argument(
        "--compare",
        action="store_true",
        help="compare the models with the VADER and TextBlob baselines on --data "
        "-> REPORT_DIR/compare.md and compare.json",
    )
    parser.add_argument(
        "--leak-check",
        action="store_true",
        help="cross-validate --config with and without its label-defining emoticons "
        "-> REPORT_DIR/leak_check.md and leak_check.json",
    )
    parser.add_argument(
        "--config",
        type=Path,
        default=None,
        help="training config for --leak-check (such as configs/train-twitter-samples.yaml)",
    )
    parser.add_argument(
        "--report-dir",
        type=Path,
        default=Path("reports/evaluation"),
        help="folder for the --compare and --leak-check reports (default: %(default)s)",
    )
    parser.add_argument("--text-column", default="text", help="column with the tweet text")
    parser.add_argument("--label-column", default="label", help="column with the label")
    parser.add_argument("--encoding", default="utf-8", help="input text encoding")
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
    add_limit_options(parser)
    add_run_options(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int | None:
    """Run ``seatcast evaluate``."""
    if args.compare and args.leak_check:
        raise ConfigError("choose one of --compare and --leak-check, not both")
    if args.leak_check:
        return _run_leak_check(args)
    if args.data is None:
        raise ConfigError("--data is required: pass the labelled file to score the model on")
    if not args.model:
        raise ConfigError("--model is required: pass the model file (.skops) to score")
    if args.compare:
        return _run_compare(args)
    if len(args.model) > 1:
        raise ConfigError("--model was given more than once; add --compare to compare models")
    args.model = args.model[0]
    return _run_single(args)


def _settings(args: argparse.Namespace) -> tuple[SourceSpec, RunSettings, LimitSettings]:
    try:
        spec = SourceSpec(
            path=str(args.data),
            format=args.format,
            text_column=args.text_column,
            label_column=args.label_column,
            encoding=args.encoding,
        )
        run_settings = RunSettings(
            jobs=args.jobs or 1,
            chunk_size=args.chunk_size or RunSettings().chunk_size,
            backend=args.backend or "processes",
            scheduler=args.scheduler,
        )
        limits = limit_settings(args)
    except ValueError as error:
        raise ConfigError(f"invalid option: {error}") from None
    return spec, run_settings, limits


def _run_compare(args: argparse.Namespace) -> None:
    spec, run_settings, limits = _settings(args)
    models = [load_model(path) for path in args.model]
    comparison = compare_with_baselines(
        models, spec, root=Path.cwd(), run=run_settings, limits=limits
    )
    text = format_comparison(comparison)
    markdown = write_text(args.report_dir / "compare.md", text)
    data = write_json(args.report_dir / "compare.json", comparison)
    print(text, end="")
    print(f"\nreport:  {markdown}\nmetrics: {data}")


def _run_leak_check(args: argparse.Namespace) -> None:
    if args.config is None:
        raise ConfigError("--leak-check needs --config, such as configs/train-twitter-samples.yaml")
    config = load_train_config(args.config, overrides=run_overrides(args))
    root = find_project_root(args.config.parent)
    result = leak_check(config, root)
    text = format_leak_check(result)
    markdown = write_text(args.report_dir / "leak_check.md", text)
    data = write_json(args.report_dir / "leak_check.json", result)
    print(text, end="")
    print(f"\nreport:  {markdown}\nmetrics: {data}")


def _run_single(args: argparse.Namespace) -> None:
    spec, run_settings, limits = _settings(args)
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
    except UsageError:
        # Written when the input makes the evaluation fail too, so that the user can see
        # which rows were unusable.
        if ledger.rows_read:
            path = _write_rejected(args.output, ledger)
            if path is not None:
                logger.warning("Wrote the %d rejected rows to %s", ledger.rows_rejected, path)
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
