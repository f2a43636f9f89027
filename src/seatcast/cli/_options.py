"""Options shared by several subcommands."""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from seatcast.config import MAX_CHUNK_SIZE, LimitSettings, RunSettings
from seatcast.parallel import MAX_JOBS

__all__ = [
    "add_election_options",
    "add_limit_options",
    "add_run_options",
    "chunk_size",
    "job_count",
    "limit_settings",
    "non_negative_int",
    "positive_int",
    "share",
]


def positive_int(value: str) -> int:
    """Parse a command-line integer that must be at least 1."""
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number; got {value!r}") from None
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1; got {number}")
    return number


def job_count(value: str) -> int:
    """Parse ``--jobs``: a whole number from 1 to :data:`seatcast.parallel.MAX_JOBS`."""
    number = positive_int(value)
    if number > MAX_JOBS:
        raise argparse.ArgumentTypeError(f"must be at most {MAX_JOBS}; got {number}")
    return number


def chunk_size(value: str) -> int:
    """Parse ``--chunk-size``: a whole number from 1 to :data:`seatcast.config.MAX_CHUNK_SIZE`."""
    number = positive_int(value)
    if number > MAX_CHUNK_SIZE:
        raise argparse.ArgumentTypeError(f"must be at most {MAX_CHUNK_SIZE:,}; got {number}")
    return number


def share(value: str) -> float:
    """Parse a share: a number from 0 to 1."""
    try:
        number = float(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number from 0 to 1; got {value!r}") from None
    if not (math.isfinite(number) and 0.0 <= number <= 1.0):
        raise argparse.ArgumentTypeError(f"must be a number from 0 to 1; got {value!r}")
    return number


def _byte_count(minimum: int):
    def parse(value: str) -> int:
        number = positive_int(value)
        if number < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum:,}; got {number:,}")
        return number

    return parse


def add_limit_options(parser: argparse.ArgumentParser) -> None:
    """Add ``--max-rejected-share``, ``--max-line-bytes`` and ``--max-file-bytes``, the
    ``limits`` section of a config for commands that take no config."""
    defaults = LimitSettings()
    group = parser.add_argument_group("input limits")
    group.add_argument(
        "--max-rejected-share",
        type=share,
        default=defaults.max_rejected_share,
        help="fail when more than this share of rows is unusable (default: %(default)s)",
    )
    group.add_argument(
        "--max-line-bytes",
        type=_byte_count(1024),
        default=defaults.max_line_bytes,
        help="reject lines longer than this many bytes (default: %(default)s, 1 MiB)",
    )
    group.add_argument(
        "--max-file-bytes",
        type=positive_int,
        default=defaults.max_file_bytes,
        help="reject input files larger than this many bytes, decompressed size included "
        "(default: %(default)s, 10 GiB)",
    )


def limit_settings(args: argparse.Namespace) -> LimitSettings:
    """Build the limits given by :func:`add_limit_options`."""
    return LimitSettings(
        max_rejected_share=args.max_rejected_share,
        max_line_bytes=args.max_line_bytes,
        max_file_bytes=args.max_file_bytes,
    )


def add_run_options(parser: argparse.ArgumentParser, *, with_config: bool = True) -> None:
    """Add ``--jobs``, ``--chunk-size``, ``--backend`` and ``--scheduler``.

    Each option overrides the config's ``run`` section when given. Pass ``with_config=False``
    for a command that reads no config, so the help shows the built-in defaults.
    """
    defaults = RunSettings()
    jobs_default = "the config's run.jobs" if with_config else str(defaults.jobs)
    chunk_default = "the config's run.chunk_size" if with_config else f"{defaults.chunk_size:,}"
    group = parser.add_argument_group("parallel run")
    group.add_argument(
        "-j",
        "--jobs",
        type=job_count,
        default=None,
        help=f"processes that share the chunks, this command included (1 runs in-process; "
        f"default: {jobs_default})",
    )
    group.add_argument(
        "--chunk-size",
        type=chunk_size,
        default=None,
        help=f"tweets in one chunk (default: {chunk_default})",
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


def non_negative_int(value: str) -> int:
    """Parse a command-line integer that must be at least 0."""
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number; got {value!r}") from None
    if number < 0:
        raise argparse.ArgumentTypeError(f"must be at least 0; got {number}")
    return number


def add_election_options(parser: argparse.ArgumentParser, resamples_help: str) -> None:
    """Add ``--config``, ``--model`` and ``--resamples``, shared by the election commands."""
    parser.add_argument("--config", type=Path, required=True, help="election config (YAML)")
    parser.add_argument(
        "--model", default=None, help="model file to use instead of the config's `model`"
    )
    parser.add_argument("--resamples", type=non_negative_int, default=None, help=resamples_help)
