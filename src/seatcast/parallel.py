"""Mapping a function over chunks, in order, on a process pool or a Dask cluster.

:func:`ordered_map` is the one parallel primitive of seatcast, and has no tweet-specific code.
It takes a top-level function, an iterable of ``(label, argument)`` pairs and a few fixed
extra arguments, and yields ``function(argument, *extra)`` for each pair in input order.

* ``jobs=1`` calls the function in this process, one chunk at a time.
* ``backend="processes"`` shares the chunks between this process and ``jobs - 1`` worker
  processes, started once for the whole run (see :mod:`seatcast.pool`). The extra arguments
  reach each worker once, when it starts (inherited through ``fork`` on Linux and macOS,
  pickled once per worker elsewhere); each chunk then sends only its argument. At most
  ``max_pending`` chunks are in flight, so the input is read while earlier chunks are being
  processed, and memory stays bounded however long the input is.
* ``backend="dask"`` submits the same function to a ``dask.distributed`` cluster: the one at
  ``scheduler``, or a local cluster of ``jobs`` single-threaded worker processes that listens
  on 127.0.0.1 only and has no dashboard. The extra arguments are scattered to every worker
  once, so a remote worker needs no shared file system for them.

A worker that raises ends the run with :class:`~seatcast.errors.PipelineError` naming the
chunk's label, for example ``data/x.csv line 2001``. A worker process that dies (killed by a
signal or by the out-of-memory killer) ends it the same way instead of hanging. On any early
exit, including Ctrl-C, pending chunks are dropped and the worker processes are stopped.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import Any, TypeVar

from seatcast.errors import ConfigError, PipelineError, SeatcastError
from seatcast.pool import WORKER_DEPTH, Exchange, describe_failure, shared_map

__all__ = ["BACKENDS", "MAX_JOBS", "ordered_map", "resolve_jobs"]

logger = logging.getLogger(__name__)

BACKENDS = ("processes", "dask")

# More workers than this is almost surely a typo, because each one loads its own copy of the model.
MAX_JOBS = 256

# HTTP address of a local Dask cluster's scheduler: loopback, with a free port chosen by the OS.
LOOPBACK_ANY_PORT = "127.0.0.1:0"

# Seconds to wait for a connection to a dask scheduler.
DASK_CONNECT_TIMEOUT = 30

T = TypeVar("T")
R = TypeVar("R")


def resolve_jobs(jobs: int) -> int:
    """Check a requested number of workers and warn when it exceeds the CPUs available.

    Parameters
    ----------
    jobs : int
        The requested number of worker processes.

    Returns
    -------
    int
        ``jobs``, unchanged.

    Raises
    ------
    ConfigError
        If ``jobs`` is below 1 or above :data:`MAX_JOBS`.
    """
    if not isinstance(jobs, int) or isinstance(jobs, bool) or jobs < 1:
        raise ConfigError(f"`jobs` must be a whole number of at least 1; got {jobs!r}")
    if jobs > MAX_JOBS:
        raise ConfigError(f"`jobs` must be at most {MAX_JOBS}; got {jobs}")
    available = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    if available and jobs > available:
        logger.warning(
            "jobs=%d is more than the %d CPUs available; extra workers only add overhead. "
            "Use --jobs %d for the best speed.",
            jobs,
            available,
            available,
        )
    return jobs


# ---------------------------------------------------------------------------------------------
# In this process


def _serial_map(function, items, extra):
    for label, argument in items:
        try:
            result = function(argument, *extra)
        except SeatcastError:
            raise
        except Exception as error:
            raise PipelineError(describe_failure(label, error)) from error
        yield result


# ---------------------------------------------------------------------------------------------
# Dask


# Loggers of a local cluster that log every start and stop at INFO, and the level they get
# during a run. A run shows its own progress instead; warnings and errors still come through.
_DASK_LOG_LEVELS = {
    "distributed": logging.WARNING,
    "distributed.scheduler": logging.WARNING,
    "distributed.nanny": logging.WARNING,
    "distributed.core": logging.WARNING,
}


@contextlib.contextmanager
def _dask_log_levels(levels: dict[str, int]) -> Iterator[None]:
    # The levels are restored afterwards, so a notebook keeps its own logging set-up.
    loggers = {name: logging.getLogger(name) for name in levels}
    previous = {name: dask_logger.level for name, dask_logger in loggers.items()}
    for name, dask_logger in loggers.items():
        dask_logger.setLevel(levels[name])
    try:
        yield
    finally:
        for name, dask_logger in loggers.items():
            dask_logger.setLevel(previous[name])


def _connect_dask(scheduler: str | None, jobs: int):
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise ConfigError(
            "backend 'dask' needs dask.distributed; install it with `pip install 'seatcast[dask]'`."
        ) from None
    if scheduler:
        try:
            client = Client(scheduler, timeout=f"{DASK_CONNECT_TIMEOUT}s")
        except (OSError, TimeoutError, ValueError) as error:
            raise ConfigError(
                f"cannot connect to the dask scheduler at {scheduler!r}: {error}. Check "
                "--scheduler (such as tcp://10.0.0.5:8786) and that the scheduler is running "
                "and reachable from this machine."
            ) from None
        return client, None
    # Loopback only and no dashboard: a local run opens no port that another machine can reach.
    # The scheduler still serves its plain HTTP routes (health, metrics); without an address
    # it would take the fixed port 8787 and fail when another cluster already uses it.
    cluster = LocalCluster(
        n_workers=jobs,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
        scheduler_kwargs={"dashboard_address": LOOPBACK_ANY_PORT},
        silence_logs=logging.WARNING,
    )
    try:
        client = Client(cluster)
    except BaseException:
        cluster.close()
        raise
    return client, cluster


def _dask_map(function, items, extra, jobs, max_pending, scheduler):
    with _dask_log_levels(_DASK_LOG_LEVELS):
        yield from _dask_map_quietly(function, items, extra, jobs, max_pending, scheduler)


def _dask_map_quietly(function, items, extra, jobs, max_pending, scheduler):
    client, cluster = _connect_dask(scheduler, jobs)
    pending: deque[tuple[str, Any]] = deque()
    try:
        threads = sum(client.nthreads().values())
        if threads == 0:
            raise ConfigError(
                f"the dask scheduler at {scheduler!r} has no workers; start at least one with "
                f"`dask worker {scheduler}`."
            )
        logger.info(
            "Dask backend: scheduler %s, %d worker threads", client.scheduler.address, threads
        )
        if max_pending is None:
            max_pending = 2 * max(threads, jobs)
        # Every worker receives the extra arguments once; the tasks then refer to them by key.
        shipped = client.scatter(list(extra), broadcast=True, hash=False) if extra else []
        iterator = iter(items)
        exhausted = False
        while True:
            while not exhausted and len(pending) < max_pending:
                try:
                    label, argument = next(iterator)
                except StopIteration:
                    exhausted = True
                    break
                # pure=False: identical chunks must still be computed, and in their own slot.
                future = client.submit(function, argument, *shipped, pure=False)
                pending.append((label, future))
            if not pending:
                return
            label, future = pending.popleft()
            try:
                result = future.result()
            except SeatcastError:
                raise
            except Exception as error:
                # A worker that dies is replaced by its nanny and the chunk is retried. After
                # distributed.scheduler.allowed-failures retries, the chunk fails with
                # KilledWorker, which is caught here.
                raise PipelineError(describe_failure(label, error)) from error
            yield result
    finally:
        for _, future in pending:
            future.cancel()
        with contextlib.suppress(Exception):
            client.close()
        if cluster is not None:
            # On a busy machine a worker may take longer than the nanny's 4 s to stop, and the
            # nanny then logs a warning before killing it. That is expected at shutdown.
            with (
                _dask_log_levels({"distributed.nanny": logging.ERROR}),
                contextlib.suppress(Exception),
            ):
                cluster.close()


# ---------------------------------------------------------------------------------------------
# Public entry point


def ordered_map(
    function: Callable[..., R],
    items: Iterable[tuple[str, T]],
    *,
    extra: tuple[Any, ...] = (),
    jobs: int = 1,
    backend: str = "processes",
    scheduler: str | None = None,
    max_pending: int | None = None,
    exchange: Exchange | None = None,
) -> Iterator[R]:
    """Yield ``function(argument, *extra)`` for each ``(label, argument)``, in input order.

    Parameters
    ----------
    function : callable
        A top-level (picklable) function.
    items : iterable of (str, object)
        Pairs of a label used in error messages, such as ``"data/x.csv line 2001"``, and the
        argument. Only the argument is sent to the worker. The iterable is consumed lazily,
        at most ``max_pending`` items ahead of the result being yielded.
    extra : tuple, default=()
        Arguments passed after each item's argument, such as options or a model. They are
        sent to each worker once, not with every chunk.
    jobs : int, default=1
        Processes that work on chunks, this one included: 1 runs every chunk in this process,
        and 2 or more add ``jobs - 1`` worker processes. With ``'dask'``, the workers of a
        local cluster.
    backend : {'processes', 'dask'}, default='processes'
        Where the chunks run.
    scheduler : str, default=None
        Address of a running Dask scheduler, such as ``tcp://10.0.0.5:8786``; with the dask
        backend, a local cluster of ``jobs`` workers when ``None``.
    max_pending : int, default=None
        Chunks in flight at once. When ``None``: ``4 * jobs`` with processes, enough for each
        worker to hold :data:`~seatcast.pool.WORKER_DEPTH` chunks; ``2 * jobs`` with Dask
        (with a remote scheduler, twice its worker threads). It bounds memory.
    exchange : Exchange, default=None
        An object that passes what each process learns to the others, such as the words it
        has cleaned (see :class:`seatcast.pool.Exchange`). Used by the process pool only.

    Returns
    -------
    iterator
        The results, in the order of ``items``. Nothing starts until the first one is
        requested; closing the iterator early stops the workers.

    Raises
    ------
    PipelineError
        If a worker raises or dies. The message names the chunk's label.
    ConfigError
        If ``jobs``, ``backend`` or ``max_pending`` is invalid, or the scheduler cannot be
        reached.
    """
    jobs = resolve_jobs(jobs)
    if backend not in BACKENDS:
        raise ConfigError(f"`backend` must be one of {', '.join(BACKENDS)}; got {backend!r}")
    if max_pending is not None and (not isinstance(max_pending, int) or max_pending < 1):
        raise ConfigError(
            f"`max_pending` must be a whole number of at least 1; got {max_pending!r}"
        )
    if backend == "dask":
        return _dask_map(function, items, extra, jobs, max_pending, scheduler)
    if scheduler:
        raise ConfigError(
            f"`scheduler` is set to {scheduler!r}, but `backend` is 'processes'; use "
            "--backend dask to run on that cluster, or drop --scheduler."
        )
    if jobs == 1:
        return _serial_map(function, items, extra)
    return shared_map(
        function, items, extra, jobs, max_pending or (WORKER_DEPTH + 1) * jobs, exchange
    )
