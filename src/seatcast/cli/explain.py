"""``seatcast explain``: show what a model has learnt, or why it labelled one tweet."""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

from seatcast.cli._options import positive_int
from seatcast.explain import explain_text, top_features
from seatcast.model import load_model

logger = logging.getLogger("seatcast")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``explain`` subcommand."""
    parser = subparsers.add_parser(
        "explain",
        help="list a model's strongest features, or explain one tweet's label",
        description=(
            "Without --text, list the features with the largest weight towards each class. "
            "With --text, clean and classify that tweet and list the features that contributed "
            "most to its score (value x weight); the intercept plus all contributions is the "
            "score. Feature parts: word (n-grams, _NEG marks a negated token), char (character "
            "n-grams, a space marks a token edge) and tweet (counts)."
        ),
    )
    parser.add_argument("--model", type=Path, required=True, help="model file (.skops)")
    parser.add_argument("--text", default=None, help="a tweet to explain")
    parser.add_argument(
        "--top",
        type=positive_int,
        default=None,
        help="features to list per class, or for --text (default: 20, or 15 for --text)",
    )
    parser.add_argument("--json", action="store_true", help="print JSON instead of tables")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> None:
    """Run ``seatcast explain``."""
    model = load_model(args.model)
    if args.text is None:
        result = top_features(model, n=args.top or 20)
        if args.json:
            print(json.dumps(result, indent=2, ensure_ascii=False))
            return
        for label, rows in result.items():
            print(f"strongest features for {label}:")
            print(f"  {'weight':>8}  {'part':<5}  feature")
            for row in rows:
                print(f"  {row['weight']:>8.3f}  {row['part']:<5}  {row['feature']!r}")
            print()
        return

    result = explain_text(model, args.text, n=args.top or 15)
    if args.json:
        print(json.dumps(result, indent=2, ensure_ascii=False))
        return
    kind = "probability" if result["calibrated"] else "margin"
    print(f"tokens: {' '.join(result['tokens'])}")
    print(f"label:  {result['label']} ({kind} {result['confidence']:.3f})")
    print("scores: " + ", ".join(f"{k} {v:+.3f}" for k, v in result["scores"].items()))
    print(
        f"contributions to the {result['explained_class']} score "
        f"({len(result['contributions'])} of {result['n_active']} active features):"
    )
    print(f"  {'value':>7} {'weight':>8} {'contrib':>8}  {'part':<5}  feature")
    for row in result["contributions"]:
        print(
            f"  {row['value']:>7.3f} {row['weight']:>8.3f} {row['contribution']:>+8.3f}  "
            f"{row['part']:<5}  {row['feature']!r}"
        )
    print(f"  {'':>7} {'':>8} {result['rest']:>+8.3f}  (other features)")
    print(f"  {'':>7} {'':>8} {result['intercept']:>+8.3f}  (intercept)")
    total = result["scores"][result["explained_class"]]
    print(f"  {'':>7} {'':>8} {total:>+8.3f}  = {result['explained_class']} score")
