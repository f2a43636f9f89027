"""Tests for seatcast.deploy.ec2: planning and launching, against a moto server on 127.0.0.1."""

from __future__ import annotations

import base64

import boto3
import pytest
from botocore.exceptions import ClientError

from seatcast.deploy import (
    AwsSettings,
    LaunchOptions,
    UserDataSpec,
    ensure_instance_role,
    launch,
    plan_launch,
    render_user_data,
    terminate,
)
from seatcast.deploy import ec2 as ec2_module
from seatcast.errors import ConfigError, PipelineError, UsageError
from tests.deploy.moto_server import REGION, aws, moto_url, no_real_aws  # noqa: F401

IMAGE = f"123456789012.dkr.ecr.{REGION}.amazonaws.com/seatcast:0.1.0"
MY_CIDR = "203.0.113.7/32"
JUPYTER = UserDataSpec(image_uri=IMAGE)
BATCH = UserDataSpec(
    image_uri=IMAGE, mode="batch", s3_output="s3://results/run1", shutdown_when_done=True
)


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


def _group(ec2, group_id):
    return ec2.describe_security_groups(GroupIds=[group_id])["SecurityGroups"][0]


@pytest.mark.slow
def test_user_data_read_back_byte_identical(settings, ec2, profile):
    result = launch(settings, LaunchOptions(user_data=JUPYTER, allowed_cidr=MY_CIDR))
    attribute = ec2.describe_instance_attribute(InstanceId=result.instance_id, Attribute="userData")
    sent = base64.b64decode(attribute["UserData"]["Value"])
    assert sent == render_user_data(JUPYTER).encode("utf-8")
    assert sent == result.plan.user_data.encode("utf-8")


@pytest.mark.slow
def test_instance_requires_imdsv2(settings, ec2, profile):
    result = launch(settings, LaunchOptions(user_data=JUPYTER, allowed_cidr=MY_CIDR))
    options = _instance(ec2, result.instance_id)["MetadataOptions"]
    assert options["HttpTokens"] == "required"
    assert options["HttpEndpoint"] == "enabled"
    assert options["HttpPutResponseHopLimit"] == 2


@pytest.mark.slow
def test_security_group_allows_only_given_cidr(settings, ec2, profile):
    result = launch(settings, LaunchOptions(user_data=JUPYTER, allowed_cidr=MY_CIDR))
    group = _group(ec2, result.security_group_id)
    assert group["GroupName"] == "seatcast-sg"
    permissions = group["IpPermissions"]
    assert len(permissions) == 1
    assert permissions[0]["IpProtocol"] == "tcp"
    assert permissions[0]["FromPort"] == 8888
    assert permissions[0]["ToPort"] == 8888
    assert [item["CidrIp"] for item in permissions[0]["IpRanges"]] == [MY_CIDR]
    assert permissions[0].get("Ipv6Ranges", []) == []
    instance = _instance(ec2, result.instance_id)
    assert [item["GroupId"] for item in instance["SecurityGroups"]] == [result.security_group_id]


@pytest.mark.slow
def test_ssh_rule_added_with_key_pair(settings, ec2, profile):
    ec2.create_key_pair(KeyName="laptop")
    options = LaunchOptions(user_data=JUPYTER, allowed_cidr="198.51.100.0/24", key_name="laptop")
    result = launch(settings, options)
    permissions = _group(ec2, result.security_group_id)["IpPermissions"]
    rules = sorted(
        (item["FromPort"], cidr["CidrIp"]) for item in permissions for cidr in item["IpRanges"]
    )
    assert rules == [(22, "198.51.100.0/24"), (8888, "198.51.100.0/24")]
    assert _instance(ec2, result.instance_id)["KeyName"] == "laptop"


@pytest.mark.slow
def test_ipv6_cidr_rule(settings, ec2, profile):
    options = LaunchOptions(user_data=JUPYTER, allowed_cidr="2001:db8::/64")
    result = launch(settings, options)
    permissions = _group(ec2, result.security_group_id)["IpPermissions"]
    assert [item["CidrIpv6"] for item in permissions[0]["Ipv6Ranges"]] == ["2001:db8::/64"]
    assert permissions[0].get("IpRanges", []) == []


@pytest.mark.slow
def test_batch_instance_has_no_inbound_rules(settings, ec2, profile):
    result = launch(settings, LaunchOptions(user_data=BATCH, name="nightly"))
    assert _group(ec2, result.security_group_id)["IpPermissions"] == []
    attribute = ec2.describe_instance_attribute(
        InstanceId=result.instance_id, Attribute="instanceInitiatedShutdownBehavior"
    )
    assert attribute["InstanceInitiatedShutdownBehavior"]["Value"] == "terminate"


@pytest.mark.slow
def test_instance_profile_type_tags_and_volume(settings, ec2, profile):
    options = LaunchOptions(
        user_data=JUPYTER,
        allowed_cidr=MY_CIDR,
        name="analysis",
        instance_type="t3.small",
        tags={"team": "elections"},
    )
    result = launch(settings, options)
    instance = _instance(ec2, result.instance_id)
    assert instance["InstanceType"] == "t3.small"
    assert instance["IamInstanceProfile"]["Arn"].endswith(f"instance-profile/{profile}")
    tags = {tag["Key"]: tag["Value"] for tag in instance["Tags"]}
    assert tags == {
        "Name": "analysis",
        "seatcast:managed": "true",
        "seatcast:mode": "jupyter",
        "seatcast:jupyter-port": "8888",
        "team": "elections",
    }
    assert instance["ImageId"] == result.image_id
    volume_id = instance["BlockDeviceMappings"][0]["Ebs"]["VolumeId"]
    volume = ec2.describe_volumes(VolumeIds=[volume_id])["Volumes"][0]
    assert volume["Size"] == 30
    assert volume["Encrypted"] is True


@pytest.mark.slow
def test_latest_al2023_ami_used(settings, aws, profile):  # noqa: F811
    ssm = boto3.client("ssm", region_name=REGION, endpoint_url=aws)
    expected = ssm.get_parameter(Name=ec2_module.AMI_PARAMETERS["x86_64"])["Parameter"]["Value"]
    result = launch(settings, LaunchOptions(user_data=JUPYTER, allowed_cidr=MY_CIDR))
    assert result.image_id == expected


@pytest.mark.slow
def test_missing_instance_profile_rejected(settings, ec2):
    with pytest.raises(ConfigError, match="`--instance-profile` must exist; 'seatcast-ec2'"):
        launch(settings, LaunchOptions(user_data=JUPYTER, allowed_cidr=MY_CIDR))
    assert ec2.describe_instances()["Reservations"] == []


@pytest.mark.slow
def test_unknown_ami_rejected(settings, ec2, profile):
    options = LaunchOptions(user_data=JUPYTER, allowed_cidr=MY_CIDR, ami="ami-00000000000000000")
    with pytest.raises((ConfigError, PipelineError), match="ami-00000000000000000"):
        launch(settings, options)
    assert ec2.describe_instances()["Reservations"] == []


@pytest.mark.slow
def test_second_launch_with_same_name_rejected(settings, ec2, profile):
    options = LaunchOptions(user_data=JUPYTER, allowed_cidr=MY_CIDR)
    first = launch(settings, options)
    with pytest.raises(UsageError, match=f"already active \\({first.instance_id}\\)"):
        launch(settings, options)
    assert len(ec2.describe_instances()["Reservations"]) == 1


@pytest.mark.slow
def test_relaunch_replaces_old_cidr(settings, ec2, profile):
    first = launch(settings, LaunchOptions(user_data=JUPYTER, allowed_cidr=MY_CIDR))
    terminate(settings, instance_ids=[first.instance_id], wait=False)
    # The group survives a terminate without waiting; the next launch must not keep the old IP.
    second = launch(settings, LaunchOptions(user_data=JUPYTER, allowed_cidr="192.0.2.10/32"))
    assert second.security_group_id == first.security_group_id
    permissions = _group(ec2, second.security_group_id)["IpPermissions"]
    cidrs = [cidr["CidrIp"] for item in permissions for cidr in item["IpRanges"]]
    assert cidrs == ["192.0.2.10/32"]


@pytest.mark.slow
def test_foreign_group_with_same_name_rejected(settings, ec2, profile):
    vpc_id = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0][
        "VpcId"
    ]
    ec2.create_security_group(GroupName="seatcast-sg", Description="someone's", VpcId=vpc_id)
    with pytest.raises(ConfigError, match="which seatcast did not create"):
        launch(settings, LaunchOptions(user_data=JUPYTER, allowed_cidr=MY_CIDR))


@pytest.mark.slow
def test_subnet_option_used(settings, ec2, profile):
    vpc = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]
    subnet = ec2.create_subnet(VpcId=vpc["VpcId"], CidrBlock="10.20.1.0/24")["Subnet"]
    options = LaunchOptions(user_data=JUPYTER, allowed_cidr=MY_CIDR, subnet_id=subnet["SubnetId"])
    result = launch(settings, options)
    instance = _instance(ec2, result.instance_id)
    assert instance["SubnetId"] == subnet["SubnetId"]
    assert _group(ec2, result.security_group_id)["VpcId"] == vpc["VpcId"]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (LaunchOptions(user_data=JUPYTER), "`--allowed-cidr` must be given in Jupyter mode"),
        (
            LaunchOptions(user_data=JUPYTER, allowed_cidr="0.0.0.0/0"),
            "must not open Jupyter to the whole internet; got '0.0.0.0/0'",
        ),
        (
            LaunchOptions(user_data=JUPYTER, allowed_cidr="::/0"),
            "must not open Jupyter to the whole internet; got '::/0'",
        ),
        (
            LaunchOptions(user_data=JUPYTER, allowed_cidr="203.0.113.7/24"),
            "with no host bits set; got '203.0.113.7/24'",
        ),
        (
            LaunchOptions(user_data=JUPYTER, allowed_cidr="my-laptop"),
            "`--allowed-cidr` must be a network",
        ),
        (
            LaunchOptions(user_data=BATCH, allowed_cidr=MY_CIDR),
            "a batch instance accepts no inbound traffic",
        ),
        (
            LaunchOptions(user_data=JUPYTER, allowed_cidr=MY_CIDR, name="has space"),
            "`--name` must be 1-63 letters",
        ),
        (
            LaunchOptions(user_data=JUPYTER, allowed_cidr=MY_CIDR, instance_type="large"),
            "`--instance-type` must look like 't3.medium'",
        ),
        (
            LaunchOptions(user_data=JUPYTER, allowed_cidr=MY_CIDR, volume_size_gib=4),
            "`--volume-size` must be between 8 and 16384 GiB; got 4",
        ),
    ],
)
def test_invalid_launch_options_rejected(options, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        plan_launch(options)


@pytest.mark.slow
def test_world_open_needs_explicit_flag(settings, ec2, profile):
    options = LaunchOptions(user_data=JUPYTER, allowed_cidr="0.0.0.0/0", allow_anywhere=True)
    result = launch(settings, options)
    permissions = _group(ec2, result.security_group_id)["IpPermissions"]
    assert [cidr["CidrIp"] for cidr in permissions[0]["IpRanges"]] == ["0.0.0.0/0"]


def test_plan_lists_calls_without_aws(monkeypatch):
    # No credentials, no endpoint, no region: planning must not need any of them.
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    plan = plan_launch(LaunchOptions(user_data=JUPYTER, allowed_cidr=MY_CIDR))
    operations = [f"{call.service}.{call.operation}" for call in plan.calls]
    assert operations == [
        "ssm.get_parameter",
        "ec2.describe_images",
        "iam.get_instance_profile",
        "ec2.describe_instances",
        "ec2.describe_vpcs",
        "ec2.create_security_group",
        "ec2.authorize_security_group_ingress",
        "ec2.run_instances",
    ]
    run = plan.calls[-1].params
    assert run["MetadataOptions"]["HttpTokens"] == "required"
    assert run["UserData"].startswith("<user data, ")
    assert plan.ingress == [(8888, MY_CIDR)]


@pytest.mark.parametrize(
    ("instance_type", "architecture"),
    [
        ("t3.medium", "x86_64"),
        ("t4g.small", "arm64"),
        ("m7gd.large", "arm64"),
        ("c6gn.xlarge", "arm64"),
        ("g5.xlarge", "x86_64"),
        ("m5dn.large", "x86_64"),
        ("t2.micro", "x86_64"),
    ],
)
def test_architecture_from_instance_type(instance_type, architecture):
    assert ec2_module._architecture(instance_type) == architecture


class _PropagatingEc2:
    """An EC2 client stand-in whose run_instances fails while the profile propagates."""

    def __init__(self, failures: int, message: str = "Invalid IAM Instance Profile name"):
        self.failures = failures
        self.message = message
        self.calls = 0

    def run_instances(self, **_request):
        self.calls += 1
        if self.calls <= self.failures:
            error = {"Error": {"Code": "InvalidParameterValue", "Message": self.message}}
            raise ClientError(error, "RunInstances")
        return {"Instances": [{"InstanceId": "i-0123456789abcdef0"}]}


def test_run_retries_while_profile_propagates():
    client = _PropagatingEc2(failures=2)
    waits = []
    instance_id = ec2_module._run_instance(client, {}, waits.append)
    assert instance_id == "i-0123456789abcdef0"
    assert client.calls == 3
    assert waits == [2.0, 4.0]


def test_run_gives_up_after_retries():
    client = _PropagatingEc2(failures=10)
    waits = []
    with pytest.raises(PipelineError, match="ec2:RunInstances failed \\(InvalidParameterValue\\)"):
        ec2_module._run_instance(client, {}, waits.append)
    assert waits == list(ec2_module.PROFILE_RETRY_DELAYS)


def test_run_does_not_retry_other_errors():
    client = _PropagatingEc2(failures=1, message="Invalid instance type")
    waits = []
    with pytest.raises(PipelineError, match="Invalid instance type"):
        ec2_module._run_instance(client, {}, waits.append)
    assert client.calls == 1
    assert waits == []
