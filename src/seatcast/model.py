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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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
from seatcast.preprocess import CleanOptions, clean_chunk

__all__ = [
    "MODEL_SUFFIX",
    "LoadedModel",
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

# Types that a seatcast model file may contain beyond skops' own safe defaults. Anything else
# in a file is refused before it is loaded.
TRUSTED_TYPES = (
    "seatcast.features.TokenNgrams",
    "seatcast.features.TweetFeatures",
    "seatcast.features.join_tokens",
    "seatcast.features.mark_negation",
    "sklearn.calibration._CalibratedClassifier",
    "sklearn.calibration._SigmoidCalibration",
    "sklearn.calibration.CalibratedClassifierCV",
    "sklearn.svm._classes.LinearSVC",
    "sklearn.preprocessing._function_transformer.FunctionTransformer",
    "sklearn.feature_extraction.text.TfidfVectorizer",
    "sklearn.feature_extraction.text.TfidfTransformer",
    "sklearn.pipeline.FeatureUnion",
    "sklearn.pipeline.Pipeline",
    "sklearn.utils._metadata_requests.MetadataRequest",
    "sklearn.utils._metadata_requests.MethodMetadataRequest",
    "builtins.slice",
    "numpy.float32",
    "numpy.float64",
    "numpy.int64",
    "numpy.dtype",
    "scipy.sparse._csr.csr_matrix",
)


def build_pipeline(features: FeatureSettings, model: ModelSettings, seed: int) -> Pipeline:
    """Build the unfitted feature and classifier pipeline."""
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

    @property
    def labels(self) -> tuple[str, ...]:
        """Return the model's label set."""
        return tuple(self.metadata["labels"])

    def predict_tokens(self, documents: list[list[str]]) -> tuple[list[str], np.ndarray]:
        """Return the predicted label and its confidence for each token list.

        The confidence is the predicted class probability for a calibrated model, and the
        SVM margin of the predicted class otherwise.
        """
        if not documents:
            return [], np.zeros(0)
        estimator = self.pipeline
        if hasattr(estimator, "predict_proba") and self.metadata.get("calibrated"):
            probabilities = estimator.predict_proba(documents)
            classes = estimator.classes_
            best = probabilities.argmax(axis=1)
            return [str(classes[i]) for i in best], probabilities.max(axis=1)
        margins = estimator.decision_function(documents)
        classes = estimator.classes_
        if margins.ndim == 1:
            predicted = np.where(margins > 0, classes[1], classes[0])
            return [str(label) for label in predicted], np.abs(margins)
        best = margins.argmax(axis=1)
        return [str(classes[i]) for i in best], margins.max(axis=1)


def load_model(path: str | Path, expect_labels: Sequence[str] | None = None) -> LoadedModel:
    """Load a model saved by :func:`save_model`, after checking it.

    Raises
    ------
    ModelError
        If the model or its metadata file is missing, the file's SHA-256 differs from the one
        in the metadata, the scikit-learn major or minor version differs from the one that
        saved it, the label set differs from ``expect_labels``, or the file holds a type that
        is not on the trusted list.
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
    for key in ("model_sha256", "sklearn_version", "labels", "preprocess"):
        if key not in metadata:
            raise ModelError(f"model metadata {meta_path} lacks `{key}`; retrain the model.")
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
    untrusted = [name for name in sio.get_untrusted_types(file=path) if name not in TRUSTED_TYPES]
    if untrusted:
        raise ModelError(
            f"model file {path} contains types that seatcast does not trust "
            f"({', '.join(untrusted[:5])}); refusing to load it."
        )
    try:
        pipeline = sio.load(path, trusted=list(TRUSTED_TYPES))
    except Exception as error:  # skops raises many types on a damaged file
        raise ModelError(f"cannot load model {path}: {type(error).__name__}: {error}") from None
    settings = PreprocessSettings.model_validate(metadata["preprocess"])
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


def score_chunk(
    texts: list[str], model_path: str, model_sha256: str
) -> tuple[list[str], list[float]]:
    """Clean, tokenize and classify a chunk of texts; a top-level worker function.

    Returns the predicted labels and their confidences, in input order.
    """
    model = cached_model(model_path, model_sha256)
    documents = clean_chunk(texts, model.options)
    labels, confidence = model.predict_tokens(documents)
    return labels, [float(value) for value in confidence]
