"""Exceptions raised by seatcast.

The hierarchy, and the exit code the command line maps each class to:

* ``SeatcastError`` - base class; catch it to handle any seatcast failure (exit 1).
  * ``UsageError`` - a user mistake: bad input, config or model file (exit 2).
    * ``ConfigError`` - a config file or option is missing, malformed or out of range.
    * ``DataError`` - an input file is missing, unreadable, empty or has too many bad rows.
    * ``ModelError`` - a model file is missing, altered, or does not match this install.
  * ``PipelineError`` - the run itself failed, for example a worker process died (exit 1).
"""

__all__ = [
    "ConfigError",
    "DataError",
    "ModelError",
    "PipelineError",
    "SeatcastError",
    "UsageError",
]


class SeatcastError(Exception):
    """Base class of every error that seatcast raises on purpose."""

    exit_code = 1


class UsageError(SeatcastError):
    """Raised when the user can fix the problem by changing an input, a config or an option."""

    exit_code = 2


class ConfigError(UsageError):
    """Raised when a config file or a command-line option is invalid."""


class DataError(UsageError):
    """Raised when an input file cannot be read or holds too many unusable rows."""


class ModelError(UsageError):
    """Raised when a saved model fails its integrity check or does not match this install."""


class PipelineError(SeatcastError):
    """Raised when a run fails for a reason other than its inputs, such as a killed worker."""
