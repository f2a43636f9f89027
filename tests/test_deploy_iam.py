"""Tests for seatcast.deploy.iam against a moto server on 127.0.0.1."""

from __future__ import annotations

import json
from urllib.parse import unquote

import boto3
import pytest

from seatcast.deploy import AwsSettings, ensure_instance_role
from seatcast.deploy.iam import (
    ECR_READ_ONLY_POLICY_ARN,
    S3_OUTPUT_POLICY_NAME,
    SSM_CORE_POLICY_ARN,
    s3_output_policy,
    trust_policy,
)
from seatcast.errors import ConfigError
from tests.deploy.moto_server import REGION, aws, moto_url, no_real_aws  # noqa: F401

# Every test here talks to the moto server.
pytestmark = pytest.mark.slow


@pytest.fixture
def settings(aws):  # noqa: F811
    return AwsSettings(region=REGION, endpoint_url=aws)


@pytest.fixture
def iam(aws):  # noqa: F811
    return boto3.client("iam", region_name=REGION, endpoint_url=aws)


def _document(value):
    # IAM returns policy documents URL-encoded on the wire; boto3 decodes some but not all.
    return json.loads(unquote(value)) if isinstance(value, str) else value


def test_role_and_profile_created(settings, iam):
    result = ensure_instance_role(settings, tags={"project": "seatcast"})
    assert result.created == ["role", "instance-profile", "role-in-profile"]
    assert result.role_name == "seatcast-ec2"
    assert result.instance_profile_name == "seatcast-ec2"

    role = iam.get_role(RoleName="seatcast-ec2")["Role"]
    assert _document(role["AssumeRolePolicyDocument"]) == trust_policy()
    assert role["Arn"] == result.role_arn
    assert {"Key": "project", "Value": "seatcast"} in role["Tags"]

    attached = iam.list_attached_role_policies(RoleName="seatcast-ec2")["AttachedPolicies"]
    assert sorted(policy["PolicyArn"] for policy in attached) == sorted(
        [ECR_READ_ONLY_POLICY_ARN, SSM_CORE_POLICY_ARN]
    )
    profile = iam.get_instance_profile(InstanceProfileName="seatcast-ec2")["InstanceProfile"]
    assert [item["RoleName"] for item in profile["Roles"]] == ["seatcast-ec2"]
    assert profile["Arn"] == result.instance_profile_arn


def test_trust_policy_allows_only_ec2():
    statements = trust_policy()["Statement"]
    assert statements == [
        {
            "Effect": "Allow",
            "Principal": {"Service": "ec2.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ]


def test_second_run_changes_nothing(settings, iam):
    first = ensure_instance_role(settings)
    second = ensure_instance_role(settings)
    assert second.created == []
    assert second.role_arn == first.role_arn
    assert second.instance_profile_arn == first.instance_profile_arn
    assert second.attached_policies == first.attached_policies
    assert len(iam.list_instance_profiles()["InstanceProfiles"]) == 1
    attached = iam.list_attached_role_policies(RoleName="seatcast-ec2")["AttachedPolicies"]
    assert len(attached) == 2


def test_without_session_manager(settings, iam):
    result = ensure_instance_role(settings, "batch-role", session_manager=False)
    assert result.attached_policies == [ECR_READ_ONLY_POLICY_ARN]
    attached = iam.list_attached_role_policies(RoleName="batch-role")["AttachedPolicies"]
    assert [policy["PolicyArn"] for policy in attached] == [ECR_READ_ONLY_POLICY_ARN]


def test_partial_setup_is_completed(settings, iam):
    # A role left by an interrupted run, without policies or profile.
    iam.create_role(RoleName="seatcast-ec2", AssumeRolePolicyDocument=json.dumps(trust_policy()))
    result = ensure_instance_role(settings)
    assert result.created == ["instance-profile", "role-in-profile"]
    assert ECR_READ_ONLY_POLICY_ARN in result.attached_policies


def test_s3_output_policy_added(settings, iam):
    ensure_instance_role(settings, s3_output="s3://seatcast-results/runs/")
    document = _document(
        iam.get_role_policy(RoleName="seatcast-ec2", PolicyName=S3_OUTPUT_POLICY_NAME)[
            "PolicyDocument"
        ]
    )
    assert document == s3_output_policy("s3://seatcast-results/runs")
    write = document["Statement"][0]
    assert write["Action"] == ["s3:PutObject"]
    assert write["Resource"] == "arn:aws:s3:::seatcast-results/runs/*"
    listing = document["Statement"][1]
    assert listing["Condition"] == {"StringLike": {"s3:prefix": ["runs/*"]}}


def test_s3_output_bucket_root():
    document = s3_output_policy("s3://seatcast-results")
    assert document["Statement"][0]["Resource"] == "arn:aws:s3:::seatcast-results/*"


def test_role_with_other_trust_rejected(settings, iam):
    other = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "lambda.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    iam.create_role(RoleName="seatcast-ec2", AssumeRolePolicyDocument=json.dumps(other))
    with pytest.raises(ConfigError, match=r"trust policy does not allow ec2\.amazonaws\.com"):
        ensure_instance_role(settings)
    assert iam.list_attached_role_policies(RoleName="seatcast-ec2")["AttachedPolicies"] == []


def test_profile_with_other_role_rejected(settings, iam):
    iam.create_role(RoleName="someone-else", AssumeRolePolicyDocument=json.dumps(trust_policy()))
    iam.create_instance_profile(InstanceProfileName="seatcast-ec2")
    iam.add_role_to_instance_profile(InstanceProfileName="seatcast-ec2", RoleName="someone-else")
    with pytest.raises(ConfigError, match="which holds 'someone-else'; got 'seatcast-ec2'"):
        ensure_instance_role(settings)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"role_name": "bad name"}, "`--role-name` must be 1-63 letters"),
        ({"s3_output": "seatcast-results/runs"}, "`--s3-output` must look like s3://"),
        ({"s3_output": "s3://UPPER/x"}, "`--s3-output` must look like s3://"),
    ],
)
def test_invalid_options_rejected(settings, iam, kwargs, message):
    with pytest.raises(ConfigError, match=message):
        ensure_instance_role(settings, **kwargs)
    assert iam.list_roles()["Roles"] == []
