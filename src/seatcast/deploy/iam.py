"""Create the IAM role and instance profile that the seatcast EC2 instance runs as.

The role lets the instance pull from ECR without any access key on the machine: the AWS CLI
on the instance takes short-lived credentials from the instance profile through IMDSv2.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from seatcast.deploy._aws import AwsSettings, aws_call, error_code, make_client
from seatcast.deploy._validate import check_name, check_s3_uri
from seatcast.errors import ConfigError

__all__ = [
    "ECR_READ_ONLY_POLICY_ARN",
    "SSM_CORE_POLICY_ARN",
    "InstanceRoleResult",
    "ensure_instance_role",
    "s3_output_policy",
    "trust_policy",
]

logger = logging.getLogger(__name__)

ECR_READ_ONLY_POLICY_ARN = "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly"
# Lets Session Manager reach the instance without an open SSH port; `seatcast deploy token`
# relies on it to read the Jupyter token.
SSM_CORE_POLICY_ARN = "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"
S3_OUTPUT_POLICY_NAME = "seatcast-s3-output"


@dataclass(frozen=True)
class InstanceRoleResult:
    """Role and instance profile after :func:`ensure_instance_role`, with what it created.

    Attributes
    ----------
    role_name, role_arn : str
        The role.
    instance_profile_name, instance_profile_arn : str
        The instance profile that wraps it; pass its name to ``seatcast deploy launch``.
    created : list of str
        Resources created by this call, such as ``"role"``; empty when all existed.
    attached_policies : list of str
        Managed policy ARNs attached to the role after the call.
    """

    role_name: str
    role_arn: str
    instance_profile_name: str
    instance_profile_arn: str
    created: list[str] = field(default_factory=list)
    attached_policies: list[str] = field(default_factory=list)


def trust_policy() -> dict[str, Any]:
    """Return the trust policy that lets EC2 instances assume the role."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "ec2.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ],
    }


def s3_output_policy(s3_uri: str) -> dict[str, Any]:
    """Return an inline policy that allows writing batch results under ``s3_uri`` only.

    Parameters
    ----------
    s3_uri : str
        ``s3://bucket/prefix``; the instance may put objects below the prefix and list them.

    Returns
    -------
    dict
        The policy document.

    Raises
    ------
    ConfigError
        If ``s3_uri`` is not an ``s3://`` URI.
    """
    bucket, prefix = check_s3_uri(s3_uri)
    object_pattern = f"{prefix}/*" if prefix else "*"
    statements: list[dict[str, Any]] = [
        {
            "Sid": "WriteBatchOutput",
            "Effect": "Allow",
            "Action": ["s3:PutObject"],
            "Resource": f"arn:aws:s3:::{bucket}/{object_pattern}",
        },
        {
            # `aws s3 cp --recursive` lists the destination first.
            "Sid": "ListBatchOutput",
            "Effect": "Allow",
            "Action": ["s3:ListBucket"],
            "Resource": f"arn:aws:s3:::{bucket}",
            "Condition": {"StringLike": {"s3:prefix": [object_pattern]}},
        },
    ]
    return {"Version": "2012-10-17", "Statement": statements}


def _trusts_ec2(document: Any) -> bool:
    if isinstance(document, str):
        document = json.loads(document)
    statements = document.get("Statement", [])
    if isinstance(statements, dict):
        statements = [statements]
    for statement in statements:
        services = statement.get("Principal", {}).get("Service", [])
        if isinstance(services, str):
            services = [services]
        if statement.get("Effect") == "Allow" and "ec2.amazonaws.com" in services:
            return True
    return False


def _get_or_none(call: Any, action: str, **kwargs: Any) -> dict[str, Any] | None:
    from botocore.exceptions import ClientError

    with aws_call(action):
        try:
            return call(**kwargs)
        except ClientError as error:
            if error_code(error) != "NoSuchEntity":
                raise
            return None


def _ensure_role(
    iam: Any, role_name: str, tags: list[dict[str, str]], created: list[str]
) -> dict[str, Any]:
    found = _get_or_none(iam.get_role, "iam:GetRole", RoleName=role_name)
    if found is not None:
        role = found["Role"]
        if not _trusts_ec2(role.get("AssumeRolePolicyDocument", {})):
            raise ConfigError(
                f"`--role-name` must name a role that EC2 may assume; role {role_name!r} exists "
                "but its trust policy does not allow ec2.amazonaws.com. Pick another name"
            )
        logger.info("IAM role %s already exists", role_name)
        return role
    request: dict[str, Any] = {
        "RoleName": role_name,
        "AssumeRolePolicyDocument": json.dumps(trust_policy()),
        "Description": "Lets the seatcast EC2 instance pull its image from ECR",
    }
    if tags:
        request["Tags"] = tags
    with aws_call("iam:CreateRole"):
        role = iam.create_role(**request)["Role"]
    created.append("role")
    logger.info("Created IAM role %s", role_name)
    return role


def _ensure_instance_profile(
    iam: Any, profile_name: str, role_name: str, tags: list[dict[str, str]], created: list[str]
) -> dict[str, Any]:
    found = _get_or_none(
        iam.get_instance_profile, "iam:GetInstanceProfile", InstanceProfileName=profile_name
    )
    if found is None:
        request: dict[str, Any] = {"InstanceProfileName": profile_name}
        if tags:
            request["Tags"] = tags
        with aws_call("iam:CreateInstanceProfile"):
            profile = iam.create_instance_profile(**request)["InstanceProfile"]
        created.append("instance-profile")
        logger.info("Created instance profile %s", profile_name)
    else:
        profile = found["InstanceProfile"]

    role_names = [role["RoleName"] for role in profile.get("Roles", [])]
    if role_names and role_name not in role_names:
        raise ConfigError(
            f"`--role-name` must match the role inside instance profile {profile_name!r}, "
            f"which holds {role_names[0]!r}; got {role_name!r}"
        )
    if not role_names:
        with aws_call("iam:AddRoleToInstanceProfile"):
            iam.add_role_to_instance_profile(InstanceProfileName=profile_name, RoleName=role_name)
        created.append("role-in-profile")
        logger.info("Added role %s to instance profile %s", role_name, profile_name)
    return profile


def ensure_instance_role(
    settings: AwsSettings,
    role_name: str = "seatcast-ec2",
    *,
    s3_output: str | None = None,
    session_manager: bool = True,
    tags: Mapping[str, str] | None = None,
) -> InstanceRoleResult:
    """Create (or complete) the instance role and its instance profile; safe to run again.

    Parameters
    ----------
    settings : AwsSettings
        Region, profile and endpoint for the IAM calls.
    role_name : str, default="seatcast-ec2"
        Name of the role and of the instance profile.
    s3_output : str, optional
        ``s3://bucket/prefix`` the batch job may upload its results to; adds an inline policy
        limited to that prefix.
    session_manager : bool, default=True
        Attach ``AmazonSSMManagedInstanceCore`` so that Session Manager can open a shell on the
        instance without SSH.
    tags : mapping of str to str, optional
        Tags for newly created resources.

    Returns
    -------
    InstanceRoleResult
        Names, ARNs and what was created.

    Raises
    ------
    ConfigError
        For an invalid name or S3 URI, or a same-named role or profile that does not fit.
    UsageError
        For missing AWS credentials or IAM permissions.
    PipelineError
        For other AWS errors.
    """
    check_name(role_name, "--role-name")
    policy = s3_output_policy(s3_output) if s3_output else None
    iam = make_client(settings, "iam")
    tag_list = [{"Key": key, "Value": value} for key, value in (tags or {}).items()]
    created: list[str] = []

    role = _ensure_role(iam, role_name, tag_list, created)

    wanted = [ECR_READ_ONLY_POLICY_ARN] + ([SSM_CORE_POLICY_ARN] if session_manager else [])
    with aws_call("iam:ListAttachedRolePolicies"):
        pages = iam.get_paginator("list_attached_role_policies").paginate(RoleName=role_name)
        attached = [item["PolicyArn"] for page in pages for item in page["AttachedPolicies"]]
    for arn in wanted:
        if arn in attached:
            continue
        with aws_call("iam:AttachRolePolicy"):
            iam.attach_role_policy(RoleName=role_name, PolicyArn=arn)
        attached.append(arn)
        logger.info("Attached %s to role %s", arn, role_name)

    if policy is not None:
        # PutRolePolicy replaces a policy of the same name, so repeating it is harmless.
        with aws_call("iam:PutRolePolicy"):
            iam.put_role_policy(
                RoleName=role_name,
                PolicyName=S3_OUTPUT_POLICY_NAME,
                PolicyDocument=json.dumps(policy),
            )
        logger.info("Allowed role %s to write batch output to %s", role_name, s3_output)

    profile = _ensure_instance_profile(iam, role_name, role_name, tag_list, created)
    return InstanceRoleResult(
        role_name=role_name,
        role_arn=role["Arn"],
        instance_profile_name=profile["InstanceProfileName"],
        instance_profile_arn=profile["Arn"],
        created=created,
        attached_policies=sorted(attached),
    )
