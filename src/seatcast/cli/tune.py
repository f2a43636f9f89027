"""``seatcast tune``: search C, class weights and n-gram ranges on the training data."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from seatcast.cli._options import add_run_options, positive_int
from seatcast.cli._paths import add_output_options, output_dirs
from seatcast.cli._progress import ProgressFactory
from seatcast.cli.train import run_overrides
from seatcast.config import load_train_config
from seatcast.tuning import SELECTION_METRICS, SELECTION_RULES, TuningGrid, tune

logger = logging.getLogger("seatcast")


def _float_list(value: str) -> tuple[float, ...]:
    try:
        numbers = tuple(float(item) for item in value.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated numbers such as 0.1,0.3,1; got {value!r}"
        ) from None
    if any(number <= 0 for number in numbers):
        raise argparse.ArgumentTypeError(f"every C must be positive; got {value!r}")
    return numbers


def _weight_list(value: str) -> tuple[str | None, ...]:
    weights: list[str | None] = []
    for item in value.split(","):
        if item == "balanced":
            weights.append("balanced")
        elif item == "none":
            weights.append(None)
        else:
            raise argparse.ArgumentTypeError(
                f"class weights must be balanced or none, comma-separated; got {item!r}"
            )
    return tuple(weights)


def _range_list(value: str, allow_none: bool) -> tuple[tuple[int, int] | None, ...]:
    ranges: list[tuple[int, int] | None] = []
    for item in value.split(","):
        if allow_none and item == "none":
            ranges.append(None)
            continue
        low, sep, high = item.partition("-")
        if not sep or not low.isdigit() or not high.isdigit() or not 1 <= int(low) <= int(high):
            example = "none,3-5,2-5" if allow_none else "1-2,1-3"
            raise argparse.ArgumentTypeError(
                f"expected comma-separated LOW-HIGH ranges such as {example}; got {item!r}"
            )
        ranges.append((int(low), int(high)))
    return tuple(ranges)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``tune`` subcommand."""
    parser = subparsers.add_parser(
        "tune",
        help="choose C, class weights and n-gram ranges by cross-validation",
        description=(
            "Search C, class weights and the word and character n-gram ranges of a training "
            "config by stratified k-fold cross-validation on its training data only (the "
            "development tweets stay excluded), write the best values into the config and the "
            "full table into reports/NAME/tuning.json. `seatcast train` then uses them."
        ),
    )
    parser.add_argument("--config", type=Path, required=True, help="training config (YAML)")
    parser.add_argument(
        "--metric",
        choices=SELECTION_METRICS,
        default=None,
        help="selection metric (default: accuracy for binary, macro_recall for 3class)",
    )
    parser.add_argument(
        "--rule",
        choices=SELECTION_RULES,
        default="one_se",
        help="one_se: the cheapest setting within one standard error of the best mean "
        "(default); best: the best mean",
    )
    parser.add_argument(
        "--inner-folds", type=positive_int, default=3, help="folds of the search (default: 3)"
    )
    parser.add_argument(
        "--outer-folds",
        type=int,
        default=0,
        help="also run nested cross-validation with this many outer folds (default: 0, off)",
    )
    parser.add_argument(
        "--C",
        dest="c_values",
        type=_float_list,
        default=None,
        metavar="LIST",
        help="C values to try, comma-separated (default: 0.05,0.1,0.2,0.35,0.5,0.75,1)",
    )
    parser.add_argument(
        "--class-weight",
        type=_weight_list,
        default=None,
        metavar="LIST",
        help="class weights to try: balanced, none (default: both)",
    )
    parser.add_argument(
        "--word-ngram-ranges",
        type=lambda value: _range_list(value, allow_none=False),
        default=None,
        metavar="LIST",
        help="word n-gram ranges to try (default: 1-2,1-3)",
    )
    parser.add_argument(
        "--char-ngram-ranges",
        type=lambda value: _range_list(value, allow_none=True),
        default=None,
        metavar="LIST",
        help="character n-gram ranges to try, none for no character n-grams "
        "(default: none,3-5,2-5)",
    )
    parser.add_argument(
        "--no-offsets",
        action="store_true",
        help="do not fit per-class decision offsets for the chosen setting",
    )
    parser.add_argument(
        "--no-write", action="store_true", help="only write the report; leave the config as it is"
    )
    add_output_options(parser)
    add_run_options(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> None:
    """Run ``seatcast tune``."""
    config = load_train_config(args.config, overrides=run_overrides(args))
    root, _, reports_dir = output_dirs(args, args.config)
    defaults = TuningGrid()
    grid = TuningGrid(
        C=args.c_values or defaults.C,
        class_weight=args.class_weight or defaults.class_weight,
        word_ngram_range=args.word_ngram_ranges or defaults.word_ngram_range,
        char_ngram_range=args.char_ngram_ranges or defaults.char_ngram_range,
    )
    progress = ProgressFactory()
    try:
        result = tune(
            config,
            args.config,
            root,
            reports_dir=reports_dir,
            grid=grid,
            metric=args.metric,
            inner_folds=args.inner_folds,
            outer_folds=args.outer_folds,
            rule=args.rule,
            offsets=not args.no_offsets,
            write_config=not args.no_write,
            progress=progress,
        )
    finally:
        progress.close()
    print(
        f"{len(result.candidates)} candidates, {args.inner_folds}-fold CV, by {result.metric}, "
        f"{args.rule} rule (* marks the choice)"
    )
    print(f"{'rank':>5} {result.metric:>13} {'± std':>7}  features / model")
    ranked = sorted(result.candidates, key=lambda item: item["rank"])
    shown = [entry for entry in ranked[:10]]
    shown += [entry for entry in ranked[10:] if entry["chosen"]]
    for entry in shown:
        mark = "*" if entry["chosen"] else " "
        print(
            f"{mark}{entry['rank']:>4} {entry['mean'][result.metric]:>13.4f} "
            f"{entry['std'][result.metric]:>7.4f}  {entry['features']} {entry['model']}"
        )
    if result.nested is not None:
        nested = result.nested
        print(
            f"nested {nested['outer_folds']}-fold {result.metric}: "
            f"{nested['mean'][result.metric]:.4f} ± {nested['std'][result.metric]:.4f}"
        )
    for key, value in result.chosen.items():
        print(f"chosen  {key} = {value}")
    if result.class_offsets is not None:
        offsets = result.class_offsets
        state = "written" if offsets["written"] else "not written: the config has no such key"
        print(
            f"class offsets {offsets['values']} ({state}): out-of-fold {result.metric} "
            f"{offsets['score_without']:.4f} -> {offsets['score_with']:.4f}"
        )
    if result.config_path is not None:
        print(f"config:  {result.config_path} (updated)")
    print(f"report:  {result.report_path}")
