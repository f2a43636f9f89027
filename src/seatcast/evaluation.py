"""Scoring models: on a labelled file, against lexicon baselines, and for emoticon leaks.

* :func:`evaluate_model` scores a saved model on any labelled file
  (``seatcast evaluate --model M --data D``);
* :func:`compare_with_baselines` puts our models, VADER and TextBlob side by side on the same
  rows (``seatcast evaluate --compare``, written to ``compare.md`` and ``compare.json``);
* :func:`leak_check` cross-validates an emoticon-labelled config with and without the
  label-defining emoticons (``seatcast evaluate --leak-check``, written to ``leak_check.md``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from seatcast.baselines import BASELINES, predict_baseline
from seatcast.config import LimitSettings, RunSettings, SourceSpec, TrainConfig
from seatcast.dataset import load_labelled_file, load_training_set
from seatcast.errors import DataError
from seatcast.io import RowLedger
from seatcast.model import LoadedModel, build_pipeline, cross_validate, fold_metrics

__all__ = [
    "compare_with_baselines",
    "evaluate_model",
    "format_comparison",
    "format_leak_check",
    "leak_check",
]

logger = logging.getLogger(__name__)


def evaluate_model(
    model: LoadedModel,
    spec: SourceSpec,
    *,
    root: Path,
    run: RunSettings,
    limits: LimitSettings,
    progress: Callable[[int], None] | None = None,
    ledger: RowLedger | None = None,
) -> tuple[dict[str, Any], Any]:
    """Score ``model`` on the labelled file ``spec``.

    Rows whose label the model cannot predict (neutral rows for a binary model) are excluded
    and counted. Returns the metrics (``accuracy``, ``macro_precision``, ``macro_recall``,
    ``macro_f1``, ``per_class``, ``confusion_matrix``, ``labels``, ``n_rows``, ``n_rejected``,
    ``rows``) and the evaluated data set. Pass ``ledger`` to keep the rejected rows when the
    evaluation fails.

    Raises
    ------
    DataError
        If no row with a label of the model remains.
    """
    data = load_labelled_file(
        spec, root, model.options, run, limits, model.labels, progress=progress, ledger=ledger
    )
    if len(data) == 0:
        raise DataError(
            f"{spec.path} has no rows labelled {', '.join(model.labels)}; "
            "check --label-column and the label values."
        )
    predicted, _ = model.predict_tokens(data.tokens)
    metrics = fold_metrics(data.labels, predicted, model.labels)
    metrics["labels"] = list(model.labels)
    metrics["n_rows"] = len(data)
    metrics["n_rejected"] = data.ledger.rows_rejected
    metrics["rows"] = data.ledger.summary()
    metrics["model"] = str(model.path)
    metrics["data"] = str(spec.path)
    return metrics, (data, predicted)


# ---------------------------------------------------------------------------------------------
# Comparison with the lexicon baselines

COMPARE_COLUMNS = ("accuracy", "macro_f1", "macro_recall")


def compare_with_baselines(
    models: Sequence[LoadedModel],
    spec: SourceSpec,
    *,
    root: Path,
    run: RunSettings,
    limits: LimitSettings,
    baselines: Sequence[str] = tuple(BASELINES),
) -> dict[str, Any]:
    """Score each model and each lexicon baseline on the same rows of a labelled file.

    Every model is compared in its own mode: a binary model on the file's positive and
    negative rows, a 3-class model on all rows. The baselines label the raw text of the same
    rows with the rules in :mod:`seatcast.baselines`.

    Returns
    -------
    dict
        ``data`` (the file), ``rules`` (each baseline's thresholds) and ``rows``: one entry per
        mode and system with its metrics, in the order models were given, each model followed
        by the baselines. ``losses`` lists every metric where a baseline scores at least as high
        as our model (empty when our model wins everywhere).
    """
    rows: list[dict[str, Any]] = []
    losses: list[str] = []
    for model in models:
        metrics, (data, _) = evaluate_model(model, spec, root=root, run=run, limits=limits)
        mode = "binary" if len(model.labels) == 2 else "3class"
        ours = _compare_row(mode, f"seatcast ({model.path.stem})", metrics, model.labels)
        rows.append(ours)
        for name in baselines:
            predicted = predict_baseline(name, data.texts, model.labels)
            baseline = _compare_row(
                mode, name, fold_metrics(data.labels, predicted, model.labels), model.labels
            )
            rows.append(baseline)
            for key, value in ours["scores"].items():
                if baseline["scores"][key] >= value:
                    losses.append(
                        f"{mode}: {name} {key} {baseline['scores'][key]:.3f} >= {value:.3f}"
                    )
        logger.info(
            "Compared %s with %s on %d rows", model.path.name, ", ".join(baselines), len(data)
        )
    return {
        "data": str(spec.path),
        "rules": {name: BASELINES[name][2] for name in baselines},
        "rows": rows,
        "losses": losses,
    }


def _compare_row(
    mode: str, system: str, metrics: dict[str, Any], labels: Sequence[str]
) -> dict[str, Any]:
    scores = {name: metrics[name] for name in COMPARE_COLUMNS}
    for label in labels:
        scores[f"{label}_precision"] = metrics["per_class"][label]["precision"]
        scores[f"{label}_recall"] = metrics["per_class"][label]["recall"]
    return {
        "mode": mode,
        "system": system,
        "n_rows": sum(item["support"] for item in metrics["per_class"].values()),
        "scores": scores,
        "confusion_matrix": metrics["confusion_matrix"],
        "labels": list(labels),
    }


def format_comparison(comparison: dict[str, Any]) -> str:
    """Format a :func:`compare_with_baselines` result as a Markdown report."""
    columns = [
        ("accuracy", "accuracy"),
        ("macro_f1", "macro-F1"),
        ("macro_recall", "macro recall"),
        ("negative_precision", "neg P"),
        ("negative_recall", "neg R"),
        ("neutral_precision", "neu P"),
        ("neutral_recall", "neu R"),
        ("positive_precision", "pos P"),
        ("positive_recall", "pos R"),
    ]
    lines = [
        "# Sentiment models against lexicon baselines",
        "",
        f"Data: `{comparison['data']}`. Binary rows use its positive and negative tweets only;",
        "3-class rows use every tweet. P is precision and R recall per class; the best value",
        "of each column within a mode is in bold.",
        "",
        "| mode | system | tweets | " + " | ".join(title for _, title in columns) + " |",
        "|---|---|---:|" + "---:|" * len(columns),
    ]
    for mode in dict.fromkeys(row["mode"] for row in comparison["rows"]):
        mode_rows = [row for row in comparison["rows"] if row["mode"] == mode]
        best = {key: max(row["scores"].get(key, -1.0) for row in mode_rows) for key, _ in columns}
        for row in mode_rows:
            cells = []
            for key, _ in columns:
                value = row["scores"].get(key)
                if value is None:
                    cells.append("")
                elif value == best[key]:
                    cells.append(f"**{value:.3f}**")
                else:
                    cells.append(f"{value:.3f}")
            lines.append(
                f"| {mode} | {row['system']} | {row['n_rows']} | " + " | ".join(cells) + " |"
            )
    lines += ["", "Baseline labelling rules:", ""]
    for name, rule in comparison["rules"].items():
        lines.append(f"- {name}: {rule}.")
    lines.append("")
    if comparison["losses"]:
        lines.append("Metrics where a baseline matches or beats seatcast:")
        lines.append("")
        lines += [f"- {item}" for item in comparison["losses"]]
    else:
        lines.append("seatcast scores higher than every baseline on every metric above.")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------
# Emoticon leak check


def leak_check(config: TrainConfig, root: Path) -> dict[str, Any]:
    """Cross-validate a config with and without removing the label-defining emoticons.

    For data labelled by the emoticons it contains (NLTK's twitter_samples), a model that keeps
    them can read the label off the text, and its cross-validation score says little about
    tweets without them. The difference between the two runs measures that leak.

    Returns
    -------
    dict
        ``runs``: for ``strip_label_emoticons`` false and true, the mean and standard deviation
        of each metric over the config's folds, and ``accuracy_gap`` between them.
    """
    runs = []
    for strip in (False, True):
        variant = config.model_copy(
            update={
                "preprocess": config.preprocess.model_copy(update={"strip_label_emoticons": strip})
            }
        )
        data = load_training_set(variant, root)
        pipeline = build_pipeline(variant.features, variant.model, variant.seed)
        cv = cross_validate(
            pipeline,
            data.tokens,
            data.labels,
            label_set=variant.labels,
            n_splits=variant.cv.n_splits,
            shuffle=variant.cv.shuffle,
            seed=variant.seed,
            jobs=variant.run.jobs,
        )
        runs.append(
            {
                "strip_label_emoticons": strip,
                "n_tweets": len(data),
                "n_splits": variant.cv.n_splits,
                "mean": {name: cv["mean"][name] for name in COMPARE_COLUMNS},
                "std": {name: cv["std"][name] for name in COMPARE_COLUMNS},
            }
        )
        logger.info(
            "Leak check, strip_label_emoticons=%s: CV accuracy %.4f", strip, cv["mean"]["accuracy"]
        )
    return {
        "config": config.name,
        "data": [spec.path for spec in config.data.train],
        "runs": runs,
        "accuracy_gap": runs[0]["mean"]["accuracy"] - runs[1]["mean"]["accuracy"],
    }


def format_leak_check(result: dict[str, Any]) -> str:
    """Format a :func:`leak_check` result as a Markdown report."""
    n_splits = result["runs"][0]["n_splits"]
    lines = [
        "# Emoticon leak check",
        "",
        f"Config `{result['config']}`: {n_splits}-fold stratified cross-validation on "
        + ", ".join(f"`{path}`" for path in result["data"])
        + ".",
        "Those tweets were collected by searching for happy and sad emoticons, so the emoticons",
        "define the label. With them left in, the model reads the label off the text.",
        "",
        "| label emoticons | tweets | accuracy | macro-F1 | macro recall |",
        "|---|---:|---:|---:|---:|",
    ]
    for run in result["runs"]:
        state = "removed" if run["strip_label_emoticons"] else "kept"
        cells = " | ".join(
            f"{run['mean'][name]:.3f} ± {run['std'][name]:.3f}" for name in COMPARE_COLUMNS
        )
        lines.append(f"| {state} | {run['n_tweets']} | {cells} |")
    lines += [
        "",
        f"Keeping the emoticons adds {100 * result['accuracy_gap']:.1f} points of accuracy that "
        "come from the labelling method, not from the language of the tweets.",
    ]
    return "\n".join(lines) + "\n"
