"""The sentiment model: building, cross-validating, fitting, saving and loading it.

The model is a scikit-learn :class:`~sklearn.pipeline.Pipeline` of the feature union from
:mod:`seatcast.features` and a :class:`~sklearn.svm.LinearSVC`, optionally wrapped in
:class:`~sklearn.calibration.CalibratedClassifierCV` for probabilities. Its input is a list of
token lists, so tweets are tokenized once, while the vectorizers are fit inside each fold.

Models are saved with ``skops``, whose format does not run code on load. Beside each model
``NAME.skops`` sits ``NAME.json`` with its metadata, including the SHA-256 of the model file.
:func:`load_model` refuses a file whose hash, label set or scikit-learn version does not match.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import sklearn
from joblib import Parallel, delayed
from sklearn.base import clone
from sklearn.calibration import CalibratedClassifierCV
from sklearn.metrics import accuracy_score, confusion_matrix, precision_recall_fscore_support
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.svm import LinearSVC

from seatcast import __version__
from seatcast.config import FeatureSettings, ModelSettings, PreprocessSettings
from seatcast.errors import DataError, ModelError
from seatcast.features import build_features
from seatcast.preprocess import CleanOptions, clean_chunk, clean_chunk_lines, line_cache
from seatcast.scoring import LinearScorer, TokenLessons
from seatcast.units import UnitCache

__all__ = [
    "MODEL_SUFFIX",
    "LoadedModel",
    "OffsetLinearSVC",
    "SharedScoring",
    "build_pipeline",
    "cross_validate",
    "fold_metrics",
    "load_model",
    "save_model",
    "score_chunk",
    "summarize_folds",
]

logger = logging.getLogger(__name__)

MODEL_SUFFIX = ".skops"
METADATA_FORMAT = 1
METRIC_NAMES = ("accuracy", "macro_precision", "macro_recall", "macro_f1")

# Types that a seatcast model file may contain beyond skops' own safe defaults (which cover
# scikit-learn's estimators, NumPy and SciPy containers). Anything else in a file is refused
# before it is loaded. tests/test_model.py checks that a freshly trained model of every kind
# loads with this list, so a new feature class fails a test until it is added here.
TRUSTED_TYPES = (
    "seatcast.features.CharNgrams",
    "seatcast.features.TweetFeatures",
    "seatcast.features.WordNgrams",
    "seatcast.model.OffsetLinearSVC",
    "sklearn.calibration.CalibratedClassifierCV",
    "sklearn.calibration._CalibratedClassifier",
    "sklearn.calibration._SigmoidCalibration",
    "sklearn.pipeline.FeatureUnion",
    "sklearn.pipeline.Pipeline",
    "sklearn.svm._classes.LinearSVC",
)


class OffsetLinearSVC(LinearSVC):
    """A :class:`~sklearn.svm.LinearSVC` whose decision values get a fixed offset per class.

    After fitting, ``class_offsets[label]`` is added to that class's intercept (for two
    classes, the second class's offset minus the first's is added to the one intercept). A
    positive offset makes the SVM predict that class more often, which trades its precision
    for recall; ``seatcast tune`` picks the offsets that maximise the selection metric on
    out-of-fold decision values of the training data.

    Parameters
    ----------
    class_offsets : dict of str to float, default=None
        Offset per class label; labels not listed get 0.
    **kwargs
        Passed to :class:`~sklearn.svm.LinearSVC`.
    """

    _parameter_constraints: ClassVar[dict] = {
        **LinearSVC._parameter_constraints,
        "class_offsets": [dict, None],
    }

    def __init__(
        self,
        penalty="l2",
        loss="squared_hinge",
        *,
        dual="auto",
        tol=1e-4,
        C=1.0,  # noqa: N803 - scikit-learn's parameter name
        multi_class="ovr",
        fit_intercept=True,
        intercept_scaling=1,
        class_weight=None,
        verbose=0,
        random_state=None,
        max_iter=1000,
        class_offsets=None,
    ):
        super().__init__(
            penalty=penalty,
            loss=loss,
            dual=dual,
            tol=tol,
            C=C,
            multi_class=multi_class,
            fit_intercept=fit_intercept,
            intercept_scaling=intercept_scaling,
            class_weight=class_weight,
            verbose=verbose,
            random_state=random_state,
            max_iter=max_iter,
        )
        self.class_offsets = class_offsets

    def fit(self, X, y, sample_weight=None):  # noqa: N803 - scikit-learn's signature
        """Fit the SVM, then add the class offsets to its intercepts."""
        super().fit(X, y, sample_weight=sample_weight)
        offsets = np.array(
            [float((self.class_offsets or {}).get(str(label), 0.0)) for label in self.classes_]
        )
        if len(self.classes_) == 2:
            self.intercept_ = self.intercept_ + (offsets[1] - offsets[0])
        else:
            self.intercept_ = self.intercept_ + offsets
        return self


def build_pipeline(features: FeatureSettings, model: ModelSettings, seed: int) -> Pipeline:
    """Build the unfitted feature and classifier pipeline.

    With ``model.calibrate`` the SVM is wrapped in a sigmoid (Platt)
    :class:`~sklearn.calibration.CalibratedClassifierCV` with ``model.calibration_folds``
    internal folds, so that ``predict_proba`` gives class probabilities.
    """
    offsets = dict(getattr(model, "class_offsets", None) or {})
    svm: Any
    if offsets:
        svm = OffsetLinearSVC(
            C=model.C,
            class_weight=model.class_weight,
            max_iter=model.max_iter,
            random_state=seed,
            class_offsets=offsets,
        )
    else:
        svm = LinearSVC(
            C=model.C,
            class_weight=model.class_weight,
            max_iter=model.max_iter,
            random_state=seed,
        )
    classifier: Any = svm
    if model.calibrate:
        classifier = CalibratedClassifierCV(svm, method="sigmoid", cv=model.calibration_folds)
    return Pipeline([("features", build_features(features)), ("svm", classifier)])


def fold_metrics(
    y_true: Sequence[str], y_pred: Sequence[str], labels: Sequence[str]
) -> dict[str, Any]:
    """Compute accuracy, macro and per-class precision, recall and F1, and the confusion
    matrix (rows are true labels, columns predicted, both in ``labels`` order)."""
    labels = list(labels)
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=labels, zero_division=0
    )
    return {
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "macro_precision": float(np.mean(precision)),
        "macro_recall": float(np.mean(recall)),
        "macro_f1": float(np.mean(f1)),
        "per_class": {
            label: {
                "precision": float(precision[i]),
                "recall": float(recall[i]),
                "f1": float(f1[i]),
                "support": int(support[i]),
            }
            for i, label in enumerate(labels)
        },
        "confusion_matrix": confusion_matrix(y_true, y_pred, labels=labels).tolist(),
    }


def _run_fold(pipeline, documents, labels, train_index, test_index, label_set, fold):
    model = clone(pipeline)
    model.fit([documents[i] for i in train_index], labels[train_index])
    predicted = model.predict([documents[i] for i in test_index])
    metrics = fold_metrics(labels[test_index], predicted, label_set)
    metrics["fold"] = fold
    metrics["n_train"] = len(train_index)
    metrics["n_test"] = len(test_index)
    return metrics


def summarize_folds(folds: list[dict[str, Any]], labels: Sequence[str]) -> dict[str, Any]:
    """Return the mean and standard deviation of each metric over folds."""
    mean: dict[str, Any] = {}
    std: dict[str, Any] = {}
    for name in METRIC_NAMES:
        values = np.array([fold[name] for fold in folds])
        mean[name] = float(values.mean())
        std[name] = float(values.std(ddof=1)) if len(values) > 1 else 0.0
    for label in labels:
        for name in ("precision", "recall", "f1"):
            values = np.array([fold["per_class"][label][name] for fold in folds])
            mean[f"{label}_{name}"] = float(values.mean())
            std[f"{label}_{name}"] = float(values.std(ddof=1)) if len(values) > 1 else 0.0
    return {"mean": mean, "std": std}


def cross_validate(
    pipeline: Pipeline,
    documents: list[list[str]],
    labels: Sequence[str],
    *,
    label_set: Sequence[str],
    n_splits: int,
    shuffle: bool,
    seed: int,
    jobs: int = 1,
    progress: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Score the pipeline with stratified k-fold cross-validation.

    Each fold fits a fresh clone of the pipeline, vectorizers included, on its training part
    only. Folds run on ``jobs`` processes.

    Returns
    -------
    dict
        ``n_splits``, ``seed``, ``labels``, ``folds`` (metrics per fold), ``mean`` and ``std``.

    Raises
    ------
    DataError
        If a class has fewer tweets than ``n_splits``.
    """
    y = np.asarray(labels)
    classes, counts = np.unique(y, return_counts=True)
    too_small = [f"{c} ({n})" for c, n in zip(classes, counts, strict=True) if n < n_splits]
    if too_small or len(classes) < 2:
        raise DataError(
            f"cross-validation with {n_splits} folds needs at least {n_splits} tweets of each "
            f"of at least two labels; too few: {', '.join(too_small) or 'only one label'}. "
            "Add labelled data or lower cv.n_splits."
        )
    splitter = StratifiedKFold(
        n_splits=n_splits, shuffle=shuffle, random_state=seed if shuffle else None
    )
    tasks = (
        delayed(_run_fold)(pipeline, documents, y, train, test, label_set, fold)
        for fold, (train, test) in enumerate(splitter.split(np.zeros(len(y)), y), start=1)
    )
    folds = []
    for result in Parallel(n_jobs=jobs, return_as="generator")(tasks):
        folds.append(result)
        if progress is not None:
            progress(1)
    return {
        "n_splits": n_splits,
        "shuffle": shuffle,
        "seed": seed,
        "labels": list(label_set),
        "folds": folds,
        **summarize_folds(folds, label_set),
    }


# ---------------------------------------------------------------------------------------------
# Saving and loading


def save_model(pipeline: Pipeline, path: Path, metadata: dict[str, Any]) -> dict[str, Any]:
    """Save a fitted pipeline with skops and its metadata as JSON beside it, atomically.

    Returns the metadata as written, with ``model_sha256`` and the library versions added.
    """
    import skops
    import skops.io as sio

    from seatcast.dataset import file_sha256
    from seatcast.report import atomic_path, write_json

    path = Path(path)
    with atomic_path(path) as temporary:
        sio.dump(pipeline, temporary)
        digest = file_sha256(temporary)
    full = {
        "format": METADATA_FORMAT,
        "seatcast_version": __version__,
        "sklearn_version": sklearn.__version__,
        "skops_version": skops.__version__,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "model_file": path.name,
        "model_sha256": digest,
        **metadata,
    }
    write_json(path.with_suffix(".json"), full)
    return full


def _major_minor(version: str) -> tuple[str, ...]:
    return tuple(version.split(".")[:2])


@dataclass
class LoadedModel:
    """A loaded pipeline with its metadata and the cleaning options it was trained with."""

    pipeline: Pipeline
    metadata: dict[str, Any]
    options: CleanOptions
    path: Path
    _scorer: LinearScorer | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def labels(self) -> tuple[str, ...]:
        """Return the model's label set."""
        return tuple(self.metadata["labels"])

    @property
    def calibrated(self) -> bool:
        """Whether the model gives class probabilities (``model.calibrate`` was set)."""
        return bool(self.metadata.get("calibrated")) and hasattr(self.pipeline, "predict_proba")

    @property
    def scorer(self) -> LinearScorer | None:
        """The fast scorer of an uncalibrated model, built on first use; ``None`` otherwise."""
        if self._scorer is None and not self.calibrated and LinearScorer.supports(self.pipeline):
            self._scorer = LinearScorer(self.pipeline)
        return self._scorer

    def predict_tokens(self, documents: list[list[str]]) -> tuple[list[str], np.ndarray]:
        """Return the predicted label and its confidence for each token list.

        The confidence is the predicted class's probability (between 1/k and 1 for k classes)
        for a calibrated model. For an uncalibrated model it is the SVM margin of the
        predicted class: its absolute value for a binary model, and the largest one-vs-rest
        decision value (which can be negative) for a 3-class model. Margins are not
        probabilities, so thresholds such as ``min_confidence`` mean more with calibration.
        """
        if not documents:
            return [], np.zeros(0)
        if self.calibrated:
            probabilities = self.pipeline.predict_proba(documents)
            best = probabilities.argmax(axis=1)
            return self._label_names(best), probabilities.max(axis=1)
        scorer = self.scorer
        if scorer is not None:
            return self._from_margins(scorer.decision_function(documents))
        return self._from_margins(self.pipeline.decision_function(documents))

    def predict_texts(self, texts: list[str]) -> tuple[list[str], np.ndarray]:
        """Clean raw tweets with the model's options, then predict as :meth:`predict_tokens`."""
        scorer = self.scorer
        if scorer is not None:
            cleaned = clean_chunk_lines(texts, self.options)
            if cleaned is not None:
                return self._from_margins(scorer.decision_function_lines(cleaned, len(texts)))
        return self.predict_tokens(clean_chunk(texts, self.options))

    def _from_margins(self, margins: np.ndarray) -> tuple[list[str], np.ndarray]:
        if margins.ndim == 1:
            return self._label_names((margins > 0).astype(np.intp)), np.abs(margins)
        return self._label_names(margins.argmax(axis=1)), margins.max(axis=1)

    def _label_names(self, indices: np.ndarray) -> list[str]:
        names = np.asarray([str(label) for label in self.pipeline.classes_], dtype=object)
        return names[indices].tolist()


def load_model(path: str | Path, expect_labels: Sequence[str] | None = None) -> LoadedModel:
    """Load a model saved by :func:`save_model`, after checking it.

    Raises
    ------
    ModelError
        If the model or its metadata file is missing, the file's SHA-256 differs from the one
        in the metadata, the scikit-learn major or minor version differs from the one that
        saved it, the label set differs from ``expect_labels`` or from the classes of the
        loaded model, or the file holds a type that is not on the trusted list.
    """
    import skops.io as sio

    from seatcast.dataset import file_sha256

    path = Path(path)
    meta_path = path.with_suffix(".json")
    if not path.is_file():
        raise ModelError(
            f"model file not found: {path}. Train one first with "
            "`seatcast train --config configs/train.yaml` (or `make train`)."
        )
    if not meta_path.is_file():
        raise ModelError(f"model metadata not found: {meta_path}; retrain the model.")
    try:
        metadata = json.loads(meta_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ModelError(
            f"model metadata {meta_path} is not valid JSON ({error}); retrain."
        ) from None
    if not isinstance(metadata, dict):
        raise ModelError(f"model metadata {meta_path} must be a JSON object; retrain the model.")
    for key in ("model_sha256", "sklearn_version", "labels", "preprocess"):
        if key not in metadata:
            raise ModelError(f"model metadata {meta_path} lacks `{key}`; retrain the model.")
    labels = metadata["labels"]
    if not isinstance(labels, list) or not all(isinstance(label, str) for label in labels):
        raise ModelError(
            f"model metadata {meta_path}: `labels` must be a list of label names; got {labels!r}"
        )
    actual = file_sha256(path)
    if actual != metadata["model_sha256"]:
        raise ModelError(
            f"model file {path} failed its integrity check: SHA-256 {actual[:12]}… does not "
            f"match {str(metadata['model_sha256'])[:12]}… in {meta_path.name}. The file was "
            "changed or corrupted after training; retrain it or restore the original."
        )
    if _major_minor(metadata["sklearn_version"]) != _major_minor(sklearn.__version__):
        raise ModelError(
            f"model {path} was saved with scikit-learn {metadata['sklearn_version']}, but "
            f"{sklearn.__version__} is installed; retrain the model with this version or "
            f"install scikit-learn {metadata['sklearn_version']}."
        )
    if expect_labels is not None and sorted(metadata["labels"]) != sorted(expect_labels):
        raise ModelError(
            f"model {path} predicts {', '.join(metadata['labels'])}, but "
            f"{', '.join(expect_labels)} are expected here; use a model of the right mode."
        )
    try:
        found_types = sio.get_untrusted_types(file=path)
    except Exception as error:  # a damaged zip or schema raises many types
        raise ModelError(
            f"cannot read model {path}: {type(error).__name__}: {error}; retrain the model."
        ) from None
    untrusted = [name for name in found_types if name not in TRUSTED_TYPES]
    if untrusted:
        raise ModelError(
            f"model file {path} contains types that seatcast does not trust "
            f"({', '.join(untrusted[:5])}), so it was not loaded. Use a model that "
            "`seatcast train` saved, or retrain it."
        )
    try:
        pipeline = sio.load(path, trusted=list(TRUSTED_TYPES))
    except Exception as error:  # skops raises many types on a damaged file
        raise ModelError(f"cannot load model {path}: {type(error).__name__}: {error}") from None
    classes = [str(label) for label in getattr(pipeline, "classes_", [])]
    if classes != sorted(str(label) for label in metadata["labels"]):
        raise ModelError(
            f"model metadata {meta_path} lists labels {', '.join(map(str, metadata['labels']))}, "
            f"but the model in {path.name} predicts {', '.join(classes) or 'nothing'}; the "
            "metadata belongs to another model. Retrain, or restore the matching pair of files."
        )
    try:
        settings = PreprocessSettings.model_validate(metadata["preprocess"])
    except ValueError as error:
        raise ModelError(
            f"model metadata {meta_path} has invalid `preprocess` settings ({error}); retrain."
        ) from None
    from seatcast.dataset import clean_options

    return LoadedModel(pipeline, metadata, clean_options(settings), path)


# ---------------------------------------------------------------------------------------------
# Scoring in workers

# One loaded model per worker process, keyed by path and hash. With the fork start method the
# parent loads it first, so workers inherit it instead of reading the file again.
_MODEL_CACHE: dict[tuple[str, str], LoadedModel] = {}


def cached_model(path: str, sha256: str) -> LoadedModel:
    """Return the model at ``path``, loading it once per process."""
    key = (str(path), sha256)
    model = _MODEL_CACHE.get(key)
    if model is None:
        model = load_model(path)
        if model.metadata["model_sha256"] != sha256:
            raise ModelError(f"model file {path} changed during the run; run again.")
        _MODEL_CACHE.clear()
        _MODEL_CACHE[key] = model
    return model


@dataclass(frozen=True)
class SharedScoring:
    """An exchange (:class:`~seatcast.pool.Exchange`) for :func:`score_chunk` that passes
    what one process of a pool cleaned and analyzed to the other processes.

    Each process caches the units it has cleaned and the tokens its scorer has analyzed.
    Without this, every process of a 2-job run analyzes nearly every distinct token of the
    input once, which costs more than scoring the tokens.
    """

    model_path: str
    model_sha256: str

    def _caches(self) -> tuple[UnitCache, LinearScorer | None]:
        model = cached_model(self.model_path, self.model_sha256)
        return line_cache(model.options), model.scorer

    def open(self) -> None:
        self._record(True)

    def take(self) -> tuple[list[tuple[str, str]], TokenLessons | None] | None:
        units, scorer = self._caches()
        pairs = units.take_learned()
        tokens = scorer.take_learned() if scorer is not None else None
        return (pairs, tokens) if pairs or tokens is not None else None

    def give(self, lessons: tuple[list[tuple[str, str]], TokenLessons | None]) -> None:
        units, scorer = self._caches()
        pairs, tokens = lessons
        units.learn(pairs)
        if scorer is not None and tokens is not None:
            scorer.learn(tokens)

    def close(self) -> None:
        self._record(False)

    def _record(self, on: bool) -> None:
        units, scorer = self._caches()
        units.record(on)
        if scorer is not None:
            scorer.record(on)


def score_chunk(
    texts: list[str], model_path: str, model_sha256: str
) -> tuple[list[str], list[float]]:
    """Clean, tokenize and classify a chunk of texts; a top-level worker function.

    Returns the predicted labels and their confidences, in input order.
    """
    model = cached_model(model_path, model_sha256)
    labels, confidence = model.predict_texts(texts)
    return labels, confidence.tolist()
