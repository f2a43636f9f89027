"""One training run: data, cross-validation, the final fit and its outputs.

:func:`train` is what ``seatcast train --config configs/NAME.yaml`` runs. It writes

* ``models/NAME.skops`` and ``models/NAME.json`` (the model and its metadata);
* ``reports/NAME/metrics.json`` (per-fold and mean ± std scores) and
  ``reports/NAME/cv_folds.png``;
* ``reports/NAME/rejected.csv`` (every unusable input row, with its reason).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from seatcast.config import TrainConfig
from seatcast.dataset import file_sha256, load_training_set
from seatcast.errors import DataError, UsageError
from seatcast.io import RowLedger
from seatcast.model import MODEL_SUFFIX, build_pipeline, cross_validate, save_model
from seatcast.report import plot_folds, write_json, write_rejected

__all__ = ["TrainingResult", "train"]

logger = logging.getLogger(__name__)


@dataclass
class TrainingResult:
    """Paths and scores of a finished training run."""

    model_path: Path
    metadata_path: Path
    metrics_path: Path
    plot_path: Path | None
    rejected_path: Path
    metrics: dict[str, Any]


def train(
    config: TrainConfig,
    root: Path,
    *,
    models_dir: Path,
    reports_dir: Path,
    run_cv: bool = True,
    progress: Callable[[str, int | None], Callable[[int], None]] | None = None,
) -> TrainingResult:
    """Train, cross-validate, refit on all data and save the model of a config.

    Parameters
    ----------
    config : TrainConfig
        The validated training config; ``config.name`` names the outputs.
    root : Path
        The folder that relative data paths are resolved against.
    models_dir, reports_dir : Path
        Where the model and the reports go.
    run_cv : bool, default=True
        Whether to cross-validate before the final fit.
    progress : callable, default=None
        ``progress(description, total)`` returns a function to call with each step done.

    Raises
    ------
    DataError
        If the data cannot be read or is too small for the configured folds.
    """
    name = config.name or "model"
    report_dir = reports_dir / name
    started = time.perf_counter()

    # Read, filter and tokenize the training data once for all folds.
    step = progress("tokenizing", None) if progress else None
    ledger = RowLedger()
    try:
        data = load_training_set(config, root, progress=step, ledger=ledger)
    except UsageError:
        # Written when the input makes loading fail too (too many rejected rows, say), so
        # that the user can see which rows were unusable.
        if ledger.rows_read:
            path = write_rejected(report_dir / "rejected.csv", ledger.rejected_rows)
            logger.warning("Wrote the %d rejected rows to %s", ledger.rows_rejected, path)
        raise
    summary = data.ledger.summary()
    logger.info(
        "Training data: %d rows read, %d used, %d excluded %s, %d rejected %s",
        summary["rows_read"],
        summary["rows_used"],
        summary["rows_excluded"],
        summary["excluded"],
        summary["rows_rejected"],
        summary["rejected"],
    )
    rejected_path = write_rejected(report_dir / "rejected.csv", data.ledger.rejected_rows)
    if len(data) == 0:
        files = ", ".join(spec.path for spec in config.data.train)
        raise DataError(
            f"no usable training tweets remain in {files}; check the data section of the config."
        )
    label_counts = {label: data.labels.count(label) for label in config.labels}
    logger.info("Label counts: %s", label_counts)

    pipeline = build_pipeline(config.features, config.model, config.seed)
    metrics: dict[str, Any] = {
        "name": name,
        "mode": config.mode,
        "labels": list(config.labels),
        "label_counts": label_counts,
        "rows": summary,
    }
    plot_path = None
    if run_cv:
        step = progress("cross-validation folds", config.cv.n_splits) if progress else None
        cv = cross_validate(
            pipeline,
            data.tokens,
            data.labels,
            label_set=config.labels,
            n_splits=config.cv.n_splits,
            shuffle=config.cv.shuffle,
            seed=config.seed,
            jobs=config.run.jobs,
            progress=step,
        )
        metrics.update(cv)
        plot_path = plot_folds(
            report_dir / "cv_folds.png",
            cv["folds"],
            f"{name}: {config.cv.n_splits}-fold stratified CV ({config.mode})",
        )

    # Refit on all the data; this is the model that is saved.
    logger.info("Fitting the final model on all %d tweets", len(data))
    pipeline.fit(data.tokens, data.labels)
    metrics["seconds"] = round(time.perf_counter() - started, 1)
    metrics_path = write_json(report_dir / "metrics.json", metrics)

    model_path = models_dir / f"{name}{MODEL_SUFFIX}"
    training_files = []
    for spec in config.data.train:
        path = Path(spec.path)
        path = path if path.is_absolute() else root / path
        training_files.append({"path": spec.path, "sha256": file_sha256(path)})
    metadata = {
        "name": name,
        "mode": config.mode,
        "labels": sorted(config.labels),
        "calibrated": config.model.calibrate,
        "preprocess": config.preprocess.model_dump(),
        "config": config.model_dump(mode="json"),
        "training_files": training_files,
        "n_train": len(data),
        "cv": {
            "n_splits": metrics.get("n_splits"),
            "mean": metrics.get("mean"),
            "std": metrics.get("std"),
        },
    }
    save_model(pipeline, model_path, metadata)
    logger.info("Wrote %s, %s and %s", model_path, model_path.with_suffix(".json"), metrics_path)
    return TrainingResult(
        model_path=model_path,
        metadata_path=model_path.with_suffix(".json"),
        metrics_path=metrics_path,
        plot_path=plot_path,
        rejected_path=rejected_path,
        metrics=metrics,
    )
