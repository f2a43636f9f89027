"""Find, terminate and connect to the EC2 instances that ``seatcast deploy launch`` started.

seatcast recognises its instances by the tag ``seatcast:managed=true`` and their security group
by the name ``NAME-sg``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from seatcast.deploy._aws import AwsSettings, aws_call, error_code, make_client
from seatcast.deploy._validate import check_name
from seatcast.errors import ConfigError, UsageError

__all__ = [
    "ACTIVE_STATES",
    "MANAGED_TAG",
    "MODE_TAG",
    "PORT_TAG",
    "InstanceInfo",
    "describe_instances",
    "find_instances",
    "instance_filters",
    "security_group_name",
    "terminate",
    "token_instructions",
]

logger = logging.getLogger(__name__)

MANAGED_TAG = "seatcast:managed"
MODE_TAG = "seatcast:mode"
PORT_TAG = "seatcast:jupyter-port"
ACTIVE_STATES = ("pending", "running", "stopping", "stopped")


@dataclass(frozen=True)
class InstanceInfo:
    """A seatcast instance as ``describe_instances`` reports it."""

    instance_id: str
    name: str
    state: str
    instance_type: str
    mode: str
    public_ip: str | None
    public_dns: str | None
    launch_time: str
    security_group_ids: list[str]
    jupyter_port: int | None = None


def security_group_name(name: str) -> str:
    """Return the name of the security group that belongs to instance ``name``."""
    return f"{name}-sg"


def instance_filters(name: str | None, *, include_terminated: bool) -> list[dict[str, Any]]:
    """Return ``describe_instances`` filters for seatcast instances, optionally of one name."""
    filters: list[dict[str, Any]] = [{"Name": f"tag:{MANAGED_TAG}", "Values": ["true"]}]
    if name is not None:
        filters.append({"Name": "tag:Name", "Values": [name]})
    if not include_terminated:
        filters.append({"Name": "instance-state-name", "Values": list(ACTIVE_STATES)})
    return filters


def _instance_info(record: Mapping[str, Any]) -> InstanceInfo:
    tags = {tag["Key"]: tag["Value"] for tag in record.get("Tags", [])}
    launch_time = record.get("LaunchTime")
    return InstanceInfo(
        instance_id=record["InstanceId"],
        name=tags.get("Name", ""),
        state=record.get("State", {}).get("Name", "unknown"),
        instance_type=record.get("InstanceType", ""),
        mode=tags.get(MODE_TAG, ""),
        public_ip=record.get("PublicIpAddress") or None,
        public_dns=record.get("PublicDnsName") or None,
        launch_time=(
            launch_time.isoformat() if hasattr(launch_time, "isoformat") else str(launch_time or "")
        ),
        jupyter_port=int(tags[PORT_TAG]) if tags.get(PORT_TAG, "").isdigit() else None,
        security_group_ids=[group["GroupId"] for group in record.get("SecurityGroups", [])],
    )


def describe_instances(
    ec2: Any, name: str | None, *, include_terminated: bool
) -> list[InstanceInfo]:
    """List seatcast instances through an existing EC2 client, oldest first."""
    filters = instance_filters(name, include_terminated=include_terminated)
    with aws_call("ec2:DescribeInstances"):
        pages = ec2.get_paginator("describe_instances").paginate(Filters=filters)
        records = [
            instance
            for page in pages
            for reservation in page["Reservations"]
            for instance in reservation["Instances"]
        ]
    return sorted(
        (_instance_info(record) for record in records),
        key=lambda info: (info.launch_time, info.instance_id),
    )


def find_instances(
    settings: AwsSettings, name: str | None = None, *, include_terminated: bool = False
) -> list[InstanceInfo]:
    """List seatcast instances, oldest first.

    Parameters
    ----------
    settings : AwsSettings
        Region, profile and endpoint.
    name : str, optional
        Only instances with this ``Name`` tag.
    include_terminated : bool, default=False
        Also list instances that are shutting down or terminated.

    Returns
    -------
    list of InstanceInfo
        Instances tagged ``seatcast:managed=true``.
    """
    if name is not None:
        check_name(name)
    return describe_instances(
        make_client(settings, "ec2"), name, include_terminated=include_terminated
    )


def _delete_security_group(ec2: Any, name: str) -> str | None:
    from botocore.exceptions import ClientError

    group_name = security_group_name(name)
    with aws_call("ec2:DescribeSecurityGroups"):
        groups = ec2.describe_security_groups(
            Filters=[
                {"Name": "group-name", "Values": [group_name]},
                {"Name": f"tag:{MANAGED_TAG}", "Values": ["true"]},
            ]
        )["SecurityGroups"]
    for group in groups:
        with aws_call("ec2:DeleteSecurityGroup"):
            try:
                ec2.delete_security_group(GroupId=group["GroupId"])
            except ClientError as error:
                if error_code(error) != "DependencyViolation":
                    raise
                logger.warning(
                    "Security group %s (%s) is still in use; delete it later with `aws ec2 "
                    "delete-security-group --group-id %s`",
                    group_name,
                    group["GroupId"],
                    group["GroupId"],
                )
                return None
        logger.info("Deleted security group %s (%s)", group_name, group["GroupId"])
        return str(group["GroupId"])
    return None


def terminate(
    settings: AwsSettings,
    name: str | None = None,
    *,
    instance_ids: Sequence[str] = (),
    wait: bool = True,
) -> list[str]:
    """Terminate seatcast instances and, once they are gone, their security group.

    Parameters
    ----------
    settings : AwsSettings
        Region, profile and endpoint.
    name : str, optional
        Terminate every active instance with this ``Name`` tag.
    instance_ids : sequence of str, default=()
        Terminate these instances; each must carry the ``seatcast:managed`` tag.
    wait : bool, default=True
        Wait until the instances are terminated, then delete the ``NAME-sg`` group.

    Returns
    -------
    list of str
        The terminated instance ids.

    Raises
    ------
    ConfigError
        If neither or both of ``name`` and ``instance_ids`` are given.
    UsageError
        If no matching active seatcast instance exists.
    """
    if (name is None) == (not instance_ids):
        raise ConfigError(
            "`--name` or `--instance-id` must be given, not both; got "
            f"name={name!r}, instance ids={list(instance_ids)}"
        )
    ec2 = make_client(settings, "ec2")
    if name is not None:
        check_name(name)
        targets = describe_instances(ec2, name, include_terminated=False)
    else:
        everything = describe_instances(ec2, None, include_terminated=False)
        targets = [info for info in everything if info.instance_id in set(instance_ids)]
        unknown = sorted(set(instance_ids) - {info.instance_id for info in targets})
        if unknown:
            raise UsageError(
                f"no active seatcast instance has id {', '.join(unknown)}; list them with "
                "`seatcast deploy status`"
            )
    if not targets:
        raise UsageError(
            f"no active seatcast instance is named {name!r}; list them with "
            "`seatcast deploy status`"
        )

    ids = [info.instance_id for info in targets]
    with aws_call("ec2:TerminateInstances"):
        ec2.terminate_instances(InstanceIds=ids)
    logger.info("Terminating %s", ", ".join(ids))
    if wait:
        with aws_call("ec2:DescribeInstances"):
            ec2.get_waiter("instance_terminated").wait(InstanceIds=ids)
        logger.info("Terminated %s", ", ".join(ids))
        for instance_name in sorted({info.name for info in targets if info.name}):
            _delete_security_group(ec2, instance_name)
    return ids


def token_instructions(instance: InstanceInfo, region: str | None) -> str:
    """Explain how to read the Jupyter token of ``instance`` without exposing it in AWS logs.

    Parameters
    ----------
    instance : InstanceInfo
        A Jupyter-mode seatcast instance.
    region : str or None
        Region to name in the commands.

    Returns
    -------
    str
        Commands to run, over Session Manager or SSH, and the URL to open.
    """
    region_option = f" --region {region}" if region else ""
    port = instance.jupyter_port or 8888
    host = instance.public_dns or instance.public_ip or "<public DNS of the instance>"
    read_token = "sudo docker exec seatcast-jupyter jupyter server list"
    lines = [
        f"Instance {instance.instance_id} ({instance.name}, {instance.state}).",
        "Jupyter made a random token at start. It is not in the user-data log, the console",
        "output or any tag, so read it on the instance itself:",
        "",
        "Over Session Manager (needs the session-manager-plugin; no open SSH port):",
        f"  aws ssm start-session --target {instance.instance_id}{region_option}",
        f"  {read_token}",
        "",
        "Or over SSH, if you launched with --key-name:",
        f"  ssh -i KEY.pem ec2-user@{host} {read_token}",
        "",
        "The output contains a line like http://...:8888/?token=TOKEN :: /home/jovyan/work.",
        f"Open http://{host}:{port}/lab?token=TOKEN from the CIDR you allowed, or tunnel with",
        f"  ssh -i KEY.pem -N -L 8888:localhost:{port} ec2-user@{host}",
        "and open http://localhost:8888/lab?token=TOKEN.",
    ]
    if instance.mode and instance.mode != "jupyter":
        lines.insert(1, f"NOTE: this instance runs in {instance.mode} mode and has no Jupyter.")
    if instance.state != "running":
        lines.insert(1, f"NOTE: the instance is {instance.state}; the commands work once it runs.")
    return "\n".join(lines)
