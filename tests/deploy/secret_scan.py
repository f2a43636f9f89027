"""Find things that look like credentials in text: user data, image config, logs.

Run as a script it scans files (or standard input for ``-``), prints each finding and exits 1
if there is any, so the container check can scan ``docker image inspect`` output with it.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

SECRET_PATTERNS: dict[str, re.Pattern[str]] = {
    # Long-term and temporary AWS access key ids.
    "AWS access key id": re.compile(r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA)[A-Z0-9]{16}\b"),
    "AWS secret key assignment": re.compile(
        r"(?i)\baws_?secret_?access_?key\b\s*[=:]\s*['\"]?[A-Za-z0-9/+=]{8,}"
    ),
    "AWS session token assignment": re.compile(
        r"(?i)\baws_?(?:session|security)_?token\b\s*[=:]\s*['\"]?[A-Za-z0-9/+=]{8,}"
    ),
    "Jupyter token value": re.compile(
        r"(?i)(?:\bjupyter_token\b\s*[=:]\s*['\"]?|[?&]token=)[A-Za-z0-9]{8,}"
    ),
    "token or password assignment": re.compile(
        r"(?i)\b(?:token|password|passwd|secret)\b\s*=\s*['\"]?[A-Za-z0-9/+=._-]{8,}"
    ),
    "private key": re.compile(r"-----BEGIN (?:[A-Z]+ )*PRIVATE KEY-----"),
    "GitHub token": re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36}\b"),
}


def find_secrets(text: str) -> list[str]:
    """Return ``"LINE: KIND: MATCH"`` for every credential-like match in ``text``."""
    findings = []
    for number, line in enumerate(text.splitlines(), start=1):
        for kind, pattern in SECRET_PATTERNS.items():
            for match in pattern.finditer(line):
                findings.append(f"{number}: {kind}: {match.group(0)}")
    return findings


def main(argv: list[str]) -> int:
    """Scan each path in ``argv`` (``-`` for stdin); return 1 if anything was found."""
    found = False
    for path in argv or ["-"]:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
        for finding in find_secrets(text):
            print(f"{path}:{finding}")
            found = True
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
