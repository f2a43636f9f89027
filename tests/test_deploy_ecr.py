"""Tests for seatcast.deploy.ecr against a moto server on 127.0.0.1 and a fake Docker CLI."""

from __future__ import annotations

import logging

import boto3
import pytest

from seatcast.deploy import AwsSettings, ensure_repository, push_image
from seatcast.deploy.ecr import get_login_password
from seatcast.errors import ConfigError, PipelineError, UsageError
from tests.deploy.fakes import install_fakes, read_calls
from tests.deploy.moto_server import REGION, aws, moto_url, no_real_aws  # noqa: F401

# Every test here talks to the moto server.
pytestmark = pytest.mark.slow

ACCOUNT_REGISTRY = f"123456789012.dkr.ecr.{REGION}.amazonaws.com"


@pytest.fixture
def ecr(aws):  # noqa: F811
    return boto3.client("ecr", region_name=REGION, endpoint_url=aws)


@pytest.fixture
def fake_docker(tmp_path):
    call_log = tmp_path / "docker-calls.log"
    bin_dir = install_fakes(tmp_path / "bin", call_log, ["docker"])
    return str(bin_dir / "docker"), call_log


def test_repository_created_with_scan_and_immutable_tags(ecr):
    info = ensure_repository(ecr, "seatcast", {"project": "seatcast"})
    assert info.created is True
    assert info.uri == f"{ACCOUNT_REGISTRY}/seatcast"
    record = ecr.describe_repositories(repositoryNames=["seatcast"])["repositories"][0]
    assert record["imageScanningConfiguration"] == {"scanOnPush": True}
    assert record["imageTagMutability"] == "IMMUTABLE"
    tags = ecr.list_tags_for_resource(resourceArn=record["repositoryArn"])["tags"]
    assert tags == [{"Key": "project", "Value": "seatcast"}]


def test_repository_creation_is_idempotent(ecr):
    first = ensure_repository(ecr, "seatcast")
    second = ensure_repository(ecr, "seatcast")
    assert first.created is True
    assert second.created is False
    assert second.uri == first.uri
    assert second.scan_on_push is True
    assert second.immutable_tags is True
    assert len(ecr.describe_repositories()["repositories"]) == 1


def test_existing_mutable_repository_is_kept_with_warning(ecr, caplog):
    ecr.create_repository(repositoryName="legacy", imageTagMutability="MUTABLE")
    with caplog.at_level(logging.WARNING, logger="seatcast.deploy.ecr"):
        info = ensure_repository(ecr, "legacy")
    assert info.created is False
    assert info.immutable_tags is False
    assert info.scan_on_push is False
    messages = " ".join(record.getMessage() for record in caplog.records)
    assert "does not scan images on push" in messages
    assert "allows tags to be overwritten" in messages
    record = ecr.describe_repositories(repositoryNames=["legacy"])["repositories"][0]
    assert record["imageTagMutability"] == "MUTABLE"


@pytest.mark.parametrize("name", ["Seatcast", "a", "bad name", "-x", "x/"])
def test_repository_name_rejected(ecr, name):
    with pytest.raises(ConfigError, match="`--repository` must be lowercase"):
        ensure_repository(ecr, name)


def test_login_password_decoded(ecr):
    password = get_login_password(ecr)
    assert password
    assert not password.startswith("AWS:")


def test_push_logs_in_through_stdin_then_tags_and_pushes(aws, fake_docker):  # noqa: F811
    docker, call_log = fake_docker
    settings = AwsSettings(region=REGION, endpoint_url=aws)
    result = push_image(settings, "seatcast:0.1.0", registry="localhost:5999", docker=docker)
    assert result.remote_image == "localhost:5999/seatcast:0.1.0"
    assert result.repository.created is True

    password = get_login_password(boto3.client("ecr", region_name=REGION, endpoint_url=aws))
    calls = read_calls(call_log)
    assert calls == [
        "docker image inspect --format {{.Id}} seatcast:0.1.0",
        "docker login --username AWS --password-stdin localhost:5999",
        f"docker <stdin> {password}",
        "docker tag seatcast:0.1.0 localhost:5999/seatcast:0.1.0",
        "docker push localhost:5999/seatcast:0.1.0",
        "docker logout localhost:5999",
    ]


def test_push_defaults_to_the_ecr_registry(aws, fake_docker):  # noqa: F811
    docker, call_log = fake_docker
    settings = AwsSettings(region=REGION, endpoint_url=aws)
    result = push_image(
        settings, "seatcast:0.1.0", "team/seatcast", tag="abc123", docker=docker, keep_login=True
    )
    assert result.remote_image == f"{ACCOUNT_REGISTRY}/team/seatcast:abc123"
    calls = read_calls(call_log)
    assert f"docker push {ACCOUNT_REGISTRY}/team/seatcast:abc123" in calls
    assert not any(call.startswith("docker logout") for call in calls)


def test_push_twice_reuses_repository(aws, fake_docker):  # noqa: F811
    docker, _ = fake_docker
    settings = AwsSettings(region=REGION, endpoint_url=aws)
    push_image(settings, "seatcast:0.1.0", docker=docker)
    second = push_image(settings, "seatcast:0.1.1", docker=docker)
    assert second.repository.created is False


def test_push_rejects_latest_tag(aws, fake_docker):  # noqa: F811
    docker, call_log = fake_docker
    settings = AwsSettings(region=REGION, endpoint_url=aws)
    with pytest.raises(ConfigError, match=r"`--tag` must be a version .* got 'latest'"):
        push_image(settings, "seatcast", docker=docker)
    with pytest.raises(ConfigError, match="`--tag` must be a version"):
        push_image(settings, "seatcast:0.1.0", tag="latest", docker=docker)
    assert read_calls(call_log) == []


def test_push_missing_local_image(aws, fake_docker):  # noqa: F811
    docker, call_log = fake_docker
    settings = AwsSettings(region=REGION, endpoint_url=aws)
    with pytest.raises(ConfigError, match="`--image` must name a local image; 'missing-image:1'"):
        push_image(settings, "missing-image:1", docker=docker)
    ecr_client = boto3.client("ecr", region_name=REGION, endpoint_url=aws)
    assert ecr_client.describe_repositories()["repositories"] == []
    assert len(read_calls(call_log)) == 1


def test_push_failure_still_logs_out(aws, fake_docker, monkeypatch):  # noqa: F811
    docker, call_log = fake_docker
    monkeypatch.setenv("FAKE_DOCKER_PUSH_EXIT", "1")
    settings = AwsSettings(region=REGION, endpoint_url=aws)
    with pytest.raises(PipelineError, match="push` failed with exit code 1: denied: fake push"):
        push_image(settings, "seatcast:0.1.0", registry="localhost:5999", docker=docker)
    assert read_calls(call_log)[-1] == "docker logout localhost:5999"


def test_push_without_docker_cli(aws, tmp_path):  # noqa: F811
    settings = AwsSettings(region=REGION, endpoint_url=aws)
    missing = str(tmp_path / "no-such-docker")
    with pytest.raises(ConfigError, match="`--docker` must name an installed Docker CLI"):
        push_image(settings, "seatcast:0.1.0", docker=missing)


def test_push_without_credentials(aws, fake_docker, monkeypatch):  # noqa: F811
    docker, _ = fake_docker
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    settings = AwsSettings(region=REGION, endpoint_url=aws)
    with pytest.raises(UsageError, match="no AWS credentials found; run `aws configure`"):
        push_image(settings, "seatcast:0.1.0", docker=docker)


def test_missing_region_rejected(aws, fake_docker, monkeypatch):  # noqa: F811
    docker, _ = fake_docker
    monkeypatch.delenv("AWS_REGION")
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    with pytest.raises(ConfigError, match="`--region` must be given"):
        push_image(AwsSettings(endpoint_url=aws), "seatcast:0.1.0", docker=docker)


def test_unknown_profile_rejected(aws, fake_docker):  # noqa: F811
    docker, _ = fake_docker
    settings = AwsSettings(region=REGION, profile="nobody", endpoint_url=aws)
    with pytest.raises(ConfigError, match=r"`--profile` must name a profile .* got 'nobody'"):
        push_image(settings, "seatcast:0.1.0", docker=docker)


def test_endpoint_taken_from_environment(aws, fake_docker):  # noqa: F811
    # No endpoint in the settings: boto3 itself reads AWS_ENDPOINT_URL, set to moto by `aws`.
    docker, _ = fake_docker
    result = push_image(AwsSettings(region=REGION), "seatcast:0.1.0", docker=docker)
    ecr_client = boto3.client("ecr", region_name=REGION, endpoint_url=aws)
    names = [repo["repositoryName"] for repo in ecr_client.describe_repositories()["repositories"]]
    assert names == ["seatcast"]
    assert result.repository.created is True


def test_unreachable_endpoint_reported(aws, fake_docker, monkeypatch):  # noqa: F811
    docker, _ = fake_docker
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    # A closed port on loopback: nothing listens there, so the call fails fast.
    settings = AwsSettings(region=REGION, endpoint_url="http://127.0.0.1:9")
    with pytest.raises(PipelineError, match=r"cannot reach http://127\.0\.0\.1:9"):
        push_image(settings, "seatcast:0.1.0", docker=docker)
