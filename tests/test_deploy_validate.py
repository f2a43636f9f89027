"""Tests for seatcast.deploy._validate: option checks shared by the deploy commands."""

from __future__ import annotations

import ipaddress

import pytest

from seatcast.deploy._validate import (
    check_cidr,
    check_image_tag,
    check_s3_uri,
    parse_image_uri,
    parse_tags,
)
from seatcast.errors import ConfigError


@pytest.mark.parametrize(
    ("uri", "registry", "region"),
    [
        (
            "123456789012.dkr.ecr.eu-west-1.amazonaws.com/seatcast:0.1.0",
            "123456789012.dkr.ecr.eu-west-1.amazonaws.com",
            "eu-west-1",
        ),
        (
            "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn/team/seatcast:abc",
            "123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn",
            "cn-north-1",
        ),
        ("localhost:5000/seatcast:0.1.0", "localhost:5000", None),
        ("quay.io/team/seatcast@sha256:" + "a" * 64, "quay.io", None),
    ],
)
def test_image_uri_parsed(uri, registry, region):
    assert parse_image_uri(uri) == (registry, region)


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("seatcast:0.1.0", "must be a full image URI with a registry host"),
        ("team/seatcast:0.1.0", "must be a full image URI with a registry host"),
        ("quay.io/team/seatcast", "must end in a tag or digest"),
        ("localhost:5000/seat cast:1", "must end in a tag or digest"),
    ],
)
def test_image_uri_rejected(uri, message):
    with pytest.raises(ConfigError, match=message):
        parse_image_uri(uri)


def test_cidr_parsed():
    assert check_cidr("203.0.113.7/32") == ipaddress.ip_network("203.0.113.7/32")
    assert check_cidr("2001:db8::/48").version == 6
    assert check_cidr("0.0.0.0/0", allow_anywhere=True).prefixlen == 0


@pytest.mark.parametrize("value", ["0.0.0.0/0", "::/0"])
def test_cidr_whole_internet_rejected(value):
    with pytest.raises(
        ConfigError, match=f"must not open Jupyter to the whole internet; got '{value}'"
    ):
        check_cidr(value)


@pytest.mark.parametrize("value", ["10.0.0.1/8", "300.1.1.1/32", "", "10.0.0.0/33"])
def test_cidr_malformed_rejected(value):
    with pytest.raises(ConfigError, match="`--allowed-cidr` must be a network"):
        check_cidr(value)


@pytest.mark.parametrize("tag", ["0.1.0", "abc123", "v1_2-rc.1"])
def test_image_tag_accepted(tag):
    assert check_image_tag(tag) == tag


@pytest.mark.parametrize(("tag", "message"), [("latest", "immutable"), (".x", "not starting")])
def test_image_tag_rejected(tag, message):
    with pytest.raises(ConfigError, match=message):
        check_image_tag(tag)


def test_s3_uri_split():
    assert check_s3_uri("s3://seatcast-results/runs/india/") == ("seatcast-results", "runs/india")
    assert check_s3_uri("s3://seatcast-results") == ("seatcast-results", "")


def test_tags_parsed():
    assert parse_tags(["team=elections", "cost centre=42", "empty="]) == {
        "team": "elections",
        "cost centre": "42",
        "empty": "",
    }
    assert parse_tags(None) == {}


@pytest.mark.parametrize("pair", ["novalue", "=x", "k=" + "v" * 257, "bad;key=1"])
def test_tags_rejected(pair):
    with pytest.raises(ConfigError, match="`--resource-tag` must be KEY=VALUE"):
        parse_tags([pair])
