"""Writing outputs: atomic files, tables, JSON and plots.

Every output goes through :func:`atomic_path`: it is written to a temporary file in the target
folder and renamed into place only when complete, so a crash or Ctrl-C never leaves a
half-written model, metrics file or report. Plots use matplotlib's ``Agg`` backend, so they
work without a display.
"""

from __future__ import annotations

import contextlib
import csv
import itertools
import json
import math
import os
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from seatcast.errors import ConfigError
from seatcast.io import RejectedRow

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "atomic_path",
    "format_row_summary",
    "format_table",
    "plot_confusion_matrix",
    "plot_folds",
    "plot_seats",
    "seat_table",
    "write_csv",
    "write_forecast",
    "write_json",
    "write_rejected",
    "write_text",
]


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` and rename it to ``path`` on success.

    On any exception, Ctrl-C included, the temporary file is removed and ``path`` is left as
    it was, and the folders created for it are removed again if they are still empty.

    Raises
    ------
    ConfigError
        If ``path`` is an existing folder.
    """
    path = Path(path)
    if path.is_dir():
        raise ConfigError(f"output path {path} is a folder; give a file path instead.")
    # The folders that mkdir creates, deepest first.
    created = list(
        itertools.takewhile(lambda folder: not folder.exists(), (path.parent, *path.parent.parents))
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    replaced = False
    try:
        handle, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        os.close(handle)
        temporary = Path(name)
        try:
            yield temporary
            with open(temporary, "rb+") as written:
                os.fsync(written.fileno())
            # mkstemp creates the file as 0600; give it the mode a plain open() would, so that
            # other users (Dask workers, a container's user) can read models and reports.
            os.chmod(temporary, 0o666 & ~_current_umask())
            os.replace(temporary, path)
            replaced = True
        finally:
            with contextlib.suppress(FileNotFoundError):
                temporary.unlink()
    finally:
        if not replaced:
            # rmdir fails on a folder that another output has been written to, which stays.
            for folder in created:
                with contextlib.suppress(OSError):
                    folder.rmdir()


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _json_default(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, set | frozenset | tuple):
        return sorted(value) if isinstance(value, set | frozenset) else list(value)
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def _clean_floats(value: Any) -> Any:
    # JSON has no NaN: write null instead, so every JSON reader accepts the file.
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _clean_floats(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_clean_floats(item) for item in value]
    return value


def write_json(path: Path, data: Any) -> Path:
    """Write ``data`` as indented UTF-8 JSON, atomically."""
    with atomic_path(path) as temporary:
        temporary.write_text(
            json.dumps(_clean_floats(data), indent=2, ensure_ascii=False, default=_json_default)
            + "\n",
            encoding="utf-8",
        )
    return Path(path)


def write_text(path: Path, text: str) -> Path:
    """Write UTF-8 text, atomically."""
    with atomic_path(path) as temporary:
        temporary.write_text(text, encoding="utf-8")
    return Path(path)


def write_csv(path: Path, frame: pd.DataFrame) -> Path:
    """Write a data frame as CSV without its index, atomically."""
    with atomic_path(path) as temporary:
        frame.to_csv(temporary, index=False, lineterminator="\n")
    return Path(path)


def write_rejected(path: Path, rows: Sequence[RejectedRow]) -> Path:
    """Write the rejected rows (file, line, reason, first 200 characters), atomically."""
    with atomic_path(path) as temporary, open(temporary, "w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["file", "line", "reason", "text"])
        for row in rows:
            writer.writerow([row.source, row.line, row.reason, row.text])
    return Path(path)


def format_table(frame: pd.DataFrame, floatfmt: str = ".3f") -> str:
    """Format a data frame as a plain-text table for the terminal."""
    import pandas as pd

    formatted = frame.copy()
    for column in formatted.columns:
        if pd.api.types.is_float_dtype(formatted[column]):
            formatted[column] = formatted[column].map(
                lambda value: "" if pd.isna(value) else format(value, floatfmt)
            )
    return formatted.to_string(index=False)


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save_figure(figure, path: Path) -> Path:
    plt = _pyplot()
    with atomic_path(path) as temporary:
        figure.savefig(temporary, format="png", dpi=120, bbox_inches="tight")
    plt.close(figure)
    return Path(path)


def plot_folds(path: Path, folds: list[dict[str, Any]], title: str) -> Path:
    """Plot accuracy and macro-F1 per cross-validation fold, with their means."""
    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(8, 4))
    numbers = [fold["fold"] for fold in folds]
    for name, marker in (("accuracy", "o"), ("macro_f1", "s"), ("macro_recall", "^")):
        values = [fold[name] for fold in folds]
        mean = sum(values) / len(values)
        (line,) = axes.plot(numbers, values, marker=marker, label=f"{name} (mean {mean:.3f})")
        axes.axhline(mean, color=line.get_color(), linestyle="--", linewidth=0.8)
    axes.set_xlabel("fold")
    axes.set_ylabel("score")
    axes.set_xticks(numbers)
    axes.set_title(title)
    axes.legend(loc="lower right")
    axes.grid(alpha=0.3)
    return _save_figure(figure, path)


def plot_confusion_matrix(
    path: Path, matrix: Sequence[Sequence[int]], labels: Sequence[str], title: str
) -> Path:
    """Plot a confusion matrix with counts in each cell (rows true, columns predicted)."""
    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(4.5, 4))
    image = axes.imshow(matrix, cmap="Blues")
    for i, row in enumerate(matrix):
        peak = max(max(r) for r in matrix) or 1
        for j, value in enumerate(row):
            colour = "white" if value > peak / 2 else "black"
            axes.text(j, i, str(value), ha="center", va="center", color=colour)
    axes.set_xticks(range(len(labels)), labels)
    axes.set_yticks(range(len(labels)), labels)
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    axes.set_title(title)
    figure.colorbar(image, ax=axes, fraction=0.046)
    return _save_figure(figure, path)


def plot_seats(path: Path, table: pd.DataFrame, title: str) -> Path:
    """Plot forecast seats (with interval bars when present) against actual seats."""
    import pandas as pd

    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(max(5, 1.4 * len(table)), 4))
    positions = range(len(table))
    width = 0.38
    predicted = table["seats_predicted"].to_numpy(dtype=float)
    error = None
    label = "forecast"
    if {"seats_low", "seats_high"} <= set(table.columns):
        # Parties without an interval (not tracked, so never resampled) get no error bar.
        low = pd.to_numeric(table["seats_low"], errors="coerce").to_numpy(dtype=float)
        high = pd.to_numeric(table["seats_high"], errors="coerce").to_numpy(dtype=float)
        error = [
            [0.0 if math.isnan(value) else value for value in predicted - low],
            [0.0 if math.isnan(value) else value for value in high - predicted],
        ]
        label = "forecast with bootstrap interval"
    bars = axes.bar(
        [p - width / 2 for p in positions],
        predicted,
        width,
        yerr=error,
        capsize=4,
        label=label,
    )
    axes.bar_label(bars, fmt="%d", padding=2, fontsize=8)
    if "seats_actual" in table.columns and table["seats_actual"].notna().any():
        actual_bars = axes.bar(
            [p + width / 2 for p in positions],
            pd.to_numeric(table["seats_actual"], errors="coerce").fillna(0).to_numpy(dtype=float),
            width,
            label="actual",
        )
        axes.bar_label(actual_bars, fmt="%d", padding=2, fontsize=8)
    axes.set_xticks(list(positions), table["party"].tolist())
    axes.set_ylabel("seats")
    axes.set_title(title)
    axes.legend()
    axes.grid(axis="y", alpha=0.3)
    return _save_figure(figure, path)


SEAT_COLUMNS = [
    "party",
    "n_tweets",
    "n_positive",
    "n_negative",
    "pss",
    "seats_predicted",
    "seats_actual",
    "seat_error",
    "pss_low",
    "pss_high",
    "seats_low",
    "seats_high",
    "pss_corrected",
    "seats_corrected",
    "vote_share_actual",
]


def seat_table(table: pd.DataFrame) -> pd.DataFrame:
    """Return the forecast table with its columns in the documented order."""
    return table[[column for column in SEAT_COLUMNS if column in table.columns]]


def write_forecast(result: Any, report_dir: Path) -> dict[str, Path]:
    """Write ``seats.csv``, ``seats.json``, ``seats.png``, ``summary.json`` and
    ``rejected.csv`` for a :class:`seatcast.forecast.ForecastResult`."""
    table = seat_table(result.table)
    paths = {
        "seats.csv": write_csv(report_dir / "seats.csv", table),
        "seats.json": write_json(
            report_dir / "seats.json",
            {**result.summary(), "parties": json.loads(table.to_json(orient="records"))},
        ),
        "summary.json": write_json(report_dir / "summary.json", result.summary()),
        "rejected.csv": write_rejected(report_dir / "rejected.csv", result.ledger.rejected_rows),
    }
    title = f"{result.name}: {result.score} with {result.rule}, {result.total_seats} seats"
    paths["seats.png"] = plot_seats(report_dir / "seats.png", table, title)
    return paths


def format_row_summary(summary: dict[str, Any]) -> str:
    """Format the row accounting as a few lines for the terminal."""
    lines = [
        f"rows read {summary['rows_read']} = used {summary['rows_used']} + excluded "
        f"{summary['rows_excluded']} + rejected {summary['rows_rejected']}"
    ]
    for reason, count in summary["excluded"].items():
        lines.append(f"  excluded  {count:>8}  {reason}")
    for reason, count in summary["rejected"].items():
        lines.append(f"  rejected  {count:>8}  {reason}")
    return "\n".join(lines)
