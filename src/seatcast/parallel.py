"""Mapping a function over chunks, in order, on a process pool or a Dask cluster.

:func:`ordered_map` is the one parallel primitive of seatcast. It knows nothing about tweets:
it takes a top-level function, an iterable of ``(label, argument)`` pairs and a few fixed
extra arguments, and yields ``function(argument, *extra)`` for each pair in input order.

* ``jobs=1`` calls the function in this process, one chunk at a time.
* ``backend="processes"`` starts ``jobs`` worker processes once for the whole run. At most
  ``max_pending`` chunks are in flight, so the input is read while earlier chunks are being
  processed, and memory stays bounded however long the input is.
* ``backend="dask"`` submits the same function to a ``dask.distributed`` cluster: the one at
  ``scheduler``, or a local cluster of ``jobs`` single-threaded worker processes.

A worker that raises ends the run with :class:`~seatcast.errors.PipelineError` naming the
chunk's label, for example ``data/x.csv line 2001``. A worker that dies (killed by a signal or
by the out-of-memory killer) ends it the same way instead of hanging. On any early exit,
including Ctrl-C, pending chunks are cancelled and the worker processes are stopped.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from seatcast.errors import ConfigError, PipelineError, SeatcastError

__all__ = ["BACKENDS", "MAX_JOBS", "ordered_map", "resolve_jobs"]

logger = logging.getLogger(__name__)

BACKENDS = ("processes", "dask")

# More workers than this is almost surely a typo; each one holds a copy of the model.
MAX_JOBS = 256

T = TypeVar("T")
R = TypeVar("R")


def resolve_jobs(jobs: int) -> int:
    """Check a requested number of workers and warn when it exceeds the CPUs available.

    Raises
    ------
    ConfigError
        If ``jobs`` is below 1 or above :data:`MAX_JOBS`.
    """
    if not isinstance(jobs, int) or jobs < 1:
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


def _init_worker() -> None:
    # Ctrl-C reaches every process in the terminal's process group. Workers ignore it and the
    # parent stops them, so the user sees one message instead of a traceback per worker.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # A forked worker inherits the parent's SIGTERM handler; restore the default so that the
    # parent's terminate() ends it quietly.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _describe_failure(label: str, error: BaseException) -> str:
    return f"a worker failed on the chunk at {label}: {type(error).__name__}: {error}"


def _serial_map(function, items, extra):
    for label, argument in items:
        try:
            yield function(argument, *extra)
        except SeatcastError:
            raise
        except Exception as error:
            raise PipelineError(_describe_failure(label, error)) from error


def _stop_pool(executor: ProcessPoolExecutor) -> None:
    # shutdown(cancel_futures=True) drops queued chunks but waits for running ones; terminate
    # the workers first so that an interrupted run stops promptly.
    processes = list((getattr(executor, "_processes", None) or {}).values())
    for process in processes:
        if process.is_alive():
            process.terminate()
    executor.shutdown(wait=True, cancel_futures=True)
    for process in processes:
        process.join(timeout=5)
        if process.is_alive():
            process.kill()


def _process_map(function, items, extra, jobs, max_pending):
    context = multiprocessing.get_context("fork" if os.name == "posix" else "spawn")
    executor = ProcessPoolExecutor(max_workers=jobs, mp_context=context, initializer=_init_worker)
    pending: deque[tuple[str, Future]] = deque()
    try:
        iterator = iter(items)
        exhausted = False
        while True:
            while not exhausted and len(pending) < max_pending:
                try:
                    label, argument = next(iterator)
                except StopIteration:
                    exhausted = True
                    break
                pending.append((label, executor.submit(function, argument, *extra)))
            if not pending:
                return
            label, future = pending.popleft()
            try:
                result = future.result()
            except BrokenProcessPool:
                raise PipelineError(
                    f"a worker process died while processing the chunk at {label} (killed by a "
                    "signal or out of memory); no output was kept. Run again, or lower --jobs "
                    "or --chunk-size if memory is short."
                ) from None
            except SeatcastError:
                raise
            except Exception as error:
                raise PipelineError(_describe_failure(label, error)) from error
            yield result
    finally:
        _stop_pool(executor)


def _dask_map(function, items, extra, jobs, max_pending, scheduler):
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise ConfigError(
            "backend 'dask' needs dask.distributed; install it with `pip install 'seatcast[dask]'`."
        ) from None
    cluster = None
    if scheduler:
        try:
            client = Client(scheduler, timeout="30s")
        except (OSError, TimeoutError) as error:
            raise ConfigError(
                f"cannot connect to the dask scheduler at {scheduler!r}: {error}. Check "
                "--scheduler and that the scheduler is running and reachable."
            ) from None
    else:
        cluster = LocalCluster(
            n_workers=jobs,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
        )
        client = Client(cluster)
    logger.info("Dask backend: %s", client.dashboard_link or client.scheduler.address)
    pending: deque[tuple[str, Any]] = deque()
    try:
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
                future = client.submit(function, argument, *extra, pure=False)
                pending.append((label, future))
            if not pending:
                return
            label, future = pending.popleft()
            try:
                result = future.result()
            except SeatcastError:
                raise
            except Exception as error:
                raise PipelineError(_describe_failure(label, error)) from error
            yield result
    finally:
        for _, future in pending:
            future.cancel()
        client.close()
        if cluster is not None:
            cluster.close()


def ordered_map(
    function: Callable[..., R],
    items: Iterable[tuple[str, T]],
    *,
    extra: tuple[Any, ...] = (),
    jobs: int = 1,
    backend: str = "processes",
    scheduler: str | None = None,
    max_pending: int | None = None,
) -> Iterator[R]:
    """Yield ``function(argument, *extra)`` for each ``(label, argument)``, in input order.

    Parameters
    ----------
    function : callable
        A top-level (picklable) function.
    items : iterable of (str, object)
        Pairs of a label used in error messages, such as ``"data/x.csv line 2001"``, and the
        argument. Only the argument is sent to the worker.
    extra : tuple, default=()
        Arguments passed after each item's argument, such as options.
    jobs : int, default=1
        Worker processes; 1 runs in this process.
    backend : {'processes', 'dask'}, default='processes'
        Where the chunks run when ``jobs > 1`` or a scheduler is given.
    scheduler : str, default=None
        Address of a running Dask scheduler; a local cluster when ``None``.
    max_pending : int, default=None
        Chunks in flight at once; ``2 * jobs`` when ``None``. It bounds memory.

    Raises
    ------
    PipelineError
        If a worker raises or dies.
    ConfigError
        If ``jobs`` or ``backend`` is invalid, or the scheduler cannot be reached.
    """
    jobs = resolve_jobs(jobs)
    if backend not in BACKENDS:
        raise ConfigError(f"`backend` must be one of {', '.join(BACKENDS)}; got {backend!r}")
    max_pending = max_pending or 2 * jobs
    if backend == "dask":
        return _dask_map(function, items, extra, jobs, max_pending, scheduler)
    if jobs == 1:
        return _serial_map(function, items, extra)
    return _process_map(function, items, extra, jobs, max_pending)
