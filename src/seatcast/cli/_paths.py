"""Output folders shared by the subcommands."""

from __future__ import annotations

import argparse
from pathlib import Path

from seatcast.config import find_project_root

__all__ = ["add_output_options", "output_dirs"]


def add_output_options(parser: argparse.ArgumentParser) -> None:
    """Add ``--models-dir`` and ``--reports-dir``."""
    parser.add_argument(
        "--models-dir",
        type=Path,
        default=None,
        help="folder for model files (default: models/ in the project root)",
    )
    parser.add_argument(
        "--reports-dir",
        type=Path,
        default=None,
        help="folder for reports (default: reports/ in the project root)",
    )


def output_dirs(args: argparse.Namespace, config_path: Path) -> tuple[Path, Path, Path]:
    """Return the project root and the models and reports folders for a config."""
    root = find_project_root(config_path.parent)
    models = args.models_dir if args.models_dir is not None else root / "models"
    reports = args.reports_dir if args.reports_dir is not None else root / "reports"
    return root, models, reports
