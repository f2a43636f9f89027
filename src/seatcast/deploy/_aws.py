"""Sessions, clients and error translation shared by the deploy modules.

boto3 is imported inside functions so that ``seatcast`` loads without the ``deploy`` extra.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from seatcast.errors import ConfigError, PipelineError, UsageError

__all__ = ["AwsSettings", "aws_call", "error_code", "make_client"]

logger = logging.getLogger(__name__)

# Error codes that mean the caller lacks an IAM permission or valid credentials.
_PERMISSION_CODES = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "AuthFailure",
        "UnauthorizedOperation",
        "UnrecognizedClientException",
        "InvalidClientTokenId",
        "ExpiredToken",
        "ExpiredTokenException",
        "SignatureDoesNotMatch",
    }
)


@dataclass(frozen=True)
class AwsSettings:
    """Connection settings for the deploy commands: region, profile and endpoint.

    Parameters
    ----------
    region : str or None, default=None
        AWS region such as ``eu-west-1``; ``None`` uses the profile's or ``AWS_REGION``.
    profile : str or None, default=None
        Named profile from ``~/.aws/config``; ``None`` uses boto3's default chain.
    endpoint_url : str or None, default=None
        Endpoint for every service, for example a local moto server. ``None`` keeps boto3's own
        choice, which honours ``AWS_ENDPOINT_URL`` and otherwise uses the public AWS endpoints.
    """

    region: str | None = None
    profile: str | None = None
    endpoint_url: str | None = None


def _import_boto3() -> Any:
    try:
        import boto3
    except ImportError as error:
        raise UsageError(
            "the deploy commands need boto3; install it with `pip install 'seatcast[deploy]'`"
        ) from error
    return boto3


def make_client(settings: AwsSettings, service: str) -> Any:
    """Create a boto3 client for ``service`` with the given region, profile and endpoint.

    Parameters
    ----------
    settings : AwsSettings
        Region, profile and endpoint to use.
    service : str
        boto3 service name such as ``"ecr"``.

    Returns
    -------
    botocore.client.BaseClient
        The client.

    Raises
    ------
    UsageError
        If boto3 is not installed.
    ConfigError
        If the profile does not exist or no region is configured.
    """
    boto3 = _import_boto3()
    from botocore.exceptions import NoRegionError, ProfileNotFound

    try:
        session = boto3.session.Session(profile_name=settings.profile, region_name=settings.region)
    except ProfileNotFound as error:
        raise ConfigError(
            f"`--profile` must name a profile in your AWS config; got {settings.profile!r} "
            "(list them with `aws configure list-profiles`)"
        ) from error
    if session.region_name is None:
        raise ConfigError(
            "`--region` must be given, or set a region with `aws configure` or AWS_REGION; got none"
        )
    kwargs: dict[str, Any] = {}
    if settings.endpoint_url:
        kwargs["endpoint_url"] = settings.endpoint_url
    try:
        return session.client(service, **kwargs)
    except NoRegionError as error:  # pragma: no cover - guarded by the check above
        raise ConfigError("`--region` must be given; got none") from error


def error_code(error: Exception) -> str:
    """Return the AWS error code of a botocore ``ClientError`` (empty for other errors)."""
    response = getattr(error, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))


@contextmanager
def aws_call(action: str) -> Iterator[None]:
    """Translate botocore errors raised inside the block into seatcast errors.

    Parameters
    ----------
    action : str
        The API action being called, such as ``"ecr:CreateRepository"``; it is named in the
        message so that a missing permission can be granted.

    Raises
    ------
    UsageError
        For missing credentials or a missing IAM permission.
    PipelineError
        For any other AWS error, such as an unreachable endpoint.
    """
    from botocore.exceptions import (
        BotoCoreError,
        ClientError,
        EndpointConnectionError,
        NoCredentialsError,
        PartialCredentialsError,
    )

    try:
        yield
    except (NoCredentialsError, PartialCredentialsError) as error:
        raise UsageError(
            f"{action} failed: no AWS credentials found; run `aws configure` or pass `--profile`"
        ) from error
    except ClientError as error:
        code = error_code(error)
        message = error.response.get("Error", {}).get("Message", str(error))
        if code in _PERMISSION_CODES:
            raise UsageError(
                f"{action} was denied ({code}): {message}. Grant `{action}` to your IAM user "
                "or role, or check the credentials with `aws sts get-caller-identity`"
            ) from error
        raise PipelineError(f"{action} failed ({code}): {message}") from error
    except EndpointConnectionError as error:
        raise PipelineError(
            f"{action} failed: cannot reach {error.kwargs.get('endpoint_url', 'the endpoint')}; "
            "check `--endpoint-url`, `--region` and the network"
        ) from error
    except BotoCoreError as error:
        raise PipelineError(f"{action} failed: {error}") from error
