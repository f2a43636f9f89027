"""Hyperparameter search for a training config, on its training data only.

:func:`tune` is what ``seatcast tune --config configs/NAME.yaml`` runs. It reads the same
training set as ``seatcast train`` (development tweets excluded), so the development split
never influences the chosen values. The search is a grid over feature settings (word and
character n-gram ranges), the SVM's ``C`` and its class weights:

* every candidate is scored by stratified k-fold cross-validation on the training data
  (``inner_folds``, 3 by default); the vectorizers are fit inside each fold, once per feature
  setting and fold, and every ``C`` and class weight reuses those vectors;
* the choice follows the one-standard-error rule, a common model-selection heuristic: the
  first grid entry, in order of cheaper features and then smaller ``C``, whose mean score is
  within one standard error of the best mean. Differences smaller than that are noise, and
  cheaper features classify faster. ``rule="best"`` takes the best mean instead;
* with ``outer_folds`` set, the whole search is repeated inside each outer fold and scored on
  the outer test part (nested cross-validation), which estimates how well the tuned model
  generalises without the optimism of picking the best of many candidates.

After the choice, :func:`fit_class_offsets` picks one offset per class to add to the SVM's
decision values, from the out-of-fold decision values of the chosen setting: the offsets that
maximise the selection metric on a grid from -0.5 to 0.5 (the largest class stays at 0). For
macro recall this moves the boundaries towards the smaller classes.

The chosen values are written into the config file, changing only the lines of those keys
(comments and layout stay), and the full result table goes to ``reports/NAME/tuning.json``.
"""

from __future__ import annotations

import itertools
import json
import logging
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from joblib import Parallel, delayed
from sklearn.model_selection import StratifiedKFold
from sklearn.svm import LinearSVC

from seatcast.config import FeatureSettings, TrainConfig, load_train_config
from seatcast.dataset import load_training_set
from seatcast.errors import ConfigError, DataError
from seatcast.features import build_features
from seatcast.model import build_pipeline, fold_metrics
from seatcast.report import write_json, write_text

__all__ = [
    "DEFAULT_CHAR_RANGES",
    "DEFAULT_CLASS_WEIGHTS",
    "DEFAULT_C_VALUES",
    "DEFAULT_WORD_RANGES",
    "SELECTION_METRICS",
    "SELECTION_RULES",
    "TuningGrid",
    "TuningResult",
    "fit_class_offsets",
    "format_value",
    "mark_choice",
    "search",
    "set_config_values",
    "tune",
]

logger = logging.getLogger(__name__)

DEFAULT_C_VALUES = (0.05, 0.1, 0.2, 0.35, 0.5, 0.75, 1.0)
DEFAULT_CLASS_WEIGHTS: tuple[str | None, ...] = ("balanced", None)
DEFAULT_WORD_RANGES: tuple[tuple[int, int], ...] = ((1, 2), (1, 3))
DEFAULT_CHAR_RANGES: tuple[tuple[int, int] | None, ...] = (None, (3, 5), (2, 5))
SELECTION_METRICS = ("accuracy", "macro_recall", "macro_f1")
SELECTION_RULES = ("one_se", "best")

# The metric each mode is judged by in the project's targets: accuracy for the binary model,
# macro recall (the SemEval-2017 Task 4A measure) for the 3-class model.
DEFAULT_METRIC = {"binary": "accuracy", "3class": "macro_recall"}


@dataclass(frozen=True)
class TuningGrid:
    """The values to search; feature candidates are every word range with every char range."""

    C: tuple[float, ...] = DEFAULT_C_VALUES
    class_weight: tuple[str | None, ...] = DEFAULT_CLASS_WEIGHTS
    word_ngram_range: tuple[tuple[int, int], ...] = DEFAULT_WORD_RANGES
    char_ngram_range: tuple[tuple[int, int] | None, ...] = DEFAULT_CHAR_RANGES

    def __post_init__(self) -> None:
        if not self.C or any(value <= 0 for value in self.C):
            raise ConfigError(f"`C` values must be positive numbers; got {list(self.C)}")
        for weight in self.class_weight:
            if weight not in ("balanced", None):
                raise ConfigError(f"`class_weight` must be balanced or none; got {weight!r}")
        if not self.class_weight or not self.word_ngram_range or not self.char_ngram_range:
            raise ConfigError("every grid dimension needs at least one value")

    def feature_candidates(self) -> list[dict[str, Any]]:
        """Return the feature settings to try, cheapest first (word range, then char range)."""
        return [
            {
                "word_ngram_range": list(word),
                "char_ngram_range": None if char is None else list(char),
            }
            for word, char in itertools.product(self.word_ngram_range, self.char_ngram_range)
        ]

    def model_candidates(self) -> list[dict[str, Any]]:
        """Return the SVM settings to try, in order of ``C`` then class weight."""
        return [
            {"C": float(c), "class_weight": weight}
            for c, weight in itertools.product(sorted(self.C), self.class_weight)
        ]


@dataclass
class TuningResult:
    """The outcome of :func:`tune`."""

    chosen: dict[str, Any]
    metric: str
    score: float
    report_path: Path
    config_path: Path | None
    candidates: list[dict[str, Any]] = field(default_factory=list)
    nested: dict[str, Any] | None = None
    class_offsets: dict[str, Any] | None = None


def _score_feature_fold(
    base: FeatureSettings,
    feature_values: dict[str, Any],
    model_candidates: list[dict[str, Any]],
    documents: list[list[str]],
    labels: np.ndarray,
    train_index: np.ndarray,
    test_index: np.ndarray,
    label_set: Sequence[str],
    max_iter: int,
    seed: int,
) -> list[dict[str, Any]]:
    """Fit one feature setting on one fold and score every SVM setting on it."""
    settings = base.model_copy(update=feature_values)
    features = build_features(settings)
    train_x = features.fit_transform([documents[i] for i in train_index])
    test_x = features.transform([documents[i] for i in test_index])
    scores = []
    for candidate in model_candidates:
        svm = LinearSVC(
            C=candidate["C"],
            class_weight=candidate["class_weight"],
            max_iter=max_iter,
            random_state=seed,
        )
        svm.fit(train_x, labels[train_index])
        metrics = fold_metrics(labels[test_index], svm.predict(test_x), label_set)
        scores.append({name: metrics[name] for name in SELECTION_METRICS})
    return scores


def search(
    documents: list[list[str]],
    labels: Sequence[str],
    *,
    config: TrainConfig,
    grid: TuningGrid,
    metric: str,
    inner_folds: int,
    rule: str = "one_se",
    jobs: int = 1,
    progress: Callable[[int], None] | None = None,
) -> list[dict[str, Any]]:
    """Score every grid candidate by stratified k-fold cross-validation on ``documents``.

    Returns
    -------
    list of dict
        One entry per candidate, in grid order: ``features`` and ``model`` (the values tried),
        ``mean`` and ``std`` of each metric over the folds, ``rank`` by the mean of ``metric``
        (ties going to the earlier entry) and ``chosen`` (true for exactly one entry, picked by
        ``rule``: see the module notes).

    Raises
    ------
    DataError
        If a label has fewer tweets than ``inner_folds``.
    """
    if metric not in SELECTION_METRICS:
        raise ConfigError(f"`metric` must be one of {', '.join(SELECTION_METRICS)}; got {metric!r}")
    if rule not in SELECTION_RULES:
        raise ConfigError(f"`rule` must be one of {', '.join(SELECTION_RULES)}; got {rule!r}")
    y = np.asarray(labels)
    classes, counts = np.unique(y, return_counts=True)
    if len(classes) < 2 or counts.min() < inner_folds:
        raise DataError(
            f"tuning with {inner_folds} folds needs at least {inner_folds} tweets of each of at "
            f"least two labels; got {dict(zip(classes.tolist(), counts.tolist(), strict=True))}. "
            "Add labelled data or lower --inner-folds."
        )
    splitter = StratifiedKFold(n_splits=inner_folds, shuffle=True, random_state=config.seed)
    folds = list(splitter.split(np.zeros(len(y)), y))
    feature_candidates = grid.feature_candidates()
    model_candidates = grid.model_candidates()
    tasks = [
        delayed(_score_feature_fold)(
            config.features,
            feature_values,
            model_candidates,
            documents,
            y,
            train,
            test,
            config.labels,
            config.model.max_iter,
            config.seed,
        )
        for feature_values in feature_candidates
        for train, test in folds
    ]
    results = []
    for result in Parallel(n_jobs=jobs, return_as="generator")(tasks):
        results.append(result)
        if progress is not None:
            progress(1)

    table = []
    for f_index, feature_values in enumerate(feature_candidates):
        fold_scores = results[f_index * inner_folds : (f_index + 1) * inner_folds]
        for m_index, model_values in enumerate(model_candidates):
            per_fold = [scores[m_index] for scores in fold_scores]
            table.append(
                {
                    "features": feature_values,
                    "model": model_values,
                    "mean": {
                        name: float(np.mean([fold[name] for fold in per_fold]))
                        for name in SELECTION_METRICS
                    },
                    "std": {
                        name: float(np.std([fold[name] for fold in per_fold], ddof=1))
                        for name in SELECTION_METRICS
                    },
                }
            )
    # Stable sort: equal scores keep grid order, so the cheaper candidate ranks first.
    order = sorted(range(len(table)), key=lambda i: -table[i]["mean"][metric])
    for rank, index in enumerate(order, start=1):
        table[index]["rank"] = rank
    mark_choice(table, metric, rule, inner_folds)
    return table


def mark_choice(table: list[dict[str, Any]], metric: str, rule: str, n_folds: int) -> None:
    """Set ``chosen`` on the entry of a ranked grid table that ``rule`` picks.

    Grid order puts cheaper features and smaller ``C`` first, so under ``one_se`` the first
    entry whose mean reaches the best mean minus its standard error (``std / sqrt(n_folds)``)
    is the simplest good one.
    """
    best = min(table, key=lambda entry: entry["rank"])
    threshold = best["mean"][metric]
    if rule == "one_se":
        threshold -= best["std"][metric] / np.sqrt(n_folds)
    chosen = next(entry for entry in table if entry["mean"][metric] >= threshold)
    for entry in table:
        entry["chosen"] = entry is chosen


def _best(table: list[dict[str, Any]]) -> dict[str, Any]:
    return next(entry for entry in table if entry["chosen"])


def _chosen_config(config: TrainConfig, best: dict[str, Any]) -> TrainConfig:
    return config.model_copy(
        update={
            "features": config.features.model_copy(update=best["features"]),
            "model": config.model.model_copy(update=best["model"]),
        }
    )


def _nested(
    config: TrainConfig,
    documents: list[list[str]],
    labels: list[str],
    *,
    grid: TuningGrid,
    metric: str,
    inner_folds: int,
    outer_folds: int,
    rule: str,
    jobs: int,
    progress: Callable[[int], None] | None,
) -> dict[str, Any]:
    """Run the whole search inside each outer fold and score its choice on the outer test part."""
    y = np.asarray(labels)
    splitter = StratifiedKFold(n_splits=outer_folds, shuffle=True, random_state=config.seed + 1)
    folds = []
    for fold, (train, test) in enumerate(splitter.split(np.zeros(len(y)), y), start=1):
        train_documents = [documents[i] for i in train]
        table = search(
            train_documents,
            y[train].tolist(),
            config=config,
            grid=grid,
            metric=metric,
            inner_folds=inner_folds,
            rule=rule,
            jobs=jobs,
            progress=progress,
        )
        best = _best(table)
        tuned = _chosen_config(config, best)
        pipeline = build_pipeline(tuned.features, tuned.model, config.seed)
        pipeline.fit(train_documents, y[train])
        predicted = pipeline.predict([documents[i] for i in test])
        metrics = fold_metrics(y[test], predicted, config.labels)
        folds.append(
            {
                "fold": fold,
                "chosen": {"features": best["features"], "model": best["model"]},
                "inner_score": best["mean"][metric],
                **{name: metrics[name] for name in SELECTION_METRICS},
            }
        )
        logger.info(
            "Nested fold %d/%d: chose %s %s, outer %s %.4f",
            fold,
            outer_folds,
            best["features"],
            best["model"],
            metric,
            metrics[metric],
        )
    return {
        "outer_folds": outer_folds,
        "folds": folds,
        "mean": {name: float(np.mean([f[name] for f in folds])) for name in SELECTION_METRICS},
        "std": {
            name: float(np.std([f[name] for f in folds], ddof=1)) for name in SELECTION_METRICS
        },
    }


OFFSET_GRID = np.round(np.arange(-0.5, 0.501, 0.05), 2)


def _fold_decisions(
    settings: TrainConfig,
    documents: list[list[str]],
    labels: np.ndarray,
    train_index: np.ndarray,
    test_index: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    pipeline = build_pipeline(settings.features, settings.model, settings.seed)
    pipeline.fit([documents[i] for i in train_index], labels[train_index])
    decisions = pipeline.decision_function([documents[i] for i in test_index])
    return test_index, np.asarray(decisions)


def _metric_from_predictions(
    true_index: np.ndarray, predicted_index: np.ndarray, n_classes: int, metric: str
) -> float:
    matrix = np.bincount(
        true_index * n_classes + predicted_index, minlength=n_classes * n_classes
    ).reshape(n_classes, n_classes)
    correct = np.diag(matrix).astype(float)
    if metric == "accuracy":
        return float(correct.sum() / matrix.sum())
    recall = correct / np.maximum(matrix.sum(axis=1), 1)
    if metric == "macro_recall":
        return float(recall.mean())
    precision = correct / np.maximum(matrix.sum(axis=0), 1)
    f1 = np.divide(
        2 * precision * recall,
        precision + recall,
        out=np.zeros(n_classes),
        where=(precision + recall) > 0,
    )
    return float(f1.mean())


def fit_class_offsets(
    decisions: np.ndarray, labels: Sequence[str], classes: Sequence[str], metric: str
) -> tuple[dict[str, float], float, float]:
    """Choose per-class offsets for decision values that maximise ``metric``.

    Parameters
    ----------
    decisions : ndarray
        Out-of-fold decision values: one column per class, or one column for two classes
        (positive towards ``classes[1]``).
    labels : sequence of str
        The true label of each row.
    classes : sequence of str
        The SVM's classes, in the order of the decision columns.
    metric : {"accuracy", "macro_recall", "macro_f1"}
        What to maximise.

    Returns
    -------
    tuple
        The offsets (every class, the largest class at 0), the metric without offsets and the
        metric with them. Among equal scores the offsets with the smallest total size win, so
        no offset is chosen unless it helps.
    """
    classes = list(classes)
    y = np.asarray([classes.index(label) for label in labels])
    k = len(classes)
    counts = np.bincount(y, minlength=k)
    if decisions.ndim == 1 or decisions.shape[1] == 1:
        scores = decisions.reshape(-1)
        free = [1]
        candidates = [(value,) for value in OFFSET_GRID]

        def predict(offsets: np.ndarray) -> np.ndarray:
            return (scores + offsets[1] - offsets[0] > 0).astype(int)

    else:
        reference = int(np.argmax(counts))
        free = [index for index in range(k) if index != reference]
        candidates = list(itertools.product(OFFSET_GRID, repeat=len(free)))

        def predict(offsets: np.ndarray) -> np.ndarray:
            return np.argmax(decisions + offsets, axis=1)

    candidates.sort(key=lambda values: float(np.abs(values).sum()))
    baseline = _metric_from_predictions(y, predict(np.zeros(k)), k, metric)
    best_score, best_offsets = baseline, np.zeros(k)
    for values in candidates:
        offsets = np.zeros(k)
        offsets[free] = values
        score = _metric_from_predictions(y, predict(offsets), k, metric)
        if score > best_score + 1e-12:
            best_score, best_offsets = score, offsets
    chosen = {label: float(best_offsets[i]) for i, label in enumerate(classes)}
    return chosen, baseline, best_score


def _offsets_for(
    config: TrainConfig,
    best: dict[str, Any],
    documents: list[list[str]],
    labels: list[str],
    *,
    metric: str,
    inner_folds: int,
    jobs: int,
) -> dict[str, Any]:
    """Fit class offsets on out-of-fold decision values of the chosen setting."""
    tuned = _chosen_config(config, best)
    y = np.asarray(labels)
    splitter = StratifiedKFold(n_splits=inner_folds, shuffle=True, random_state=config.seed)
    tasks = [
        delayed(_fold_decisions)(tuned, documents, y, train, test)
        for train, test in splitter.split(np.zeros(len(y)), y)
    ]
    parts = Parallel(n_jobs=jobs)(tasks)
    first = parts[0][1]
    decisions = np.zeros((len(y), *first.shape[1:]))
    for index, values in parts:
        decisions[index] = values
    classes = sorted(config.labels)
    offsets, before, after = fit_class_offsets(decisions, labels, classes, metric)
    logger.info("Class offsets %s: out-of-fold %s %.4f -> %.4f", offsets, metric, before, after)
    return {"values": offsets, "score_without": before, "score_with": after}


def tune(
    config: TrainConfig,
    config_path: Path,
    root: Path,
    *,
    reports_dir: Path,
    grid: TuningGrid | None = None,
    metric: str | None = None,
    inner_folds: int = 3,
    outer_folds: int = 0,
    rule: str = "one_se",
    offsets: bool = True,
    write_config: bool = True,
    progress: Callable[[str, int | None], Callable[[int], None]] | None = None,
) -> TuningResult:
    """Search the grid on a config's training data and write the chosen values back.

    Parameters
    ----------
    config : TrainConfig
        The validated training config.
    config_path : Path
        The YAML file the config came from; the chosen values are written into it.
    root : Path
        The folder that relative data paths are resolved against.
    reports_dir : Path
        ``tuning.json`` goes to ``reports_dir / config.name``.
    grid : TuningGrid, default=None
        The values to search (default: :class:`TuningGrid`'s defaults).
    metric : {"accuracy", "macro_recall", "macro_f1"}, default=None
        The selection metric; accuracy for a binary config and macro recall for a 3-class one
        when not given.
    inner_folds : int, default=3
        Folds of the selection cross-validation.
    outer_folds : int, default=0
        Folds of the nested cross-validation; 0 skips it.
    rule : {"one_se", "best"}, default="one_se"
        How the winner is picked from the scored grid (see the module notes).
    offsets : bool, default=True
        Whether to fit per-class decision offsets for the chosen setting.
    write_config : bool, default=True
        Whether to write the chosen values into ``config_path``.

    Raises
    ------
    ConfigError
        If a setting is invalid or the config file cannot be rewritten.
    DataError
        If the training data cannot be read or is too small for the folds.
    """
    grid = grid or TuningGrid()
    metric = metric or DEFAULT_METRIC[config.mode]
    if inner_folds < 2:
        raise ConfigError(f"`inner_folds` must be at least 2; got {inner_folds}")
    if outer_folds == 1 or outer_folds < 0:
        raise ConfigError(f"`outer_folds` must be 0 (off) or at least 2; got {outer_folds}")
    name = config.name or "model"
    started = time.perf_counter()

    step = progress("tokenizing", None) if progress else None
    data = load_training_set(config, root, progress=step)
    if len(data) == 0:
        raise DataError("no usable training tweets remain; check the data section of the config.")
    n_tasks = len(grid.feature_candidates()) * inner_folds
    step = progress("tuning (feature setting x fold)", n_tasks) if progress else None
    table = search(
        data.tokens,
        data.labels,
        config=config,
        grid=grid,
        metric=metric,
        inner_folds=inner_folds,
        rule=rule,
        jobs=config.run.jobs,
        progress=step,
    )
    best = _best(table)
    logger.info(
        "Chose from %d candidates by %s (%s rule): %.4f with %s %s",
        len(table),
        metric,
        rule,
        best["mean"][metric],
        best["features"],
        best["model"],
    )
    nested = None
    if outer_folds:
        step = progress("nested folds", outer_folds * n_tasks) if progress else None
        nested = _nested(
            config,
            data.tokens,
            data.labels,
            grid=grid,
            metric=metric,
            inner_folds=inner_folds,
            outer_folds=outer_folds,
            rule=rule,
            jobs=config.run.jobs,
            progress=step,
        )

    chosen = {
        "features.word_ngram_range": best["features"]["word_ngram_range"],
        "features.char_ngram_range": best["features"]["char_ngram_range"],
        "model.C": best["model"]["C"],
        "model.class_weight": best["model"]["class_weight"],
    }
    class_offsets = None
    if offsets:
        class_offsets = _offsets_for(
            config,
            best,
            data.tokens,
            data.labels,
            metric=metric,
            inner_folds=inner_folds,
            jobs=config.run.jobs,
        )
        # NOTE: the config schema has no `model.class_offsets` key yet; until it has, the
        # offsets are only reported.
        class_offsets["written"] = "class_offsets" in type(config.model).model_fields
        if class_offsets["written"]:
            chosen["model.class_offsets"] = class_offsets["values"]
        else:
            logger.warning(
                "Class offsets %s raise the out-of-fold %s from %.4f to %.4f, but the config "
                "schema has no `model.class_offsets` key, so they are only in the report",
                class_offsets["values"],
                metric,
                class_offsets["score_without"],
                class_offsets["score_with"],
            )
    written = None
    if write_config:
        set_config_values(config_path, chosen)
        written = config_path
    report = {
        "name": name,
        "mode": config.mode,
        "config": str(config_path),
        "written_to_config": write_config,
        "method": (
            f"stratified {inner_folds}-fold cross-validation on the training data only "
            "(development tweets excluded); vectorizers fit inside each fold"
        ),
        "metric": metric,
        "rule": rule,
        "n_tweets": len(data),
        "label_counts": {label: data.labels.count(label) for label in config.labels},
        "grid": {
            "C": list(grid.C),
            "class_weight": list(grid.class_weight),
            "word_ngram_range": [list(item) for item in grid.word_ngram_range],
            "char_ngram_range": [
                None if item is None else list(item) for item in grid.char_ngram_range
            ],
        },
        "fixed": {
            "features": config.features.model_dump(mode="json"),
            "calibrate": config.model.calibrate,
        },
        "chosen": chosen,
        "chosen_score": best["mean"][metric],
        "chosen_std": best["std"][metric],
        "best_score": max(entry["mean"][metric] for entry in table),
        "nested": nested,
        "class_offsets": class_offsets,
        "candidates": sorted(table, key=lambda entry: entry["rank"]),
        "seconds": round(time.perf_counter() - started, 1),
    }
    report_path = write_json(reports_dir / name / "tuning.json", report)
    return TuningResult(
        chosen=chosen,
        metric=metric,
        score=best["mean"][metric],
        report_path=report_path,
        config_path=written,
        candidates=table,
        nested=nested,
        class_offsets=class_offsets,
    )


# ---------------------------------------------------------------------------------------------
# Writing values into a YAML config without disturbing the rest of it

_SECTION_RE = re.compile(r"^(?P<name>[A-Za-z_][\w-]*):(?P<rest>.*)$")
_KEY_RE = re.compile(
    r"^(?P<indent>[ ]+)(?P<key>[A-Za-z_][\w-]*):(?P<space>[ ]*)(?P<value>[^#]*?)"
    r"(?P<comment>[ ]+#.*)?$"
)


def format_value(value: Any) -> str:
    """Write a config value in YAML flow style: ``null``, ``0.35``, ``balanced``, ``[1, 2]``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(format_value(item) for item in value) + "]"
    if isinstance(value, dict):
        items = (f"{format_value(key)}: {format_value(item)}" for key, item in value.items())
        return "{" + ", ".join(items) + "}"
    if isinstance(value, str) and re.fullmatch(r"[A-Za-z_][\w.-]*", value):
        if value.lower() in ("null", "true", "false", "yes", "no", "on", "off", "none", "~"):
            return json.dumps(value)
        return value
    return json.dumps(value)


def _is_top_level(line: str) -> bool:
    return bool(line.strip()) and not line.startswith((" ", "\t", "#"))


def set_config_values(path: Path, values: dict[str, Any]) -> None:
    """Set dotted ``section.key`` values in a YAML config, changing only those lines.

    A key's line keeps its indentation and trailing comment; a missing key is added at the end
    of its section, and a missing section at the end of the file. The result is validated as a
    training config and written atomically.

    Raises
    ------
    ConfigError
        If a section is written in flow style (``model: {C: 0.5}``), a key is nested deeper
        than one level, or the rewritten file does not load with the new values.
    """
    path = Path(path)
    lines = path.read_text(encoding="utf-8").splitlines()
    for dotted, value in values.items():
        section, _, key = dotted.partition(".")
        if not key or "." in key:
            raise ConfigError(f"`{dotted}` must be a section.key pair; got {dotted!r}")
        lines = _set_line(lines, path, section, key, format_value(value))
    text = "\n".join(lines) + "\n"

    # Validate before replacing the file: the new text must load with exactly these values.
    check_path = path.with_name(f".{path.name}.check")
    try:
        check_path.write_text(text, encoding="utf-8")
        loaded = load_train_config(check_path).model_dump(mode="json")
    except ConfigError as error:
        message = str(error).replace(str(check_path), str(path))
        raise ConfigError(f"{message} The file was left unchanged.") from None
    finally:
        check_path.unlink(missing_ok=True)
    for dotted, value in values.items():
        section, _, key = dotted.partition(".")
        expected = list(value) if isinstance(value, tuple) else value
        if loaded[section][key] != expected:
            raise ConfigError(
                f"rewriting {path} set `{dotted}` to {loaded[section][key]!r}, not {expected!r}; "
                "edit the file by hand or run with --no-write."
            )
    write_text(path, text)
    logger.info("Wrote %s into %s", ", ".join(values), path)


def _set_line(lines: list[str], path: Path, section: str, key: str, value: str) -> list[str]:
    header = None
    for index, line in enumerate(lines):
        match = _SECTION_RE.match(line)
        if match and match["name"] == section:
            rest = match["rest"].split("#", 1)[0].strip()
            if rest:
                raise ConfigError(
                    f"{path} line {index + 1}: `{section}` is written in flow style; write it "
                    "as an indented block so that `seatcast tune` can update it, or run with "
                    "--no-write."
                )
            header = index
            break
    if header is None:
        return [*lines, f"{section}:", f"  {key}: {value}"]

    # The section's block runs to the next top-level line.
    end = header + 1
    while end < len(lines) and not _is_top_level(lines[end]):
        end += 1
    indent = "  "
    last_entry = header
    for index in range(header + 1, end):
        match = _KEY_RE.match(lines[index])
        if match is None:
            continue
        last_entry = index
        indent = match["indent"]
        if match["key"] == key:
            lines = list(lines)
            comment = match["comment"] or ""
            lines[index] = f"{match['indent']}{key}: {value}{comment}"
            return lines
    lines = list(lines)
    lines.insert(last_entry + 1, f"{indent}{key}: {value}")
    return lines
