"""The ``seatcast deploy`` command: push the image to ECR and run it on EC2."""

from __future__ import annotations

import argparse

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``deploy`` subcommand to the ``seatcast`` parser."""
    parser = subparsers.add_parser(
        "deploy",
        help="push the Docker image to Amazon ECR and run it on an EC2 instance",
        description="Push the Docker image to Amazon ECR and run it on an EC2 instance.",
    )
    parser.set_defaults(func=lambda args: parser.print_help() or 2)
