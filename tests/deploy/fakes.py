"""Stand-in executables that record how they were called, for PATH-based tests.

Each fake appends one line, ``NAME ARG...``, to a shared call log. Standard input that a fake
reads (``docker login --password-stdin``) is logged on its own line as ``NAME <stdin> TEXT``,
so a test can tell a password sent through stdin from one passed as an argument.
"""

from __future__ import annotations

import stat
from collections.abc import Mapping
from pathlib import Path

# The body of each fake, run by bash after the call is logged. "$@" contains the arguments.
FAKE_BODIES: Mapping[str, str] = {
    "dnf": "",
    "systemctl": "",
    "chown": "",
    "shutdown": "",
    "sleep": "",
    "curl": """
case "$*" in
    *api/token*) echo "fake-imds-session" ;;
    *placement/region*) echo "eu-west-1" ;;
    *) echo "fake curl: unexpected call: $*" >&2; exit 22 ;;
esac
""",
    "aws": """
case "$*" in
    "ecr get-login-password"*) echo "fake-ecr-password" ;;
esac
""",
    "docker": """
case "$1" in
    login)
        read -r password
        printf '%s <stdin> %s\\n' docker "$password" >> "$FAKE_CALL_LOG"
        echo "Login Succeeded"
        ;;
    image)
        if [[ "$*" == *missing-image* ]]; then
            echo "Error: No such image" >&2
            exit 1
        fi
        echo "sha256:0123456789abcdef"
        ;;
    run)
        if [[ -n "${FAKE_DOCKER_RUN_EXIT:-}" ]]; then
            echo "fake batch failure" >&2
            exit "$FAKE_DOCKER_RUN_EXIT"
        fi
        echo "fake container output"
        ;;
    push)
        if [[ -n "${FAKE_DOCKER_PUSH_EXIT:-}" ]]; then
            echo "denied: fake push failure" >&2
            exit "$FAKE_DOCKER_PUSH_EXIT"
        fi
        ;;
esac
""",
}


def install_fakes(bin_dir: Path, call_log: Path, names: list[str] | None = None) -> Path:
    """Write fake executables into ``bin_dir``; return ``bin_dir``.

    Parameters
    ----------
    bin_dir : Path
        Folder to put first on ``PATH``.
    call_log : Path
        File the fakes append to; it is also exported to them as ``FAKE_CALL_LOG``.
    names : list of str, optional
        Which fakes to install; defaults to all of :data:`FAKE_BODIES`.
    """
    bin_dir.mkdir(parents=True, exist_ok=True)
    for name in names or sorted(FAKE_BODIES):
        script = bin_dir / name
        script.write_text(
            "#!/bin/bash\n"
            f'FAKE_CALL_LOG="${{FAKE_CALL_LOG:-{call_log}}}"\n'
            f'printf \'%s\\n\' "{name} $*" >> "$FAKE_CALL_LOG"\n'
            f"{FAKE_BODIES[name]}\n"
        )
        script.chmod(script.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return bin_dir


def read_calls(call_log: Path) -> list[str]:
    """Return the logged calls, one per line, in order (empty if nothing was called)."""
    if not call_log.exists():
        return []
    return call_log.read_text().splitlines()
