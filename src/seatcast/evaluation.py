"""Scoring a saved model on a labelled file."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from seatcast.config import LimitSettings, RunSettings, SourceSpec
from seatcast.dataset import load_labelled_file
from seatcast.errors import DataError
from seatcast.io import RowLedger
from seatcast.model import LoadedModel, fold_metrics

__all__ = ["evaluate_model"]

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
