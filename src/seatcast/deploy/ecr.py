"""Create an Amazon ECR repository and push a local Docker image to it.

The registry password travels from ECR to ``docker login`` through standard input only. This
module never puts it on a command line, in a child process's environment or in a log line.
"""

from __future__ import annotations

import base64
import logging
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from seatcast.deploy._aws import AwsSettings, aws_call, error_code, make_client
from seatcast.deploy._validate import check_image_tag, check_repository_name
from seatcast.errors import ConfigError, PipelineError

__all__ = [
    "PushResult",
    "RepositoryInfo",
    "ensure_repository",
    "get_login_password",
    "push_image",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RepositoryInfo:
    """An ECR repository as seatcast found or created it.

    Attributes
    ----------
    name : str
        Repository name.
    uri : str
        ``ACCOUNT.dkr.ecr.REGION.amazonaws.com/NAME``.
    created : bool
        True if this call created it.
    scan_on_push : bool
        Whether images are scanned for vulnerabilities when pushed.
    immutable_tags : bool
        Whether a pushed tag can never be overwritten.
    """

    name: str
    uri: str
    created: bool
    scan_on_push: bool
    immutable_tags: bool


@dataclass(frozen=True)
class PushResult:
    """The outcome of :func:`push_image`.

    Attributes
    ----------
    repository : RepositoryInfo
        The repository pushed to.
    remote_image : str
        The pushed reference, ``REGISTRY/REPOSITORY:TAG``.
    """

    repository: RepositoryInfo
    remote_image: str


def _repository_info(record: Mapping[str, Any], *, created: bool) -> RepositoryInfo:
    return RepositoryInfo(
        name=record["repositoryName"],
        uri=record["repositoryUri"],
        created=created,
        scan_on_push=bool(record.get("imageScanningConfiguration", {}).get("scanOnPush")),
        immutable_tags=record.get("imageTagMutability", "MUTABLE").startswith("IMMUTABLE"),
    )


def ensure_repository(ecr: Any, name: str, tags: Mapping[str, str] | None = None) -> RepositoryInfo:
    """Create the repository with scan-on-push and immutable tags unless it already exists.

    Parameters
    ----------
    ecr : botocore.client.ECR
        An ECR client.
    name : str
        Repository name, such as ``seatcast``.
    tags : mapping of str to str, optional
        Tags for a newly created repository.

    Returns
    -------
    RepositoryInfo
        The repository. An existing one is left as it is; a warning is logged if it scans
        nothing on push or allows tags to be overwritten.

    Raises
    ------
    ConfigError
        If ``name`` is not a valid repository name.
    UsageError
        If the caller lacks ``ecr:DescribeRepositories`` or ``ecr:CreateRepository``.
    PipelineError
        For other AWS errors.
    """
    check_repository_name(name)
    from botocore.exceptions import ClientError

    with aws_call("ecr:DescribeRepositories"):
        try:
            records = ecr.describe_repositories(repositoryNames=[name])["repositories"]
        except ClientError as error:
            if error_code(error) != "RepositoryNotFoundException":
                raise
            records = []

    if records:
        info = _repository_info(records[0], created=False)
        logger.info("ECR repository %s already exists: %s", name, info.uri)
        if not info.scan_on_push:
            logger.warning(
                "Repository %s does not scan images on push; enable it with `aws ecr "
                "put-image-scanning-configuration --repository-name %s "
                "--image-scanning-configuration scanOnPush=true`",
                name,
                name,
            )
        if not info.immutable_tags:
            logger.warning(
                "Repository %s allows tags to be overwritten; seatcast creates repositories with "
                "immutable tags so that a deployed tag always means the same image",
                name,
            )
        return info

    tag_list = [{"Key": key, "Value": value} for key, value in (tags or {}).items()]
    request: dict[str, Any] = {
        "repositoryName": name,
        "imageScanningConfiguration": {"scanOnPush": True},
        "imageTagMutability": "IMMUTABLE",
    }
    if tag_list:
        request["tags"] = tag_list
    with aws_call("ecr:CreateRepository"):
        record = ecr.create_repository(**request)["repository"]
    info = _repository_info(record, created=True)
    logger.info("Created ECR repository %s (scan on push, immutable tags): %s", name, info.uri)
    return info


def get_login_password(ecr: Any) -> str:
    """Return the registry password, as ``aws ecr get-login-password`` prints it.

    Parameters
    ----------
    ecr : botocore.client.ECR
        An ECR client.

    Returns
    -------
    str
        The password for user ``AWS``, valid for 12 hours. Keep it out of logs and argv.

    Raises
    ------
    PipelineError
        If ECR returns no token or a token not of the form ``AWS:password``.
    """
    with aws_call("ecr:GetAuthorizationToken"):
        data = ecr.get_authorization_token()["authorizationData"]
    if not data:
        raise PipelineError("ecr:GetAuthorizationToken returned no authorization data")
    decoded = base64.b64decode(data[0]["authorizationToken"]).decode("utf-8")
    user, separator, password = decoded.partition(":")
    if user != "AWS" or not separator or not password:
        raise PipelineError(
            "ecr:GetAuthorizationToken returned a token not of the form AWS:password"
        )
    return password


def _run_docker(
    docker: str, arguments: Sequence[str], *, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    command = [docker, *arguments]
    logger.info("Running: %s", " ".join(command))
    try:
        completed = subprocess.run(
            command, input=stdin, capture_output=True, text=True, check=False
        )
    except FileNotFoundError as error:
        raise ConfigError(
            f"`--docker` must name an installed Docker CLI; {docker!r} was not found on PATH"
        ) from error
    if completed.returncode != 0:
        detail = (completed.stderr or completed.stdout).strip().splitlines()
        last_line = detail[-1] if detail else "no output"
        raise PipelineError(
            f"`{docker} {arguments[0]}` failed with exit code {completed.returncode}: {last_line}"
        )
    return completed


def _logout(docker: str, host: str) -> None:
    # A failed logout must not hide the push result (or the push error), so it only warns.
    try:
        _run_docker(docker, ["logout", host])
    except (ConfigError, PipelineError) as error:
        logger.warning("Could not log Docker out of %s: %s", host, error)


def _default_tag(local_image: str) -> str:
    last_segment = local_image.rsplit("/", 1)[-1]
    if "@" in last_segment:
        raise ConfigError(
            f"`--tag` must be given when `--image` is a digest reference; got {local_image!r}"
        )
    _, separator, tag = last_segment.partition(":")
    return tag if separator else "latest"


def push_image(
    settings: AwsSettings,
    local_image: str,
    repository: str = "seatcast",
    *,
    tag: str | None = None,
    registry: str | None = None,
    docker: str = "docker",
    keep_login: bool = False,
    tags: Mapping[str, str] | None = None,
) -> PushResult:
    """Create the ECR repository if needed, log Docker in, then tag and push the image.

    Parameters
    ----------
    settings : AwsSettings
        Region, profile and endpoint for the ECR calls.
    local_image : str
        A local image, such as ``seatcast:0.1.0``.
    repository : str, default="seatcast"
        ECR repository name.
    tag : str, optional
        Tag to push; defaults to the local image's tag. ``latest`` is rejected because the
        repository's tags are immutable.
    registry : str, optional
        Registry host to log in and push to; defaults to the repository's ECR host. A local
        registry such as ``localhost:5000`` lets the flow be rehearsed without AWS.
    docker : str, default="docker"
        Docker CLI to run.
    keep_login : bool, default=False
        Leave Docker logged in afterwards; by default ``docker logout`` removes the stored
        12-hour credential.
    tags : mapping of str to str, optional
        Tags for a newly created repository.

    Returns
    -------
    PushResult
        The repository and the pushed reference.

    Raises
    ------
    ConfigError
        For an invalid repository, tag or registry, a missing local image or Docker CLI.
    UsageError
        For missing AWS credentials or permissions.
    PipelineError
        If an AWS call or a Docker command fails.
    """
    check_repository_name(repository)
    tag = check_image_tag(tag if tag is not None else _default_tag(local_image))

    # Fail before touching AWS if the image to push does not exist.
    try:
        _run_docker(docker, ["image", "inspect", "--format", "{{.Id}}", local_image])
    except PipelineError as error:
        raise ConfigError(
            f"`--image` must name a local image; {local_image!r} was not found "
            "(build it with `docker build -f docker/Dockerfile -t seatcast:0.1.0 .`)"
        ) from error

    ecr = make_client(settings, "ecr")
    info = ensure_repository(ecr, repository, tags)
    host = registry or info.uri.split("/", 1)[0]
    remote_image = f"{host}/{repository}:{tag}"

    password = get_login_password(ecr)
    _run_docker(docker, ["login", "--username", "AWS", "--password-stdin", host], stdin=password)
    try:
        _run_docker(docker, ["tag", local_image, remote_image])
        _run_docker(docker, ["push", remote_image])
    finally:
        if not keep_login:
            _logout(docker, host)
    logger.info("Pushed %s", remote_image)
    return PushResult(repository=info, remote_image=remote_image)
