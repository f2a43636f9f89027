"""Explaining a linear sentiment model: its strongest features, and one tweet's score.

The model is linear, so a tweet's decision value for a class is exactly the intercept plus
the sum over features of ``value * weight``. :func:`top_features` lists the largest weights
per class and :func:`explain_text` lists one tweet's contributions. Feature names come from
the feature union: ``word`` n-grams (``_NEG`` marks a negated token), ``char`` n-grams (a
space marks a token edge) and ``tweet`` counts.

For a binary model the SVM has one weight vector: positive weights push a tweet towards the
second class (``positive``) and negative weights towards the first. For a 3-class model there
is one one-vs-rest weight vector per class. For a calibrated model the weights are the mean
of the SVMs fit inside the calibration folds, whose sigmoid outputs are averaged into the
probabilities, so the contributions explain the ranking but not the exact probability.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.calibration import CalibratedClassifierCV
from sklearn.pipeline import Pipeline

from seatcast.errors import ModelError
from seatcast.model import LoadedModel
from seatcast.preprocess import clean

__all__ = ["LinearView", "explain_text", "linear_view", "top_features"]


@dataclass
class LinearView:
    """The linear parts of a fitted pipeline.

    ``coef`` has one row per score: one row for a binary model (for ``classes[1]``) and one
    per class otherwise. ``parts`` and ``names`` give each column's feature union part and
    feature name.
    """

    classes: list[str]
    coef: np.ndarray
    intercept: np.ndarray
    parts: list[str]
    names: list[str]

    @property
    def binary(self) -> bool:
        """Whether the model has one score row for two classes."""
        return self.coef.shape[0] == 1 and len(self.classes) == 2


def linear_view(pipeline: Pipeline) -> LinearView:
    """Return the weights, intercepts and feature names of a fitted pipeline.

    Raises
    ------
    ModelError
        If the pipeline does not end in a linear SVM (or a calibrated one).
    """
    try:
        features = pipeline.named_steps["features"]
        classifier = pipeline.named_steps["svm"]
    except (AttributeError, KeyError):
        raise ModelError(
            "the model is not a seatcast pipeline with `features` and `svm` steps"
        ) from None
    if isinstance(classifier, CalibratedClassifierCV):
        estimators = [item.estimator for item in classifier.calibrated_classifiers_]
        coef = np.mean([estimator.coef_ for estimator in estimators], axis=0)
        intercept = np.mean([estimator.intercept_ for estimator in estimators], axis=0)
    elif hasattr(classifier, "coef_"):
        coef = np.asarray(classifier.coef_)
        intercept = np.asarray(classifier.intercept_)
    else:
        raise ModelError(
            f"the model's classifier {type(classifier).__name__} has no linear weights"
        )
    parts: list[str] = []
    names: list[str] = []
    for part, transformer in features.transformer_list:
        part_names = transformer.get_feature_names_out()
        parts.extend([part] * len(part_names))
        names.extend(str(name) for name in part_names)
    if len(names) != coef.shape[1]:
        raise ModelError(
            f"the model has {coef.shape[1]} weights but its features name {len(names)} columns"
        )
    return LinearView(
        classes=[str(label) for label in classifier.classes_],
        coef=coef,
        intercept=intercept,
        parts=parts,
        names=names,
    )


def _class_rows(view: LinearView) -> list[tuple[str, np.ndarray]]:
    """Return (class, weights towards that class) for each class."""
    if view.binary:
        return [(view.classes[0], -view.coef[0]), (view.classes[1], view.coef[0])]
    return list(zip(view.classes, view.coef, strict=True))


def top_features(model: LoadedModel, n: int = 20) -> dict[str, list[dict[str, Any]]]:
    """Return the ``n`` features with the largest weight towards each class.

    Returns
    -------
    dict
        Class -> list of ``{"part", "feature", "weight"}``, strongest first. For a binary
        model the weights towards the first class are the negated SVM weights.
    """
    view = linear_view(model.pipeline)
    result: dict[str, list[dict[str, Any]]] = {}
    for label, weights in _class_rows(view):
        order = np.argsort(-weights, kind="stable")[:n]
        result[label] = [
            {"part": view.parts[i], "feature": view.names[i], "weight": float(weights[i])}
            for i in order
        ]
    return result


def explain_text(model: LoadedModel, text: str, n: int = 15) -> dict[str, Any]:
    """Explain the model's label for one tweet.

    Returns
    -------
    dict
        ``tokens`` (after cleaning), ``label`` and ``confidence`` (as
        :meth:`LoadedModel.predict_tokens` gives them), ``scores`` (decision value per
        class), ``explained_class`` (the predicted class, or the second class for a binary
        model, whose single score is explained), ``intercept``, ``contributions`` (the ``n``
        largest by absolute value: part, feature, value, weight, contribution, of all
        ``n_active`` non-zero features) and ``rest`` (the sum of the contributions not shown).
        ``intercept`` plus every contribution equals that class's score.
    """
    tokens = clean(text, model.options)
    labels, confidence = model.predict_tokens([tokens])
    view = linear_view(model.pipeline)
    x = model.pipeline.named_steps["features"].transform([tokens]).tocsr()
    columns = x.indices
    values = x.data
    if view.binary:
        row = 0
        explained = view.classes[1]
        scores = {explained: float(view.intercept[0] + values @ view.coef[0, columns])}
        scores[view.classes[0]] = -scores[explained]
    else:
        row = view.classes.index(labels[0])
        explained = labels[0]
        scores = {
            label: float(view.intercept[k] + values @ view.coef[k, columns])
            for k, label in enumerate(view.classes)
        }
    weights = view.coef[row, columns]
    contributions = values * weights
    order = np.argsort(-np.abs(contributions), kind="stable")
    shown = order[:n]
    return {
        "text": text,
        "tokens": tokens,
        "label": labels[0],
        "confidence": float(confidence[0]),
        "calibrated": model.calibrated,
        "scores": scores,
        "explained_class": explained,
        "intercept": float(view.intercept[row]),
        "n_active": len(columns),
        "contributions": [
            {
                "part": view.parts[columns[i]],
                "feature": view.names[columns[i]],
                "value": float(values[i]),
                "weight": float(weights[i]),
                "contribution": float(contributions[i]),
            }
            for i in shown
        ],
        "rest": float(contributions[order[n:]].sum()),
    }
