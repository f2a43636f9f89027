"""The dask backend on a real LocalCluster.

It must give the same output as the process pool, for preprocess and for predict scoring, and
handle failures, a killed worker, loopback-only sockets and clean-up."""

from __future__ import annotations

import gzip
import logging
import os
import signal

import dask
import psutil
import pytest

distributed = pytest.importorskip("distributed")

from seatcast.cli import main  # noqa: E402
from seatcast.config import LimitSettings, RunSettings, SourceSpec, load_election_config  # noqa: E402
from seatcast.corpus import clean_to_jsonl, preprocess_file  # noqa: E402
from seatcast.errors import ConfigError, DataError, PipelineError  # noqa: E402
from seatcast.forecast import run_forecast  # noqa: E402
from seatcast.parallel import ordered_map  # noqa: E402
from seatcast.preprocess import CleanOptions  # noqa: E402

from .test_cli_preprocess import write_real_tweets  # noqa: E402

pytestmark = pytest.mark.slow


def kill_own_process(numbers):
    os.kill(os.getpid(), signal.SIGKILL)


def raise_data_error(numbers):
    raise DataError("`text` must be a string; got 3")


def numbered_items(count, size=3):
    for start in range(0, count, size):
        yield f"input.csv line {start + 1}", list(range(start, min(start + size, count)))


def add_offset(numbers, offset):
    return [number + offset for number in numbers]


@pytest.fixture(scope="module")
def cluster():
    """A two-worker local cluster on loopback, without retries, so a killed worker fails its task."""
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        local = distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
        )
    yield local
    local.close()


def test_dask_map_matches_serial_map(cluster):
    serial = list(ordered_map(add_offset, numbered_items(100), extra=(7,), jobs=1))
    remote = list(
        ordered_map(add_offset, numbered_items(100), extra=(7,), backend="dask", scheduler=cluster.scheduler_address)
    )
    assert remote == serial


def test_dask_map_restores_log_levels(cluster):
    distributed_logger = logging.getLogger("distributed")
    previous = distributed_logger.level
    distributed_logger.setLevel(logging.DEBUG)
    try:
        results = ordered_map(add_offset, numbered_items(6), extra=(0,), backend="dask", scheduler=cluster.scheduler_address)
        next(results)
        assert distributed_logger.level == logging.WARNING
        list(results)
        assert distributed_logger.level == logging.DEBUG
    finally:
        distributed_logger.setLevel(previous)


def test_dask_preprocess_matches_process_pool(cluster, tmp_path):
    source = write_real_tweets(tmp_path / "in.csv", 3000)
    outputs = {}
    for name, run in (
        ("processes", RunSettings(jobs=2, chunk_size=250)),
        ("dask", RunSettings(jobs=2, chunk_size=250, backend="dask", scheduler=cluster.scheduler_address)),
    ):
        output = tmp_path / f"{name}.jsonl.gz"
        ledger = preprocess_file(
            SourceSpec(path=str(source)),
            output,
            root=tmp_path,
            options=CleanOptions(),
            run=run,
            limits=LimitSettings(),
        )
        assert ledger.rows_used == 3000
        outputs[name] = output.read_bytes()
    assert outputs["dask"] == outputs["processes"]
    assert gzip.decompress(outputs["dask"]).count(b"\n") == 3000


def test_dask_failure_names_chunk(cluster):
    items = [("in.csv line 2", ([2], ["fine"])), ("in.csv line 3", ([3], ["a", "b"]))]
    with pytest.raises(PipelineError, match=r"chunk at in\.csv line 3: ValueError: a batch needs"):
        list(
            ordered_map(
                clean_to_jsonl, items, extra=(CleanOptions(),), backend="dask", scheduler=cluster.scheduler_address
            )
        )


def test_dask_passes_seatcast_errors_through(cluster):
    with pytest.raises(DataError, match="`text` must be a string"):
        list(ordered_map(raise_data_error, numbered_items(3), backend="dask", scheduler=cluster.scheduler_address))


def test_dask_killed_worker_ends_run(cluster):
    with pytest.raises(PipelineError, match=r"chunk at input\.csv line 1: KilledWorker"):
        list(ordered_map(kill_own_process, numbered_items(3), backend="dask", scheduler=cluster.scheduler_address))


def test_unreachable_scheduler_is_config_error(monkeypatch):
    monkeypatch.setattr("seatcast.parallel.DASK_CONNECT_TIMEOUT", 1)
    with pytest.raises(ConfigError, match=r"cannot connect to the dask scheduler at 'tcp://127\.0\.0\.1:9'"):
        list(ordered_map(add_offset, numbered_items(3), extra=(0,), backend="dask", scheduler="tcp://127.0.0.1:9"))


def test_local_cluster_binds_loopback_only():
    before = {child.pid for child in psutil.Process().children(recursive=True)}
    results = ordered_map(add_offset, numbered_items(30), extra=(1,), jobs=2, backend="dask")
    first = next(results)
    processes = [psutil.Process(), *psutil.Process().children(recursive=True)]
    listening = [
        connection.laddr.ip
        for process in processes
        for connection in process.net_connections(kind="inet")
        if connection.status == psutil.CONN_LISTEN
    ]
    rest = list(results)
    assert first == [1, 2, 3]
    assert len(rest) == 9
    assert listening
    assert set(listening) == {"127.0.0.1"}
    after = {child.pid for child in psutil.Process().children(recursive=True) if child.status() != psutil.STATUS_ZOMBIE}
    assert after <= before


@pytest.fixture(scope="module")
def trained(tiny_project):
    """Train the tiny model of the shared test project once for this module."""
    assert main(["-q", "train", "--config", str(tiny_project / "configs" / "tiny.yaml")]) == 0
    return tiny_project


def test_dask_predict_scoring_matches_process_pool(cluster, trained, tmp_path):
    config_path = trained / "configs" / "elections" / "tiny2019.yaml"
    runs = {}
    for name, overrides in (
        ("processes", {"run.jobs": 2, "run.backend": "processes"}),
        ("dask", {"run.jobs": 2, "run.backend": "dask", "run.scheduler": cluster.scheduler_address}),
    ):
        config = load_election_config(config_path, overrides={**overrides, "bootstrap.n_resamples": 0})
        predictions = tmp_path / f"{name}.csv.gz"
        result = run_forecast(config, trained, predictions_path=predictions)
        runs[name] = (gzip.decompress(predictions.read_bytes()), result.table)
    predictions_processes, table_processes = runs["processes"]
    predictions_dask, table_dask = runs["dask"]
    assert predictions_dask == predictions_processes
    assert predictions_dask.count(b"\n") > 100
    assert table_dask.equals(table_processes)
