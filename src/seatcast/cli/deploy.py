"""The ``seatcast deploy`` command: push the image to ECR and run it on EC2.

Subcommands, in the order a first deployment uses them::

    seatcast deploy ecr-push --image seatcast:0.1.0
    seatcast deploy iam
    seatcast deploy launch --image URI --allowed-cidr 203.0.113.7/32
    seatcast deploy token
    seatcast deploy status
    seatcast deploy terminate --name seatcast

Every subcommand takes ``--region``, ``--profile`` and ``--endpoint-url``; without them boto3's
usual configuration applies (``aws configure``, ``AWS_PROFILE``, ``AWS_REGION``,
``AWS_ENDPOINT_URL``). boto3 is imported only when a subcommand runs, so the rest of the CLI
works without the ``deploy`` extra.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from typing import Any

from seatcast.deploy._validate import parse_tags
from seatcast.errors import UsageError

__all__ = ["register"]

DEFAULT_NAME = "seatcast"
DEFAULT_ROLE = "seatcast-ec2"
DEFAULT_INSTANCE_TYPE = "t3.medium"


def _aws_options() -> argparse.ArgumentParser:
    parent = argparse.ArgumentParser(add_help=False)
    group = parent.add_argument_group("AWS connection")
    group.add_argument("--region", default=None, help="AWS region (default: your AWS config)")
    group.add_argument("--profile", default=None, help="named profile from ~/.aws/config")
    group.add_argument(
        "--endpoint-url",
        default=None,
        metavar="URL",
        help="send every AWS call to this endpoint, such as a local moto server "
        "(default: AWS_ENDPOINT_URL if set, otherwise the public AWS endpoints)",
    )
    return parent


def _settings(args: argparse.Namespace) -> Any:
    from seatcast.deploy import AwsSettings

    return AwsSettings(region=args.region, profile=args.profile, endpoint_url=args.endpoint_url)


def _add_resource_tag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--resource-tag",
        action="append",
        default=None,
        metavar="KEY=VALUE",
        help="tag to put on created AWS resources (repeatable)",
    )


def _run_ecr_push(args: argparse.Namespace) -> None:
    from seatcast.deploy import push_image

    result = push_image(
        _settings(args),
        args.image,
        args.repository,
        tag=args.tag,
        registry=args.registry,
        docker=args.docker,
        keep_login=args.keep_login,
        tags=parse_tags(args.resource_tag),
    )
    print(result.remote_image)


def _run_iam(args: argparse.Namespace) -> None:
    from seatcast.deploy import ensure_instance_role

    result = ensure_instance_role(
        _settings(args),
        args.role_name,
        s3_output=args.s3_output,
        session_manager=args.session_manager,
        tags=parse_tags(args.resource_tag),
    )
    created = ", ".join(result.created) if result.created else "nothing (all existed)"
    print(f"role:             {result.role_arn}")
    print(f"instance profile: {result.instance_profile_arn}")
    print(f"policies:         {', '.join(result.attached_policies)}")
    print(f"created:          {created}")


def _launch_options(args: argparse.Namespace) -> Any:
    from seatcast.deploy import LaunchOptions, UserDataSpec

    spec = UserDataSpec(
        image_uri=args.image,
        mode=args.mode,
        jupyter_port=args.port,
        election_config=args.election_config or "",
        train_config=args.train_config or "",
        s3_output=args.s3_output or "",
        shutdown_when_done=args.shutdown_when_done,
    )
    return LaunchOptions(
        user_data=spec,
        name=args.name,
        allowed_cidr=args.allowed_cidr,
        allow_anywhere=args.allow_anywhere,
        instance_type=args.instance_type,
        instance_profile=args.instance_profile,
        ami=args.ami,
        subnet_id=args.subnet_id,
        key_name=args.key_name,
        volume_size_gib=args.volume_size,
        tags=parse_tags(args.resource_tag),
    )


def _run_launch(args: argparse.Namespace) -> None:
    from seatcast.deploy import find_instances, launch, plan_launch

    options = _launch_options(args)
    if args.dry_run:
        plan = plan_launch(options)
        print("# Dry run: no AWS call was made. These calls would be made, in order:")
        for call in plan.calls:
            print(call.describe())
        size = len(plan.user_data.encode("utf-8"))
        print(f"# ----- user data ({size} bytes) -----")
        sys.stdout.write(plan.user_data)
        return

    settings = _settings(args)
    result = launch(settings, options)
    print(f"instance:       {result.instance_id}")
    print(f"security group: {result.security_group_id}")
    print(f"AMI:            {result.image_id}")
    if args.wait:
        from seatcast.deploy._aws import aws_call, make_client

        ec2 = make_client(settings, "ec2")
        with aws_call("ec2:DescribeInstances"):
            ec2.get_waiter("instance_running").wait(InstanceIds=[result.instance_id])
        for info in find_instances(settings, options.name):
            if info.instance_id == result.instance_id:
                print(f"public DNS:     {info.public_dns or info.public_ip or 'none'}")
    if options.user_data.mode == "jupyter":
        print(
            "JupyterLab starts a few minutes after boot. Read its token with "
            f"`seatcast deploy token --name {options.name}`."
        )
    else:
        print(
            "The batch job starts a few minutes after boot; its output is in "
            "/srv/seatcast/reports on the instance"
            + (f" and in {options.user_data.s3_output}" if options.user_data.s3_output else "")
            + "."
        )


def _run_status(args: argparse.Namespace) -> None:
    from seatcast.deploy import find_instances

    instances = find_instances(_settings(args), args.name, include_terminated=args.all)
    if args.json:
        print(json.dumps([asdict(info) for info in instances], indent=2))
        return
    if not instances:
        print("No seatcast instances found.")
        return
    header = ("INSTANCE", "NAME", "STATE", "TYPE", "MODE", "PUBLIC ADDRESS", "LAUNCHED")
    rows = [
        (
            info.instance_id,
            info.name,
            info.state,
            info.instance_type,
            info.mode,
            info.public_dns or info.public_ip or "-",
            info.launch_time,
        )
        for info in instances
    ]
    widths = [max(len(str(row[column])) for row in [header, *rows]) for column in range(7)]
    for row in [header, *rows]:
        print("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)))


def _run_token(args: argparse.Namespace) -> None:
    from seatcast.deploy import find_instances, token_instructions

    settings = _settings(args)
    instances = find_instances(settings, args.name)
    if not instances:
        raise UsageError(
            f"no active seatcast instance is named {args.name!r}; list them with "
            "`seatcast deploy status`"
        )
    region = args.region
    if region is None:
        from seatcast.deploy._aws import make_client

        region = make_client(settings, "ec2").meta.region_name
    print(token_instructions(instances[-1], region))


def _run_terminate(args: argparse.Namespace) -> None:
    from seatcast.deploy import terminate

    name = None if args.instance_id else args.name
    ids = terminate(
        _settings(args), name, instance_ids=args.instance_id or (), wait=not args.no_wait
    )
    state = "terminating" if args.no_wait else "terminated"
    print(f"{state}: {', '.join(ids)}")


def _add_ecr_push(subcommands: Any, parent: argparse.ArgumentParser) -> None:
    parser = subcommands.add_parser(
        "ecr-push",
        parents=[parent],
        help="create the ECR repository if needed, then tag and push a local image",
        description=(
            "Create the ECR repository if it is missing (scan on push, immutable tags), log "
            "Docker in with a password passed on standard input, tag the image and push it. "
            "Prints the pushed image URI for `seatcast deploy launch --image`."
        ),
    )
    parser.add_argument(
        "--image", required=True, help="local image to push, such as seatcast:0.1.0"
    )
    parser.add_argument("--repository", default="seatcast", help="ECR repository name")
    parser.add_argument(
        "--tag",
        default=None,
        help="tag to push (default: the local image's tag; 'latest' is rejected because "
        "tags are immutable)",
    )
    parser.add_argument(
        "--registry",
        default=None,
        metavar="HOST[:PORT]",
        help="registry to log in and push to (default: the repository's ECR host)",
    )
    parser.add_argument("--docker", default="docker", help="Docker CLI to run (default: docker)")
    parser.add_argument(
        "--keep-login",
        action="store_true",
        help="stay logged in after the push (default: `docker logout` removes the credential)",
    )
    _add_resource_tag(parser)
    parser.set_defaults(func=_run_ecr_push)


def _add_iam(subcommands: Any, parent: argparse.ArgumentParser) -> None:
    parser = subcommands.add_parser(
        "iam",
        parents=[parent],
        help="create the instance role and profile (safe to repeat)",
        description=(
            "Create an IAM role that EC2 may assume, attach AmazonEC2ContainerRegistryReadOnly "
            "(and AmazonSSMManagedInstanceCore for Session Manager), and wrap it in an "
            "instance profile of the same name. Existing parts are kept."
        ),
    )
    parser.add_argument("--role-name", default=DEFAULT_ROLE, help="role and instance profile name")
    parser.add_argument(
        "--s3-output",
        default=None,
        metavar="S3_URI",
        help="also allow uploads below this s3://bucket/prefix, for batch results",
    )
    parser.add_argument(
        "--no-session-manager",
        dest="session_manager",
        action="store_false",
        help="do not attach AmazonSSMManagedInstanceCore (then use SSH to read the token)",
    )
    _add_resource_tag(parser)
    parser.set_defaults(func=_run_iam)


def _add_launch(subcommands: Any, parent: argparse.ArgumentParser) -> None:
    parser = subcommands.add_parser(
        "launch",
        parents=[parent],
        help="start an EC2 instance that runs JupyterLab or the batch job",
        description=(
            "Start an Amazon Linux 2023 instance whose user data installs Docker, logs in to "
            "ECR with the instance role, pulls the image and runs JupyterLab or the batch job. "
            "The instance requires IMDSv2; its security group lets only --allowed-cidr reach "
            "the Jupyter port."
        ),
    )

    parser.add_argument("--image", required=True, help="image URI printed by `deploy ecr-push`")
    parser.add_argument(
        "--mode",
        choices=("jupyter", "batch"),
        default="jupyter",
        help="jupyter keeps JupyterLab running; batch runs seatcast-batch once (default: jupyter)",
    )
    parser.add_argument(
        "--allowed-cidr",
        default=None,
        metavar="CIDR",
        help="the only network that may reach Jupyter (and SSH), such as 203.0.113.7/32; "
        "required in Jupyter mode",
    )
    parser.add_argument(
        "--allow-anywhere",
        action="store_true",
        help="accept 0.0.0.0/0 or ::/0 as --allowed-cidr (not recommended)",
    )

    parser.add_argument("--name", default=DEFAULT_NAME, help="Name tag of the instance")
    parser.add_argument(
        "--instance-type",
        default=DEFAULT_INSTANCE_TYPE,
        help=f"EC2 instance type (default: {DEFAULT_INSTANCE_TYPE})",
    )
    parser.add_argument(
        "--instance-profile", default=DEFAULT_ROLE, help="instance profile from `deploy iam`"
    )
    parser.add_argument(
        "--ami", default=None, help="AMI id (default: latest Amazon Linux 2023, through SSM)"
    )
    parser.add_argument("--subnet-id", default=None, help="subnet (default: the default VPC)")
    parser.add_argument(
        "--key-name", default=None, help="EC2 key pair for SSH; opens port 22 to --allowed-cidr"
    )
    parser.add_argument(
        "--volume-size", type=int, default=30, metavar="GIB", help="root volume size in GiB"
    )

    parser.add_argument("--port", type=int, default=8888, help="host port for JupyterLab")
    batch = parser.add_argument_group("batch mode")
    batch.add_argument(
        "--election-config",
        default=None,
        metavar="PATH",
        help="election config inside the image (default: the image's batch default)",
    )
    batch.add_argument(
        "--train-config",
        default=None,
        metavar="PATH",
        help="training config used when no model exists yet",
    )
    batch.add_argument(
        "--s3-output",
        default=None,
        metavar="S3_URI",
        help="upload the results to this s3://bucket/prefix (see `deploy iam --s3-output`)",
    )
    batch.add_argument(
        "--shutdown-when-done",
        action="store_true",
        help="terminate the instance when the job ends; needs --s3-output",
    )

    parser.add_argument(
        "--wait", action="store_true", help="wait until the instance runs and print its address"
    )
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="print the rendered user data and the API calls without calling AWS",
    )
    _add_resource_tag(parser)
    parser.set_defaults(func=_run_launch)


def _add_status(subcommands: Any, parent: argparse.ArgumentParser) -> None:
    parser = subcommands.add_parser(
        "status", parents=[parent], help="list seatcast instances and their addresses"
    )
    parser.add_argument("--name", default=None, help="only instances with this Name tag")
    parser.add_argument("--all", action="store_true", help="include terminated instances")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.set_defaults(func=_run_status)


def _add_token(subcommands: Any, parent: argparse.ArgumentParser) -> None:
    parser = subcommands.add_parser(
        "token",
        parents=[parent],
        help="show how to read the Jupyter token on the instance",
        description=(
            "Print the commands that read the Jupyter token on the instance over Session "
            "Manager or SSH. The token itself never passes through AWS APIs or logs."
        ),
    )
    parser.add_argument("--name", default=DEFAULT_NAME, help="Name tag of the instance")
    parser.set_defaults(func=_run_token)


def _add_terminate(subcommands: Any, parent: argparse.ArgumentParser) -> None:
    parser = subcommands.add_parser(
        "terminate",
        parents=[parent],
        help="terminate a seatcast instance and delete its security group",
    )
    parser.add_argument("--name", default=DEFAULT_NAME, help="Name tag of the instance")
    parser.add_argument(
        "--instance-id",
        action="append",
        default=None,
        help="terminate this instance instead of looking it up by name (repeatable)",
    )
    parser.add_argument(
        "--no-wait",
        action="store_true",
        help="return at once; the security group is then left for a later run",
    )
    parser.set_defaults(func=_run_terminate)


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``deploy`` subcommand and its own subcommands to the ``seatcast`` parser."""
    parser = subparsers.add_parser(
        "deploy",
        help="push the Docker image to Amazon ECR and run it on an EC2 instance",
        description=(
            "Push the Docker image to Amazon ECR and run it on EC2. See docs/deploy.md for a "
            "walk-through and the cost of an instance."
        ),
    )
    subcommands = parser.add_subparsers(
        dest="deploy_command", metavar="SUBCOMMAND", parser_class=type(parser)
    )
    subcommands.required = True
    parent = _aws_options()
    _add_ecr_push(subcommands, parent)
    _add_iam(subcommands, parent)
    _add_launch(subcommands, parent)
    _add_token(subcommands, parent)
    _add_status(subcommands, parent)
    _add_terminate(subcommands, parent)
