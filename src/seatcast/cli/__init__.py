"""The ``seatcast`` command line.

Each subcommand lives in its own module in this package and exposes ``register(subparsers)``,
which adds its parser and sets ``func`` to the function that runs it. ``main`` builds the parser,
sets up logging, runs the chosen command and maps errors to exit codes:

* 0 on success;
* 2 for a usage, config, data or model mistake (:class:`seatcast.errors.UsageError`);
* 1 for any other failure;
* 130 after Ctrl-C (SIGINT) or SIGTERM.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import re
import signal
import sys
from collections.abc import Sequence

from seatcast import __version__
from seatcast.errors import SeatcastError

__all__ = ["main"]

logger = logging.getLogger("seatcast")

# Subcommand modules, in the order `seatcast --help` lists them.
COMMAND_MODULES = (
    "train",
    "tune",
    "predict",
    "backtest",
    "labelnoise",
    "subevents",
    "evaluate",
    "explain",
    "preprocess",
    "seats",
    "deploy",
)

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class _ArgumentParser(argparse.ArgumentParser):
    """An argument parser whose usage errors end with one line and exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"seatcast: error: {message}\n")


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """Build the top-level parser with every subcommand registered, or only ``command``.

    Registering one subcommand imports only its module, so ``seatcast preprocess`` does not
    spend a second of start-up importing scikit-learn for the other subcommands.
    """
    parser = _ArgumentParser(
        prog="seatcast",
        description=(
            "Forecast election seat counts from tweets: clean and tokenize tweets in parallel, "
            "classify their sentiment with TF-IDF and a linear SVM, score each party and "
            "convert the scores into seats."
        ),
    )
    parser.add_argument("--version", action="version", version=f"seatcast {__version__}")
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="log more detail (repeat for debug)"
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="log warnings and errors only")
    subparsers = parser.add_subparsers(
        dest="command", metavar="COMMAND", parser_class=_ArgumentParser
    )
    for name in COMMAND_MODULES if command is None else (command,):
        module = importlib.import_module(f"seatcast.cli.{name}")
        module.register(subparsers)
    return parser


# Top-level options that may come before the subcommand without changing what is parsed.
_LEADING_OPTION_RE = re.compile(r"-[vq]+|--verbose|--quiet")


def _named_command(argv: Sequence[str]) -> str | None:
    """Return the subcommand that ``argv`` runs, or None when the full parser is needed.

    None means top-level help, a version request, an unknown or missing subcommand, or any
    option before the subcommand other than -v and -q: those need every subcommand listed.
    """
    for arg in argv:
        if arg in COMMAND_MODULES:
            return arg
        if _LEADING_OPTION_RE.fullmatch(arg) is None:
            return None
    return None


def _configure_logging(verbose: int, quiet: bool) -> None:
    level = logging.INFO
    if quiet:
        level = logging.WARNING
    elif verbose:
        level = logging.DEBUG
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%H:%M:%S"))
    root = logging.getLogger("seatcast")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False


class _Interrupted(KeyboardInterrupt):
    """Raised in the main process by SIGINT or SIGTERM."""


_interrupted_by: list[str] = []


def _interrupt(signum: int, frame: object) -> None:
    # SIGTERM takes the same clean-up path as Ctrl-C: pools are stopped and temporary files
    # removed by the `finally` blocks that the exception unwinds through. A second signal
    # during that clean-up is ignored, so that the clean-up itself is not cut short.
    if _interrupted_by:
        return
    name = signal.Signals(signum).name
    _interrupted_by.append(name)
    raise _Interrupted(name)


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__


def _report(error: BaseException, verbose: int) -> int:
    """Log ``error`` as one line and return the exit code it maps to."""
    if isinstance(error, SeatcastError):
        logger.error("%s: %s", type(error).__name__, _one_line(error))
        return error.exit_code
    if isinstance(error, MemoryError):
        logger.error(
            "MemoryError: ran out of memory. Lower --jobs or --chunk-size, or use a machine "
            "with more memory."
        )
        return EXIT_FAILURE
    if isinstance(error, OSError):
        target = f" {error.filename}" if error.filename else ""
        logger.error(
            "OSError: cannot access%s: %s. Check that the path exists, is writable and the "
            "disk is not full.",
            target,
            error.strerror or _one_line(error),
        )
        return EXIT_FAILURE
    # Anything else is a bug in seatcast: say so, and keep the traceback for -v.
    logger.error(
        "InternalError: %s: %s. This is a bug in seatcast; run again with -v to see where it "
        "happened, and report it.",
        type(error).__name__,
        _one_line(error),
        exc_info=verbose > 0,
    )
    return EXIT_FAILURE


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``seatcast`` command line and return its exit code.

    Every error is logged as one line on standard error; a traceback is shown only for an
    unexpected error, and only with ``-v``.
    """
    _interrupted_by.clear()
    verbose = 0
    previous = {
        signum: signal.signal(signum, _interrupt) for signum in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        parser = build_parser(_named_command(sys.argv[1:] if argv is None else argv))
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help(sys.stderr)
            return EXIT_USAGE
        verbose = args.verbose
        _configure_logging(args.verbose, args.quiet)
        result = args.func(args)
    except KeyboardInterrupt:
        name = _interrupted_by[0] if _interrupted_by else "SIGINT"
        logger.error("Interrupted by %s: stopped the run; no partial output was kept.", name)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader of standard output went away (for example `| head`); nothing to report.
        sys.stderr.close()
        return EXIT_FAILURE
    except Exception as error:
        return _report(error, verbose)
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return EXIT_OK if result is None else int(result)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
