"""Mapping a function over chunks, in order, on a process pool or a Dask cluster.

:func:`ordered_map` is the one parallel primitive of seatcast, and has no tweet-specific code.
It takes a top-level function, an iterable of ``(label, argument)`` pairs and a few fixed
extra arguments, and yields ``function(argument, *extra)`` for each pair in input order.

* ``jobs=1`` calls the function in this process, one chunk at a time.
* ``backend="processes"`` starts ``jobs`` worker processes once for the whole run. The extra
  arguments reach each worker once, when it starts (inherited through ``fork`` on Linux and
  macOS, pickled once per worker elsewhere); each chunk then sends only its argument. At most
  ``max_pending`` chunks are in flight, so the input is read while earlier chunks are being
  processed, and memory stays bounded however long the input is.
* ``backend="dask"`` submits the same function to a ``dask.distributed`` cluster: the one at
  ``scheduler``, or a local cluster of ``jobs`` single-threaded worker processes that listens
  on 127.0.0.1 only and has no dashboard. The extra arguments are scattered to every worker
  once, so a remote worker needs no shared file system for them.

A worker that raises ends the run with :class:`~seatcast.errors.PipelineError` naming the
chunk's label, for example ``data/x.csv line 2001``. A worker process that dies (killed by a
signal or by the out-of-memory killer) ends it the same way instead of hanging. On any early
exit, including Ctrl-C, pending chunks are cancelled and the worker processes are stopped.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import multiprocessing.connection
import os
import signal
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeoutError
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from seatcast.errors import ConfigError, PipelineError, SeatcastError

__all__ = ["BACKENDS", "MAX_JOBS", "ordered_map", "resolve_jobs"]

logger = logging.getLogger(__name__)

BACKENDS = ("processes", "dask")

# More workers than this is almost surely a typo, because each one loads its own copy of the model.
MAX_JOBS = 256

# HTTP address of a local Dask cluster's scheduler: loopback, with a free port chosen by the OS.
LOOPBACK_ANY_PORT = "127.0.0.1:0"

# Seconds an interrupted or failed run waits for the chunks that workers hold to finish
# before it kills the workers.
STOP_TIMEOUT = 30

# Seconds between checks that every worker process is still alive, while waiting for a chunk.
POLL_SECONDS = 1.0

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


def _describe_failure(label: str, error: BaseException) -> str:
    return f"a worker failed on the chunk at {label}: {type(error).__name__}: {error}"


# ---------------------------------------------------------------------------------------------
# In this process


def _serial_map(function, items, extra):
    for label, argument in items:
        try:
            result = function(argument, *extra)
        except SeatcastError:
            raise
        except Exception as error:
            raise PipelineError(_describe_failure(label, error)) from error
        yield result


# ---------------------------------------------------------------------------------------------
# Process pool

# The function and extra arguments of the pool this worker process belongs to, set once by
# _init_worker when the process starts.
_WORKER_TASK: tuple[Callable[..., Any], tuple[Any, ...]] | None = None


def _init_worker(function: Callable[..., Any], extra: tuple[Any, ...]) -> None:
    global _WORKER_TASK
    # Ctrl-C reaches every process in the terminal's process group. Workers ignore it and the
    # parent stops them, so the user sees one message instead of a traceback per worker.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    # A forked worker inherits the parent's SIGTERM handler; restore the default so that the
    # parent's terminate() ends it quietly.
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    _WORKER_TASK = (function, extra)


def _run_in_worker(argument: Any) -> Any:
    function, extra = _WORKER_TASK
    return function(argument, *extra)


def _has_exited(process: multiprocessing.process.BaseProcess) -> bool:
    """Check whether a worker process has ended, even if another thread reaped it.

    The pool's manager thread reaps workers too, and ``exitcode`` or ``is_alive()`` can miss an
    exit that it reaped at the same moment. The sentinel becomes readable when the process
    ends, so it answers without a race, and a process found running has not been reaped, so
    its pid is still its own.
    """
    return bool(multiprocessing.connection.wait([process.sentinel], timeout=0))


def _stop_pool(executor: ProcessPoolExecutor) -> None:
    # Queued chunks are cancelled and the chunks that workers already hold finish, which takes
    # about one chunk's time. Workers are not terminated first: one killed while it writes its
    # result leaves half a message in the result pipe, and the pool's manager thread then
    # blocks reading it (see below).
    processes = list((getattr(executor, "_processes", None) or {}).values())
    executor.shutdown(wait=False, cancel_futures=True)
    # After a worker died, the others may wait for ever on a lock or pipe that it held, and
    # their results are not used, so they are not waited for.
    died = any(_has_exited(process) for process in processes)
    deadline = time.monotonic() + (0 if died else STOP_TIMEOUT)
    for process in processes:
        process.join(timeout=max(0.0, deadline - time.monotonic()))
    for process in processes:
        if not _has_exited(process):
            if not died:
                # A chunk that does not finish in time: killing a worker that is computing,
                # not writing, is safe.
                logger.warning("Worker process %d did not stop in time; killing it", process.pid)
            process.kill()
            process.join(timeout=5)
    manager = getattr(executor, "_executor_manager_thread", None)
    if manager is not None and manager.is_alive():
        # The manager thread may be blocked reading half a message from a killed worker. This
        # process has the pipe's other end open, so closing it ends the read with an EOF error,
        # and the thread then stops instead of keeping the interpreter from exiting.
        with contextlib.suppress(Exception):
            executor._result_queue._writer.close()
        manager.join(timeout=5)


def _mp_context() -> multiprocessing.context.BaseContext:
    # fork starts workers in milliseconds and lets them inherit what the parent has loaded
    # (the model, functions defined in a notebook). Windows has only spawn.
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else "spawn")


def _worker_died(label: str) -> PipelineError:
    return PipelineError(
        f"a worker process died while processing the chunk at {label} or a chunk after it "
        "(killed by a signal or out of memory); no output was kept. Run again, or lower "
        "--jobs or --chunk-size if memory is short."
    )


def _process_map(function, items, extra, jobs, max_pending):
    executor = ProcessPoolExecutor(
        max_workers=jobs,
        mp_context=_mp_context(),
        initializer=_init_worker,
        initargs=(function, extra),
    )
    logger.debug("Started a pool of %d worker processes", jobs)
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
                try:
                    future = executor.submit(_run_in_worker, argument)
                except BrokenProcessPool:
                    # The pool broke while earlier chunks were in flight; the oldest of them
                    # is the first whose output is lost.
                    raise _worker_died(pending[0][0] if pending else label) from None
                pending.append((label, future))
            if not pending:
                return
            label, future = pending.popleft()
            try:
                result = _wait_for(future, executor, label)
            except BrokenProcessPool:
                raise _worker_died(label) from None
            except SeatcastError:
                raise
            except Exception as error:
                raise PipelineError(_describe_failure(label, error)) from error
            yield result
    finally:
        _stop_pool(executor)


def _wait_for(future: Future, executor: ProcessPoolExecutor, label: str) -> Any:
    """Return the future's result, or raise as soon as a worker process has died.

    A worker killed while it writes a result leaves half a message in the result pipe. The
    pool's manager thread then blocks reading it and never marks the pool broken, so waiting
    for the future alone would hang.
    """
    while True:
        try:
            return future.result(timeout=POLL_SECONDS)
        except FutureTimeoutError:
            processes = list((getattr(executor, "_processes", None) or {}).values())
            if any(_has_exited(process) for process in processes):
                raise _worker_died(label) from None


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
                raise PipelineError(_describe_failure(label, error)) from error
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
        Worker processes; 1 runs in this process (unless ``backend`` is ``'dask'``).
    backend : {'processes', 'dask'}, default='processes'
        Where the chunks run.
    scheduler : str, default=None
        Address of a running Dask scheduler, such as ``tcp://10.0.0.5:8786``; with the dask
        backend, a local cluster of ``jobs`` workers when ``None``.
    max_pending : int, default=None
        Chunks in flight at once; ``2 * jobs`` when ``None`` (with a remote Dask scheduler,
        twice its worker threads). It bounds memory.

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
    return _process_map(function, items, extra, jobs, max_pending or 2 * jobs)
