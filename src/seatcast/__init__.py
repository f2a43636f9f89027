"""seatcast: forecast election seat counts from the sentiment of tweets.

The stages run in one direction: ``io`` reads rows, ``preprocess`` cleans and tokenizes them
(in parallel through ``parallel``), ``model`` classifies them, ``attribution`` assigns them to
parties, ``scores`` turns counts into party scores and ``seats`` turns scores into seats.
``forecast`` runs those stages for an election config and ``report`` writes the results.
"""

from seatcast.errors import (
    ConfigError,
    DataError,
    ModelError,
    PipelineError,
    SeatcastError,
    UsageError,
)

__all__ = [
    "ConfigError",
    "DataError",
    "ModelError",
    "PipelineError",
    "SeatcastError",
    "UsageError",
    "__version__",
]

__version__ = "0.1.0"
