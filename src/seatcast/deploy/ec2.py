"""Launch the EC2 instance that runs the seatcast image.

Each launch gets its own security group, named ``NAME-sg``, whose only inbound rules are the
Jupyter port (and SSH when a key pair is given) from one CIDR that the user chooses. Instances
require IMDSv2 and carry the tag ``seatcast:managed=true``, which the functions in
:mod:`seatcast.deploy.instances` look for.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from seatcast.deploy._aws import AwsSettings, aws_call, error_code, make_client
from seatcast.deploy._validate import check_cidr, check_instance_type, check_name
from seatcast.deploy.instances import (
    MANAGED_TAG,
    MODE_TAG,
    PORT_TAG,
    describe_instances,
    instance_filters,
    security_group_name,
)
from seatcast.deploy.userdata import UserDataSpec, render_user_data
from seatcast.errors import ConfigError, UsageError

__all__ = [
    "AMI_PARAMETERS",
    "LaunchOptions",
    "LaunchPlan",
    "LaunchResult",
    "PlannedCall",
    "launch",
    "plan_launch",
]

logger = logging.getLogger(__name__)

# Public SSM parameters that always name the latest Amazon Linux 2023 AMI of the region.
AMI_PARAMETERS = {
    "x86_64": "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64",
    "arm64": "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64",
}
SSH_PORT = 22
# Instance families with a "g" after the generation number are AWS Graviton (arm64), such as
# t4g or m7gd. Families that start with g (GPU instances such as g5) do not match.
_ARM_FAMILY_SUFFIX = "g"
# run_instances can reject a just-created instance profile for a few seconds while IAM
# propagates; these are the waits, in seconds, between attempts.
PROFILE_RETRY_DELAYS = (2.0, 4.0, 8.0, 16.0)


@dataclass(frozen=True)
class LaunchOptions:
    """Everything ``seatcast deploy launch`` needs besides the AWS settings.

    Parameters
    ----------
    user_data : UserDataSpec
        Image and mode for the instance.
    name : str, default="seatcast"
        ``Name`` tag of the instance; also names its security group ``NAME-sg``.
    allowed_cidr : str or None, default=None
        The only network that may reach the Jupyter port (and SSH). Required in Jupyter mode
        and with ``key_name``.
    allow_anywhere : bool, default=False
        Accept ``0.0.0.0/0`` or ``::/0`` as ``allowed_cidr``.
    instance_type : str, default="t3.medium"
        EC2 instance type.
    instance_profile : str, default="seatcast-ec2"
        Instance profile from ``seatcast deploy iam``.
    ami : str or None, default=None
        AMI id; ``None`` looks up the latest Amazon Linux 2023 AMI through SSM.
    subnet_id : str or None, default=None
        Subnet to launch in; ``None`` uses the default VPC.
    key_name : str or None, default=None
        EC2 key pair for SSH; also opens port 22 to ``allowed_cidr``.
    volume_size_gib : int, default=30
        Root volume size. The Jupyter scipy image alone needs several GiB.
    tags : mapping of str to str
        Extra tags for the instance, its volume and its security group.
    """

    user_data: UserDataSpec
    name: str = "seatcast"
    allowed_cidr: str | None = None
    allow_anywhere: bool = False
    instance_type: str = "t3.medium"
    instance_profile: str = "seatcast-ec2"
    ami: str | None = None
    subnet_id: str | None = None
    key_name: str | None = None
    volume_size_gib: int = 30
    tags: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class PlannedCall:
    """One AWS API call that a launch makes, as ``--dry-run`` prints it."""

    service: str
    operation: str
    params: Mapping[str, Any]

    def describe(self) -> str:
        """Return ``service.operation`` followed by the parameters as JSON."""
        return f"{self.service}.{self.operation} {json.dumps(self.params, sort_keys=True)}"


@dataclass(frozen=True)
class LaunchPlan:
    """A validated launch: the rendered user data, inbound rules and the calls to make.

    Attributes
    ----------
    options : LaunchOptions
        The options the plan was built from.
    user_data : str
        The rendered user-data script.
    ingress : list of (int, str)
        Inbound ``(port, cidr)`` rules of the security group.
    architecture : str
        ``x86_64`` or ``arm64``, from the instance type.
    calls : list of PlannedCall
        The API calls in order. Values only known at run time, such as the AMI id, appear as
        ``<...>`` placeholders.
    """

    options: LaunchOptions
    user_data: str
    ingress: list[tuple[int, str]]
    architecture: str
    calls: list[PlannedCall]


@dataclass(frozen=True)
class LaunchResult:
    """Resources that :func:`launch` created: the instance, its security group and AMI."""

    instance_id: str
    security_group_id: str
    image_id: str
    plan: LaunchPlan


def _architecture(instance_type: str) -> str:
    family = instance_type.split(".", 1)[0]
    generation_end = len(family.rstrip("abcdefghijklmnopqrstuvwxyz-"))
    suffix = family[generation_end:]
    has_generation = generation_end > 0 and family[generation_end - 1].isdigit()
    return "arm64" if has_generation and suffix.startswith(_ARM_FAMILY_SUFFIX) else "x86_64"


def _ingress_rules(options: LaunchOptions) -> list[tuple[int, str]]:
    mode = options.user_data.mode
    needs_cidr = mode == "jupyter" or options.key_name is not None
    if options.allowed_cidr is None:
        if needs_cidr:
            raise ConfigError(
                "`--allowed-cidr` must be given in Jupyter mode or with --key-name, such as "
                "your public IP followed by /32; got none"
            )
        return []
    if not needs_cidr:
        raise ConfigError(
            "`--allowed-cidr` must only be used with --mode jupyter or --key-name, because a "
            f"batch instance accepts no inbound traffic; got {options.allowed_cidr!r}"
        )
    cidr = str(check_cidr(options.allowed_cidr, allow_anywhere=options.allow_anywhere))
    rules = []
    if mode == "jupyter":
        rules.append((options.user_data.jupyter_port, cidr))
    if options.key_name is not None:
        rules.append((SSH_PORT, cidr))
    return rules


def _tags(options: LaunchOptions) -> list[dict[str, str]]:
    merged = {
        **dict(options.tags),
        "Name": options.name,
        MANAGED_TAG: "true",
        MODE_TAG: options.user_data.mode,
    }
    if options.user_data.mode == "jupyter":
        merged[PORT_TAG] = str(options.user_data.jupyter_port)
    return [{"Key": key, "Value": value} for key, value in merged.items()]


def _permission(port: int, cidr: str) -> dict[str, Any]:
    description = "seatcast SSH" if port == SSH_PORT else "seatcast JupyterLab"
    permission: dict[str, Any] = {"IpProtocol": "tcp", "FromPort": port, "ToPort": port}
    if ipaddress.ip_network(cidr).version == 6:
        permission["Ipv6Ranges"] = [{"CidrIpv6": cidr, "Description": description}]
    else:
        permission["IpRanges"] = [{"CidrIp": cidr, "Description": description}]
    return permission


def _run_instances_request(
    plan_options: LaunchOptions,
    user_data: str,
    *,
    image_id: str,
    root_device: str,
    security_group_id: str,
    subnet_id: str | None,
) -> dict[str, Any]:
    tags = _tags(plan_options)
    request: dict[str, Any] = {
        "ImageId": image_id,
        "InstanceType": plan_options.instance_type,
        "MinCount": 1,
        "MaxCount": 1,
        "UserData": user_data,
        "IamInstanceProfile": {"Name": plan_options.instance_profile},
        "SecurityGroupIds": [security_group_id],
        # IMDSv2 only. Hop limit 2 lets a process inside a container reach the metadata
        # service through Docker's bridge, as the AL2023 AMI default does.
        "MetadataOptions": {
            "HttpTokens": "required",
            "HttpEndpoint": "enabled",
            "HttpPutResponseHopLimit": 2,
        },
        "BlockDeviceMappings": [
            {
                "DeviceName": root_device,
                "Ebs": {
                    "VolumeSize": plan_options.volume_size_gib,
                    "VolumeType": "gp3",
                    "Encrypted": True,
                    "DeleteOnTermination": True,
                },
            }
        ],
        "InstanceInitiatedShutdownBehavior": (
            "terminate" if plan_options.user_data.shutdown_when_done else "stop"
        ),
        "TagSpecifications": [
            {"ResourceType": "instance", "Tags": tags},
            {"ResourceType": "volume", "Tags": tags},
        ],
    }
    if subnet_id is not None:
        request["SubnetId"] = subnet_id
    if plan_options.key_name is not None:
        request["KeyName"] = plan_options.key_name
    return request


def plan_launch(options: LaunchOptions) -> LaunchPlan:
    """Validate ``options``, render the user data and list the AWS calls, without calling AWS.

    Parameters
    ----------
    options : LaunchOptions
        What to launch.

    Returns
    -------
    LaunchPlan
        The plan that :func:`launch` carries out and ``--dry-run`` prints.

    Raises
    ------
    ConfigError
        If any option is invalid, including a missing or world-open ``allowed_cidr``.
    """
    check_name(options.name)
    check_name(options.instance_profile, "--instance-profile")
    check_instance_type(options.instance_type)
    if not 8 <= options.volume_size_gib <= 16384:
        raise ConfigError(
            f"`--volume-size` must be between 8 and 16384 GiB; got {options.volume_size_gib}"
        )
    if options.key_name is not None and not options.key_name.strip():
        raise ConfigError("`--key-name` must name an EC2 key pair; got an empty string")
    ingress = _ingress_rules(options)
    user_data = render_user_data(options.user_data)
    architecture = _architecture(options.instance_type)
    group_name = security_group_name(options.name)

    calls: list[PlannedCall] = []
    image_id = options.ami
    if image_id is None:
        calls.append(PlannedCall("ssm", "get_parameter", {"Name": AMI_PARAMETERS[architecture]}))
        image_id = "<AMI id from SSM>"
    calls.append(PlannedCall("ec2", "describe_images", {"ImageIds": [image_id]}))
    profile_request = {"InstanceProfileName": options.instance_profile}
    calls.append(PlannedCall("iam", "get_instance_profile", profile_request))
    calls.append(
        PlannedCall(
            "ec2",
            "describe_instances",
            {"Filters": instance_filters(options.name, include_terminated=False)},
        )
    )
    if options.subnet_id is None:
        calls.append(
            PlannedCall(
                "ec2", "describe_vpcs", {"Filters": [{"Name": "is-default", "Values": ["true"]}]}
            )
        )
    else:
        calls.append(PlannedCall("ec2", "describe_subnets", {"SubnetIds": [options.subnet_id]}))
    calls.append(
        PlannedCall(
            "ec2",
            "create_security_group",
            {
                "GroupName": group_name,
                "Description": f"seatcast instance {options.name}",
                "VpcId": "<VPC id>",
            },
        )
    )
    if ingress:
        calls.append(
            PlannedCall(
                "ec2",
                "authorize_security_group_ingress",
                {
                    "GroupId": "<security group id>",
                    "IpPermissions": [_permission(port, cidr) for port, cidr in ingress],
                },
            )
        )
    request = _run_instances_request(
        options,
        f"<user data, {len(user_data.encode('utf-8'))} bytes, printed below>",
        image_id=image_id,
        root_device="<root device of the AMI>",
        security_group_id="<security group id>",
        subnet_id=options.subnet_id,
    )
    calls.append(PlannedCall("ec2", "run_instances", request))
    return LaunchPlan(
        options=options,
        user_data=user_data,
        ingress=ingress,
        architecture=architecture,
        calls=calls,
    )


def _resolve_image(ec2: Any, ssm: Any, plan: LaunchPlan) -> tuple[str, str]:
    image_id = plan.options.ami
    if image_id is None:
        parameter = AMI_PARAMETERS[plan.architecture]
        with aws_call("ssm:GetParameter"):
            image_id = ssm.get_parameter(Name=parameter)["Parameter"]["Value"]
        logger.info("Latest Amazon Linux 2023 AMI (%s): %s", plan.architecture, image_id)
    with aws_call("ec2:DescribeImages"):
        images = ec2.describe_images(ImageIds=[image_id])["Images"]
    if not images:
        raise ConfigError(f"`--ami` must name an AMI available in this region; got {image_id!r}")
    return image_id, images[0].get("RootDeviceName", "/dev/xvda")


def _check_instance_profile(iam: Any, name: str) -> None:
    from botocore.exceptions import ClientError

    with aws_call("iam:GetInstanceProfile"):
        try:
            profile = iam.get_instance_profile(InstanceProfileName=name)["InstanceProfile"]
        except ClientError as error:
            if error_code(error) != "NoSuchEntity":
                raise
            raise ConfigError(
                f"`--instance-profile` must exist; {name!r} was not found. Create it with "
                f"`seatcast deploy iam --role-name {name}`"
            ) from error
    if not profile.get("Roles"):
        raise ConfigError(
            f"`--instance-profile` must contain a role; {name!r} is empty. Run "
            f"`seatcast deploy iam --role-name {name}` to add it"
        )


def _find_vpc(ec2: Any, subnet_id: str | None) -> str:
    if subnet_id is not None:
        with aws_call("ec2:DescribeSubnets"):
            subnets = ec2.describe_subnets(SubnetIds=[subnet_id])["Subnets"]
        if not subnets:
            raise ConfigError(f"`--subnet-id` must name a subnet in this region; got {subnet_id!r}")
        return subnets[0]["VpcId"]
    with aws_call("ec2:DescribeVpcs"):
        vpcs = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"]
    if not vpcs:
        raise ConfigError(
            "`--subnet-id` must be given because this region has no default VPC; got none"
        )
    return vpcs[0]["VpcId"]


def _existing_rules(group: Mapping[str, Any]) -> set[tuple[int, str]]:
    rules = set()
    for permission in group.get("IpPermissions", []):
        port = permission.get("FromPort")
        for item in permission.get("IpRanges", []):
            rules.add((port, item["CidrIp"]))
        for item in permission.get("Ipv6Ranges", []):
            rules.add((port, item["CidrIpv6"]))
        for _ in permission.get("UserIdGroupPairs", []) + permission.get("PrefixListIds", []):
            # Rules that name other groups or prefix lists are not ours to keep.
            rules.add((port, "<group or prefix list>"))
    return rules


def _ensure_security_group(ec2: Any, plan: LaunchPlan, vpc_id: str) -> str:
    group_name = security_group_name(plan.options.name)
    with aws_call("ec2:DescribeSecurityGroups"):
        groups = ec2.describe_security_groups(
            Filters=[
                {"Name": "group-name", "Values": [group_name]},
                {"Name": "vpc-id", "Values": [vpc_id]},
            ]
        )["SecurityGroups"]

    if groups:
        group = groups[0]
        group_id = group["GroupId"]
        tags = {tag["Key"]: tag["Value"] for tag in group.get("Tags", [])}
        if tags.get(MANAGED_TAG) != "true":
            raise ConfigError(
                f"`--name` must not clash with security group {group_name!r} ({group_id}), "
                "which seatcast did not create; pick another name"
            )
        # Reusing a group left by an earlier launch: drop every rule but the requested ones,
        # so that an old IP address does not stay open.
        unwanted = _existing_rules(group) - set(plan.ingress)
        if unwanted:
            logger.warning(
                "Security group %s had other inbound rules; revoking them: %s",
                group_id,
                sorted(unwanted, key=str),
            )
            with aws_call("ec2:RevokeSecurityGroupIngress"):
                ec2.revoke_security_group_ingress(
                    GroupId=group_id, IpPermissions=group["IpPermissions"]
                )
            missing = set(plan.ingress)
        else:
            missing = set(plan.ingress) - _existing_rules(group)
        logger.info("Reusing security group %s (%s)", group_name, group_id)
    else:
        with aws_call("ec2:CreateSecurityGroup"):
            group_id = ec2.create_security_group(
                GroupName=group_name,
                Description=f"seatcast instance {plan.options.name}",
                VpcId=vpc_id,
                TagSpecifications=[{"ResourceType": "security-group", "Tags": _tags(plan.options)}],
            )["GroupId"]
        logger.info("Created security group %s (%s)", group_name, group_id)
        missing = set(plan.ingress)

    if missing:
        ordered = [rule for rule in plan.ingress if rule in missing]
        with aws_call("ec2:AuthorizeSecurityGroupIngress"):
            ec2.authorize_security_group_ingress(
                GroupId=group_id,
                IpPermissions=[_permission(port, cidr) for port, cidr in ordered],
            )
        for port, cidr in ordered:
            logger.info("Allowed TCP port %d from %s only", port, cidr)
    return group_id


def _is_profile_propagation(error: Exception) -> bool:
    message = str(getattr(error, "response", {}).get("Error", {}).get("Message", ""))
    return error_code(error) == "InvalidParameterValue" and (
        "iamInstanceProfile" in message or "instance profile" in message.lower()
    )


def _run_instance(ec2: Any, request: Mapping[str, Any], sleep: Callable[[float], None]) -> str:
    from botocore.exceptions import ClientError

    delays = list(PROFILE_RETRY_DELAYS)
    while True:
        with aws_call("ec2:RunInstances"):
            try:
                return str(ec2.run_instances(**request)["Instances"][0]["InstanceId"])
            except ClientError as error:
                if not _is_profile_propagation(error) or not delays:
                    raise
        delay = delays.pop(0)
        logger.info("The instance profile is not visible to EC2 yet; retrying in %.0f s", delay)
        sleep(delay)


def launch(
    settings: AwsSettings,
    options: LaunchOptions,
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> LaunchResult:
    """Create the security group and start one instance that runs the seatcast image.

    Parameters
    ----------
    settings : AwsSettings
        Region, profile and endpoint for the calls.
    options : LaunchOptions
        What to launch.
    sleep : callable, default=time.sleep
        Called between retries while a new instance profile propagates.

    Returns
    -------
    LaunchResult
        The instance, security group and AMI ids.

    Raises
    ------
    ConfigError
        For invalid options, a missing instance profile or AMI, or a name clash.
    UsageError
        If an instance with the same name is already active, or for missing credentials or
        permissions.
    PipelineError
        For other AWS errors.
    """
    plan = plan_launch(options)
    ec2 = make_client(settings, "ec2")
    ssm = make_client(settings, "ssm")
    iam = make_client(settings, "iam")

    image_id, root_device = _resolve_image(ec2, ssm, plan)
    _check_instance_profile(iam, options.instance_profile)
    active = describe_instances(ec2, options.name, include_terminated=False)
    if active:
        ids = ", ".join(instance.instance_id for instance in active)
        raise UsageError(
            f"an instance named {options.name!r} is already active ({ids}); run `seatcast "
            f"deploy terminate --name {options.name}` first or pick another --name"
        )
    vpc_id = _find_vpc(ec2, options.subnet_id)
    group_id = _ensure_security_group(ec2, plan, vpc_id)

    request = _run_instances_request(
        options,
        plan.user_data,
        image_id=image_id,
        root_device=root_device,
        security_group_id=group_id,
        subnet_id=options.subnet_id,
    )
    instance_id = _run_instance(ec2, request, sleep)
    logger.info(
        "Launched %s (%s, %s mode) with image %s",
        instance_id,
        options.instance_type,
        options.user_data.mode,
        options.user_data.image_uri,
    )
    return LaunchResult(
        instance_id=instance_id, security_group_id=group_id, image_id=image_id, plan=plan
    )
