"""Tests for seatcast.deploy.instances: status, terminate and token help, against moto."""

from __future__ import annotations

import boto3
import pytest

from seatcast.deploy import (
    AwsSettings,
    LaunchOptions,
    UserDataSpec,
    ensure_instance_role,
    find_instances,
    launch,
    terminate,
    token_instructions,
)
from seatcast.errors import ConfigError, UsageError
from tests.deploy.moto_server import REGION, aws, moto_url, no_real_aws  # noqa: F401

IMAGE = f"123456789012.dkr.ecr.{REGION}.amazonaws.com/seatcast:0.1.0"
MY_CIDR = "203.0.113.7/32"
JUPYTER = UserDataSpec(image_uri=IMAGE)


@pytest.fixture
def settings(aws):  # noqa: F811
    return AwsSettings(region=REGION, endpoint_url=aws)


@pytest.fixture
def ec2(aws):  # noqa: F811
    return boto3.client("ec2", region_name=REGION, endpoint_url=aws)


@pytest.fixture
def profile(settings):
    return ensure_instance_role(settings).instance_profile_name


def _instance(ec2, instance_id):
    return ec2.describe_instances(InstanceIds=[instance_id])["Reservations"][0]["Instances"][0]


@pytest.mark.slow
def test_status_lists_managed_instances_only(settings, ec2, profile):
    ours = launch(settings, LaunchOptions(user_data=JUPYTER, allowed_cidr=MY_CIDR))
    image_id = _instance(ec2, ours.instance_id)["ImageId"]
    ec2.run_instances(ImageId=image_id, MinCount=1, MaxCount=1, InstanceType="t3.micro")
    found = find_instances(settings)
    assert [info.instance_id for info in found] == [ours.instance_id]
    info = found[0]
    assert info.name == "seatcast"
    assert info.state == "running"
    assert info.mode == "jupyter"
    assert info.jupyter_port == 8888
    assert info.security_group_ids == [ours.security_group_id]
    assert find_instances(settings, "other-name") == []


@pytest.mark.slow
def test_terminate_by_name_deletes_group(settings, ec2, profile):
    result = launch(settings, LaunchOptions(user_data=JUPYTER, allowed_cidr=MY_CIDR))
    ids = terminate(settings, "seatcast")
    assert ids == [result.instance_id]
    assert _instance(ec2, result.instance_id)["State"]["Name"] == "terminated"
    groups = ec2.describe_security_groups(
        Filters=[{"Name": "group-name", "Values": ["seatcast-sg"]}]
    )["SecurityGroups"]
    assert groups == []
    assert find_instances(settings) == []
    assert [info.instance_id for info in find_instances(settings, include_terminated=True)] == ids


@pytest.mark.slow
def test_terminate_unknown_targets_rejected(settings, ec2, profile):
    with pytest.raises(UsageError, match="no active seatcast instance is named 'seatcast'"):
        terminate(settings, "seatcast")
    image_id = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    foreign = ec2.run_instances(ImageId=image_id, MinCount=1, MaxCount=1)["Instances"][0]
    with pytest.raises(
        UsageError, match=f"no active seatcast instance has id {foreign['InstanceId']}"
    ):
        terminate(settings, instance_ids=[foreign["InstanceId"]])
    assert _instance(ec2, foreign["InstanceId"])["State"]["Name"] == "running"
    with pytest.raises(ConfigError, match="`--name` or `--instance-id` must be given, not both"):
        terminate(settings, "seatcast", instance_ids=[foreign["InstanceId"]])


@pytest.mark.slow
def test_token_instructions_never_contain_a_token(settings, profile):
    result = launch(settings, LaunchOptions(user_data=JUPYTER, allowed_cidr=MY_CIDR))
    info = find_instances(settings)[0]
    text = token_instructions(info, REGION)
    assert f"aws ssm start-session --target {result.instance_id} --region {REGION}" in text
    assert "sudo docker exec seatcast-jupyter jupyter server list" in text
    assert "token=TOKEN" in text
    host = info.public_dns or info.public_ip
    assert f"http://{host}:8888/lab?token=TOKEN" in text
