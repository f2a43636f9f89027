"""A moto server on 127.0.0.1 for the deploy tests, and an AWS environment that cannot leak.

Test modules import the fixtures from here
(``from tests.deploy.moto_server import aws, moto_url, no_real_aws``); ``no_real_aws`` is
autouse, so importing it guards every test of the module.
pytest keeps one copy of a session fixture per importing module, so the server process is
shared through a reference count and stopped, by PID, when the last copy is torn down.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest

START_TIMEOUT_SECONDS = 60.0
REGION = "eu-west-1"
# Plainly fake credentials; moto accepts any.
FAKE_KEY_ID = "testing"
FAKE_SECRET = "testing"


@dataclass
class _Server:
    process: subprocess.Popen[bytes]
    url: str
    log_path: Path
    users: int = 0


_server: _Server | None = None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _moto_server_command() -> list[str]:
    beside_python = Path(sys.executable).parent / "moto_server"
    executable = str(beside_python) if beside_python.exists() else shutil.which("moto_server")
    if executable is None:
        pytest.fail("moto_server was not found; install the dev extra (`pip install -e .[dev]`)")
    return [executable]


def _write_amis(path: Path) -> None:
    """Write the only AMIs the moto server offers: the Amazon Linux 2023 ones that its SSM
    parameters name.

    Without ``MOTO_AMIS_PATH`` moto creates thousands of AMIs, with a volume and a snapshot each,
    every time the EC2 backend starts, which is after every reset: about a second per test.
    """
    from moto import mock_aws

    images = []
    with mock_aws():
        ssm = boto3.client(
            "ssm",
            region_name=REGION,
            aws_access_key_id=FAKE_KEY_ID,
            aws_secret_access_key=FAKE_SECRET,
        )
        for architecture in ("x86_64", "arm64"):
            name = f"/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-{architecture}"
            image_id = ssm.get_parameter(Name=name)["Parameter"]["Value"]
            images.append(
                {
                    "ami_id": image_id,
                    "state": "available",
                    "public": True,
                    "owner_id": "137112412989",
                    "image_location": f"amazon/al2023-ami-kernel-default-{architecture}",
                    "root_device_type": "ebs",
                    "root_device_name": "/dev/xvda",
                    "description": "Amazon Linux 2023 AMI",
                    "image_type": "machine",
                    "platform": None,
                    "architecture": architecture,
                    "name": f"al2023-ami-kernel-default-{architecture}",
                    "virtualization_type": "hvm",
                    "hypervisor": "xen",
                }
            )
    path.write_text(json.dumps(images), encoding="utf-8")


def _start(log_dir: Path) -> _Server:
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    amis_path = log_dir / "amis.json"
    _write_amis(amis_path)
    env = {
        **os.environ,
        "MOTO_IAM_LOAD_MANAGED_POLICIES": "true",
        "MOTO_AMIS_PATH": str(amis_path),
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    log_path = log_dir / "moto_server.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [*_moto_server_command(), "-H", "127.0.0.1", "-p", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while True:
        if process.poll() is not None:
            pytest.fail(f"moto_server exited with {process.returncode}: {log_path.read_text()}")
        try:
            with urllib.request.urlopen(f"{url}/moto-api/", timeout=2):
                return _Server(process=process, url=url, log_path=log_path)
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            if time.monotonic() > deadline:
                _stop(process)
                pytest.fail(f"moto_server did not answer on {url}: {log_path.read_text()}")
            time.sleep(0.2)


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.kill(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


@pytest.fixture(scope="session")
def moto_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Yield the URL of a moto server (with AWS managed IAM policies) on 127.0.0.1."""
    global _server
    if _server is None or _server.process.poll() is not None:
        _server = _start(tmp_path_factory.mktemp("moto"))
    _server.users += 1
    try:
        yield _server.url
    finally:
        _server.users -= 1
        if _server.users == 0:
            _stop(_server.process)
            _server = None


def reset_moto(url: str) -> None:
    """Drop every resource that earlier tests created on the moto server."""
    request = urllib.request.Request(f"{url}/moto-api/reset", method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200


# Where an AWS call goes when a test forgot to ask for the moto server: a closed port on
# loopback, so the call fails at once instead of reaching AWS.
UNREACHABLE_ENDPOINT = "http://127.0.0.1:9"


@pytest.fixture(autouse=True)
def no_real_aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Give every test fake credentials and no path to real AWS, a real profile or IMDS.

    The config and credentials files are empty, the metadata service is disabled and the
    endpoint is a closed loopback port, so a stray call fails fast on this machine.
    """
    config_file = tmp_path / "aws-config"
    credentials_file = tmp_path / "aws-credentials"
    config_file.write_text("")
    credentials_file.write_text("")
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", FAKE_KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", FAKE_SECRET)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config_file))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials_file))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "2")
    monkeypatch.setenv("AWS_REGION", REGION)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_ENDPOINT_URL", UNREACHABLE_ENDPOINT)


@pytest.fixture
def aws(moto_url: str, no_real_aws: None, monkeypatch: pytest.MonkeyPatch) -> str:
    """Point boto3 and the AWS CLI at a freshly reset moto server; return its URL."""
    reset_moto(moto_url)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_url)
    return moto_url
