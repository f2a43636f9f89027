"""Render the EC2 user-data script that installs Docker and starts the seatcast image.

The template is ``templates/user-data.sh`` in this package. Its placeholders look like
``{{IMAGE_URI}}``, and each is replaced by a validated, single-quoted value. Rendering fails
if a placeholder has no value or a value has no placeholder, so the two cannot drift apart.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

from seatcast.deploy._validate import check_s3_uri, parse_image_uri
from seatcast.errors import ConfigError

__all__ = [
    "MAX_USER_DATA_BYTES",
    "MODES",
    "UserDataSpec",
    "load_template",
    "render_user_data",
]

# EC2 rejects user data above 16 KB before base64 encoding.
MAX_USER_DATA_BYTES = 16 * 1024
MODES = ("jupyter", "batch")
TEMPLATE_NAME = "user-data.sh"

PLACEHOLDER_RE = re.compile(r"\{\{([A-Z][A-Z0-9_]*)\}\}")
# Config paths inside the image, relative to /home/jovyan/work, such as configs/elections/x.yaml.
CONFIG_PATH_RE = re.compile(r"(?!/)(?!.*(?:^|/)\.\.(?:/|$))[A-Za-z0-9_./-]+\.ya?ml")


@dataclass(frozen=True)
class UserDataSpec:
    """Settings of the program that the instance runs.

    Parameters
    ----------
    image_uri : str
        Full image reference with a tag or digest, usually from ``seatcast deploy ecr-push``.
    mode : {"jupyter", "batch"}, default="jupyter"
        Start JupyterLab, or run the batch job once.
    jupyter_port : int, default=8888
        Host port that JupyterLab is published on.
    election_config : str, default=""
        Batch mode: election config inside the image; empty uses the image's default.
    train_config : str, default=""
        Batch mode: training config used if no model exists yet; empty uses the default.
    s3_output : str, default=""
        Batch mode: ``s3://bucket/prefix`` to upload the results to; empty keeps them on the
        instance only.
    shutdown_when_done : bool, default=False
        Batch mode: shut the instance down when the job ends, successful or not.
    """

    image_uri: str
    mode: str = "jupyter"
    jupyter_port: int = 8888
    election_config: str = ""
    train_config: str = ""
    s3_output: str = ""
    shutdown_when_done: bool = False

    def validate(self) -> None:
        """Raise ConfigError naming the first invalid field."""
        if self.mode not in MODES:
            raise ConfigError(f"`--mode` must be one of {', '.join(MODES)}; got {self.mode!r}")
        parse_image_uri(self.image_uri)
        if not 1 <= self.jupyter_port <= 65535:
            raise ConfigError(f"`--port` must be between 1 and 65535; got {self.jupyter_port}")
        for key, value in (
            ("--election-config", self.election_config),
            ("--train-config", self.train_config),
        ):
            if value and not CONFIG_PATH_RE.fullmatch(value):
                raise ConfigError(
                    f"`{key}` must be a relative .yaml path inside the image, such as "
                    f"configs/elections/india2019.yaml; got {value!r}"
                )
        if self.s3_output:
            check_s3_uri(self.s3_output)
        if self.mode != "batch" and (
            self.election_config or self.train_config or self.s3_output or self.shutdown_when_done
        ):
            raise ConfigError(
                "`--election-config`, `--train-config`, `--s3-output` and "
                "`--shutdown-when-done` must only be used with --mode batch; "
                f"got --mode {self.mode}"
            )
        if self.shutdown_when_done and not self.s3_output:
            raise ConfigError(
                "`--shutdown-when-done` must come with `--s3-output`, because the instance and "
                "its disk are deleted at shutdown and the results would be lost; got no "
                "--s3-output"
            )

    def values(self) -> dict[str, str]:
        """Return the template values, unquoted, keyed by placeholder name."""
        registry, ecr_region = parse_image_uri(self.image_uri)
        return {
            "IMAGE_URI": self.image_uri,
            "REGISTRY": registry,
            "ECR_REGION": ecr_region or "",
            "MODE": self.mode,
            "JUPYTER_PORT": str(self.jupyter_port),
            "ELECTION_CONFIG": self.election_config,
            "TRAIN_CONFIG": self.train_config,
            "S3_OUTPUT": self.s3_output,
            "SHUTDOWN_WHEN_DONE": "true" if self.shutdown_when_done else "false",
        }


def _single_quote(value: str) -> str:
    # Always quote, unlike shlex.quote: a bare word such as `MODE=batch` reads to shellcheck
    # like a command name (SC2209), and a quoted word is a plain string in every case.
    return "'" + value.replace("'", "'\"'\"'") + "'"


def load_template() -> str:
    """Return the user-data template shipped in ``seatcast.deploy.templates``."""
    return (
        resources.files("seatcast.deploy")
        .joinpath("templates", TEMPLATE_NAME)
        .read_text(encoding="utf-8")
    )


def render_user_data(spec: UserDataSpec, template: str | None = None) -> str:
    """Fill the template with ``spec`` and check the result fits EC2's limit.

    Parameters
    ----------
    spec : UserDataSpec
        What the instance should run.
    template : str, optional
        Template text; defaults to :func:`load_template`.

    Returns
    -------
    str
        The bash script, ready to pass as ``UserData``.

    Raises
    ------
    ConfigError
        If ``spec`` is invalid, the template and the values do not match, or the script is
        larger than :data:`MAX_USER_DATA_BYTES`.
    """
    spec.validate()
    text = load_template() if template is None else template
    values = spec.values()

    names_in_template = set(PLACEHOLDER_RE.findall(text))
    missing = sorted(names_in_template - values.keys())
    unused = sorted(values.keys() - names_in_template)
    if missing or unused:
        raise ConfigError(
            "user-data template placeholders must match the launch settings; "
            f"without a value: {missing or 'none'}; without a placeholder: {unused or 'none'}"
        )

    rendered = PLACEHOLDER_RE.sub(lambda match: _single_quote(values[match.group(1)]), text)
    size = len(rendered.encode("utf-8"))
    if size > MAX_USER_DATA_BYTES:
        raise ConfigError(
            f"user data must be at most {MAX_USER_DATA_BYTES} bytes, the EC2 limit; got {size}"
        )
    return rendered
