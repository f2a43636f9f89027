"""Tests for ``seatcast deploy`` through the real command line, against moto on 127.0.0.1."""

from __future__ import annotations

import base64
import json

import boto3
import pytest

from seatcast.cli import main
from seatcast.deploy import UserDataSpec, render_user_data
from tests.deploy.fakes import install_fakes, read_calls
from tests.deploy.moto_server import REGION, aws, moto_url, no_real_aws  # noqa: F401

IMAGE = f"123456789012.dkr.ecr.{REGION}.amazonaws.com/seatcast:0.1.0"
MY_CIDR = "203.0.113.7/32"
USER_DATA_MARKER = "# ----- user data ("


def _dry_run_user_data(output: str) -> str:
    marker = output.index(USER_DATA_MARKER)
    return output[output.index("\n", marker) + 1 :]


def test_deploy_without_subcommand_is_usage_error(capsys):
    with pytest.raises(SystemExit) as raised:
        main(["deploy"])
    assert raised.value.code == 2
    assert "the following arguments are required: SUBCOMMAND" in capsys.readouterr().err


def test_launch_dry_run_prints_calls_and_user_data(capsys, monkeypatch):
    # Nothing AWS-related is configured: a dry run must not need it.
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    code = main(["deploy", "launch", "--image", IMAGE, "--allowed-cidr", MY_CIDR, "--dry-run"])
    output = capsys.readouterr().out
    assert code == 0
    assert output.startswith("# Dry run: no AWS call was made.")
    assert "ec2.run_instances {" in output
    assert '"HttpTokens": "required"' in output
    assert f'"CidrIp": "{MY_CIDR}"' in output
    assert _dry_run_user_data(output) == render_user_data(UserDataSpec(image_uri=IMAGE))


def test_launch_dry_run_batch_mode(capsys):
    code = main(
        [
            "deploy",
            "launch",
            "--image",
            IMAGE,
            "--mode",
            "batch",
            "--election-config",
            "configs/elections/india2019.yaml",
            "--s3-output",
            "s3://results/india",
            "--shutdown-when-done",
            "--dry-run",
        ]
    )
    output = capsys.readouterr().out
    assert code == 0
    assert "authorize_security_group_ingress" not in output
    assert '"InstanceInitiatedShutdownBehavior": "terminate"' in output
    user_data = _dry_run_user_data(output)
    assert "MODE='batch'\n" in user_data
    assert "S3_OUTPUT='s3://results/india'\n" in user_data


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--allowed-cidr", "0.0.0.0/0"], "must not open Jupyter to the whole internet"),
        ([], "`--allowed-cidr` must be given in Jupyter mode"),
        (
            ["--allowed-cidr", MY_CIDR, "--resource-tag", "novalue"],
            "`--resource-tag` must be KEY=VALUE",
        ),
        (
            ["--allowed-cidr", MY_CIDR, "--resource-tag", "aws:x=1"],
            "keys must not start with 'aws:'",
        ),
    ],
)
def test_launch_rejects_bad_options_with_exit_2(capsys, arguments, message):
    code = main(["deploy", "launch", "--image", IMAGE, "--dry-run", *arguments])
    captured = capsys.readouterr()
    assert code == 2
    assert message in captured.err
    assert "Traceback" not in captured.err
    assert captured.out == ""


def test_world_open_accepted_with_flag(capsys):
    code = main(
        [
            "deploy",
            "launch",
            "--image",
            IMAGE,
            "--allowed-cidr",
            "0.0.0.0/0",
            "--allow-anywhere",
            "--dry-run",
        ]
    )
    assert code == 0
    assert '"CidrIp": "0.0.0.0/0"' in capsys.readouterr().out


@pytest.mark.slow
def test_full_cycle_through_cli(aws, capsys, tmp_path):  # noqa: F811
    connection = ["--region", REGION, "--endpoint-url", aws]
    call_log = tmp_path / "calls.log"
    docker = install_fakes(tmp_path / "bin", call_log, ["docker"]) / "docker"

    assert (
        main(
            [
                "deploy",
                "ecr-push",
                "--image",
                "seatcast:0.1.0",
                "--docker",
                str(docker),
                *connection,
            ]
        )
        == 0
    )
    pushed = capsys.readouterr().out.strip()
    assert pushed == IMAGE
    assert f"docker push {IMAGE}" in read_calls(call_log)

    assert main(["deploy", "iam", *connection]) == 0
    assert "created:          role, instance-profile, role-in-profile" in capsys.readouterr().out
    assert main(["deploy", "iam", *connection]) == 0
    assert "created:          nothing (all existed)" in capsys.readouterr().out

    code = main(
        ["deploy", "launch", "--image", pushed, "--allowed-cidr", MY_CIDR, "--wait", *connection]
    )
    output = capsys.readouterr().out
    assert code == 0
    instance_id = output.split("instance:", 1)[1].split()[0]
    assert "public DNS:" in output
    ec2 = boto3.client("ec2", region_name=REGION, endpoint_url=aws)
    attribute = ec2.describe_instance_attribute(InstanceId=instance_id, Attribute="userData")
    assert base64.b64decode(attribute["UserData"]["Value"]).decode() == render_user_data(
        UserDataSpec(image_uri=IMAGE)
    )

    assert main(["deploy", "status", "--json", *connection]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [item["instance_id"] for item in listed] == [instance_id]
    assert main(["deploy", "status", *connection]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split()[:3] == ["INSTANCE", "NAME", "STATE"]
    assert table[1].split()[:3] == [instance_id, "seatcast", "running"]

    assert main(["deploy", "token", *connection]) == 0
    token_help = capsys.readouterr().out
    assert f"aws ssm start-session --target {instance_id} --region {REGION}" in token_help

    assert main(["deploy", "terminate", "--name", "seatcast", *connection]) == 0
    assert capsys.readouterr().out.strip() == f"terminated: {instance_id}"
    assert main(["deploy", "status", *connection]) == 0
    assert capsys.readouterr().out.strip() == "No seatcast instances found."


@pytest.mark.slow
def test_token_for_missing_instance_is_exit_2(aws, capsys):  # noqa: F811
    code = main(["deploy", "token", "--name", "nothing", "--endpoint-url", aws])
    captured = capsys.readouterr()
    assert code == 2
    assert "no active seatcast instance is named 'nothing'" in captured.err


@pytest.mark.slow
def test_launch_without_instance_profile_is_exit_2(aws, capsys):  # noqa: F811
    code = main(["deploy", "launch", "--image", IMAGE, "--allowed-cidr", MY_CIDR])
    captured = capsys.readouterr()
    assert code == 2
    assert "`--instance-profile` must exist; 'seatcast-ec2' was not found" in captured.err
