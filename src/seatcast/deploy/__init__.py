"""Deploy the seatcast Docker image to AWS: ECR for the image, IAM for the role, EC2 to run it.

This package uses boto3 (the ``deploy`` extra) and imports none of seatcast's ML modules, so it
can run on a machine that only builds and ships the image. Every function takes an
:class:`AwsSettings` whose ``endpoint_url`` can point at a local moto server for testing.
"""

from seatcast.deploy._aws import AwsSettings
from seatcast.deploy.ec2 import LaunchOptions, LaunchPlan, LaunchResult, launch, plan_launch
from seatcast.deploy.ecr import PushResult, RepositoryInfo, ensure_repository, push_image
from seatcast.deploy.iam import InstanceRoleResult, ensure_instance_role
from seatcast.deploy.instances import (
    InstanceInfo,
    find_instances,
    terminate,
    token_instructions,
)
from seatcast.deploy.userdata import UserDataSpec, render_user_data

__all__ = [
    "AwsSettings",
    "InstanceInfo",
    "InstanceRoleResult",
    "LaunchOptions",
    "LaunchPlan",
    "LaunchResult",
    "PushResult",
    "RepositoryInfo",
    "UserDataSpec",
    "ensure_instance_role",
    "ensure_repository",
    "find_instances",
    "launch",
    "plan_launch",
    "push_image",
    "render_user_data",
    "terminate",
    "token_instructions",
]
