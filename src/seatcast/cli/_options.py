"""Options shared by several subcommands."""

from __future__ import annotations

import argparse

__all__ = ["add_run_options", "positive_int"]


def positive_int(value: str) -> int:
    """Parse a command-line integer that must be at least 1."""
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number; got {value!r}") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1; got {number}")
    return number


def add_run_options(parser: argparse.ArgumentParser) -> None:
    """Add ``--jobs``, ``--chunk-size``, ``--backend`` and ``--scheduler``.

    Each option overrides the config's ``run`` section when given.
    """
    group = parser.add_argument_group("parallel run")
    group.add_argument(
        "-j",
        "--jobs",
        type=positive_int,
        default=None,
        help="worker processes (1 runs in-process; default: the config's run.jobs)",
    )
    group.add_argument(
        "--chunk-size",
        type=positive_int,
        default=None,
        help="tweets sent to a worker at a time (default: the config's run.chunk_size)",
    )
    group.add_argument(
        "--backend",
        choices=("processes", "dask"),
        default=None,
        help="where chunks run: a local process pool, or a dask.distributed cluster",
    )
    group.add_argument(
        "--scheduler",
        default=None,
        metavar="ADDRESS",
        help="dask scheduler address such as tcp://10.0.0.5:8786 (default: a local cluster)",
    )
