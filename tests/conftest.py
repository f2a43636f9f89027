"""Shared fixtures: the project root, small real data samples and a tiny trained model."""

from __future__ import annotations

import gzip
import os
import shutil
from pathlib import Path

import pytest
from hypothesis import settings

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data"

# Property tests try new random cases on every local run. In CI (with CI set, as .ci/run
# does) they try the same cases each time, so that a run passes or fails the same way.
settings.register_profile("ci", derandomize=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


@pytest.fixture(scope="session")
def project_root() -> Path:
    """Return the repository root."""
    return ROOT


def semeval_lines(name: str, count: int) -> list[str]:
    """Return the first ``count`` lines of a shipped SemEval file."""
    with gzip.open(DATA / "semeval2017" / name, "rt", encoding="utf-8", newline="\n") as handle:
        return [next(handle).rstrip("\n") for _ in range(count)]


@pytest.fixture(scope="session")
def tiny_project(tmp_path_factory) -> Path:
    """A project folder with real tweet samples, a tiny training config and an election
    config, for end-to-end runs that take seconds."""
    root = tmp_path_factory.mktemp("project")
    (root / "configs" / "elections").mkdir(parents=True)
    (root / "data").mkdir()
    # 600 real SemEval tweets of each file: enough for 3-fold CV in a second or two.
    lines = semeval_lines("twitter-2016train-A.txt.gz", 1200)
    (root / "data" / "train.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    # Real election tweets: the first 300 rows of each party file.
    for party in ("bjp", "congress"):
        with gzip.open(
            DATA / "india2019" / f"2019_{party}.csv.gz", "rt", encoding="utf-8-sig", newline=""
        ) as source:
            import csv

            reader = csv.reader(source)
            rows = [next(reader) for _ in range(301)]
        with open(root / "data" / f"{party}.csv", "w", encoding="utf-8", newline="") as out:
            csv.writer(out).writerows(rows)
    shutil.copy(DATA / "results" / "india2019_results.csv", root / "data" / "results.csv")
    (root / "configs" / "tiny.yaml").write_text(
        """
mode: binary
data:
  train:
    - {path: data/train.tsv, format: semeval}
cv: {n_splits: 3}
run: {jobs: 1, chunk_size: 200}
""",
        encoding="utf-8",
    )
    (root / "configs" / "elections" / "tiny2019.yaml").write_text(
        """
model: models/tiny.skops
corpus:
  - {path: data/bjp.csv, text_column: tweets, date_column: dates, location_column: location, party: BJP}
  - {path: data/congress.csv, text_column: tweets, date_column: dates, location_column: location, party: INC}
parties:
  - {name: BJP, hashtags: [bjp], keywords: [Modi]}
  - {name: INC, hashtags: [congress], keywords: [Rahul Gandhi]}
seats: {total: 542, rule: hamilton}
results: {path: data/results.csv}
bootstrap: {n_resamples: 200}
run: {jobs: 1, chunk_size: 100}
""",
        encoding="utf-8",
    )
    (root / "pyproject.toml").write_text("[project]\nname = 'tiny'\n", encoding="utf-8")
    return root
