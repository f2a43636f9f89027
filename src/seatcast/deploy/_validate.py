"""Checks on deploy options, each raising ConfigError with the offending value."""

from __future__ import annotations

import ipaddress
import re

from seatcast.errors import ConfigError

__all__ = [
    "check_cidr",
    "check_image_tag",
    "check_instance_type",
    "check_name",
    "check_repository_name",
    "check_s3_uri",
    "parse_image_uri",
    "parse_tags",
]

# Names used for EC2 Name tags, IAM roles and security groups; kept to a set valid in all three.
NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,62}")
# ECR repository names: lowercase path segments separated by "/", 2 to 256 characters.
REPOSITORY_RE = re.compile(
    r"""
    (?=.{2,256}$)                       # overall length
    [a-z0-9]+(?:[._-][a-z0-9]+)*        # first segment
    (?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*  # further segments after "/"
    """,
    re.VERBOSE,
)
# Docker tag grammar: 1 to 128 characters, no leading dot or dash.
IMAGE_TAG_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
# A registry host with an optional port, such as 123456789012.dkr.ecr.eu-west-1.amazonaws.com.
REGISTRY_RE = re.compile(
    r"""
    [A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?  # host name or IP address
    (?::\d{1,5})?                              # optional port
    """,
    re.VERBOSE,
)
# An ECR registry host; the region is captured.
ECR_HOST_RE = re.compile(
    r"""
    \d{12}                        # account id
    \.dkr\.ecr(?:-fips)?\.
    (?P<region>[a-z0-9-]+)
    \.amazonaws\.com(?:\.cn)?     # the China partition adds .cn
    """,
    re.VERBOSE,
)
INSTANCE_TYPE_RE = re.compile(r"[a-z][a-z0-9-]*\.[a-z0-9]+")
S3_URI_RE = re.compile(
    r"""
    s3://
    (?P<bucket>[a-z0-9][a-z0-9.-]{1,61}[a-z0-9])   # bucket naming rules, 3-63 characters
    (?:/(?P<prefix>[A-Za-z0-9!_.*'()/-]*))?         # key prefix of characters safe in keys
    """,
    re.VERBOSE,
)
TAG_KEY_RE = re.compile(r"[A-Za-z0-9 _.:/=+@-]{1,128}")
TAG_VALUE_RE = re.compile(r"[A-Za-z0-9 _.:/=+@-]{0,256}")


def check_name(value: str, key: str = "--name") -> str:
    """Return ``value`` if it is a valid resource name, else raise ConfigError."""
    if not NAME_RE.fullmatch(value):
        raise ConfigError(
            f"`{key}` must be 1-63 letters, digits, '-' or '_', starting with a letter or digit; "
            f"got {value!r}"
        )
    return value


def check_repository_name(value: str) -> str:
    """Return ``value`` if it is a valid ECR repository name, else raise ConfigError."""
    if not REPOSITORY_RE.fullmatch(value):
        raise ConfigError(
            "`--repository` must be lowercase letters, digits and '.', '_', '-', '/' separators "
            f"(2-256 characters), such as 'seatcast'; got {value!r}"
        )
    return value


def check_image_tag(value: str) -> str:
    """Return ``value`` if it is a valid, pinned image tag, else raise ConfigError.

    ``latest`` is rejected because seatcast creates repositories with immutable tags, so a
    ``latest`` tag could be pushed only once and would then block every later push.
    """
    if not IMAGE_TAG_RE.fullmatch(value):
        raise ConfigError(
            "`--tag` must be 1-128 letters, digits, '_', '.' or '-', not starting with '.' or "
            f"'-'; got {value!r}"
        )
    if value == "latest":
        raise ConfigError(
            "`--tag` must be a version such as 0.1.0 or a git commit, because the repository "
            "has immutable tags; got 'latest'"
        )
    return value


def check_instance_type(value: str) -> str:
    """Return ``value`` if it looks like an EC2 instance type, else raise ConfigError."""
    if not INSTANCE_TYPE_RE.fullmatch(value):
        raise ConfigError(f"`--instance-type` must look like 't3.medium'; got {value!r}")
    return value


def check_cidr(
    value: str, *, allow_anywhere: bool = False
) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    """Parse the CIDR that may reach Jupyter and reject the whole internet by default.

    Parameters
    ----------
    value : str
        An IPv4 or IPv6 network such as ``203.0.113.7/32``.
    allow_anywhere : bool, default=False
        Accept ``0.0.0.0/0`` and ``::/0``.

    Returns
    -------
    ipaddress.IPv4Network or ipaddress.IPv6Network
        The parsed network.

    Raises
    ------
    ConfigError
        If the value is not a network with its host bits clear, or is the whole internet
        without ``allow_anywhere``.
    """
    try:
        network = ipaddress.ip_network(value, strict=True)
    except ValueError as error:
        raise ConfigError(
            "`--allowed-cidr` must be a network such as 203.0.113.7/32 (your public IP with "
            f"/32) with no host bits set; got {value!r}"
        ) from error
    if network.prefixlen == 0 and not allow_anywhere:
        raise ConfigError(
            f"`--allowed-cidr` must not open Jupyter to the whole internet; got {value!r}. "
            "Use your own IP with /32, or add --allow-anywhere if you really mean it"
        )
    return network


def check_s3_uri(value: str) -> tuple[str, str]:
    """Split an ``s3://bucket/prefix`` URI into bucket and prefix, or raise ConfigError."""
    match = S3_URI_RE.fullmatch(value)
    if not match:
        raise ConfigError(
            f"`--s3-output` must look like s3://my-bucket/seatcast/reports; got {value!r}"
        )
    prefix = (match.group("prefix") or "").strip("/")
    return match.group("bucket"), prefix


def parse_image_uri(value: str) -> tuple[str, str | None]:
    """Split an image URI into its registry host and, for ECR, the registry's region.

    Parameters
    ----------
    value : str
        Such as ``123456789012.dkr.ecr.eu-west-1.amazonaws.com/seatcast:0.1.0``.

    Returns
    -------
    registry : str
        The host (and port) before the first ``/``.
    region : str or None
        The region named in an ECR host, ``None`` for any other registry.

    Raises
    ------
    ConfigError
        If the URI has no registry host, no repository or no tag or digest.
    """
    registry, _, rest = value.partition("/")
    # Docker reads the first path segment as a host only if it has a dot or a port, or is
    # localhost. Any other first segment would make Docker pull silently from Docker Hub.
    looks_like_host = "." in registry or ":" in registry or registry == "localhost"
    if not rest or not looks_like_host or not REGISTRY_RE.fullmatch(registry):
        raise ConfigError(
            "`--image` must be a full image URI with a registry host, such as "
            f"123456789012.dkr.ecr.eu-west-1.amazonaws.com/seatcast:0.1.0; got {value!r}"
        )
    last_segment = rest.rsplit("/", 1)[-1]
    has_reference = "@sha256:" in rest or ":" in last_segment
    if not has_reference or any(character.isspace() for character in value):
        raise ConfigError(
            "`--image` must end in a tag or digest, such as ':0.1.0' (run `seatcast deploy "
            f"ecr-push` to get one); got {value!r}"
        )
    host_match = ECR_HOST_RE.fullmatch(registry)
    return registry, host_match.group("region") if host_match else None


def parse_tags(pairs: list[str] | None, key_name: str = "--resource-tag") -> dict[str, str]:
    """Parse ``KEY=VALUE`` strings from ``key_name`` into a dict, raising ConfigError if invalid."""
    tags: dict[str, str] = {}
    for pair in pairs or []:
        key, separator, tag_value = pair.partition("=")
        if not separator or not TAG_KEY_RE.fullmatch(key) or not TAG_VALUE_RE.fullmatch(tag_value):
            raise ConfigError(
                f"`{key_name}` must be KEY=VALUE with letters, digits, spaces and _.:/=+@- "
                f"(key up to 128, value up to 256 characters); got {pair!r}"
            )
        if key.lower().startswith("aws:"):
            raise ConfigError(
                f"`{key_name}` keys must not start with 'aws:', which AWS reserves; got {key!r}"
            )
        tags[key] = tag_value
    return tags
