"""The notebooks: committed without outputs, parametrized for papermill, and run headless.

Each notebook is executed with papermill on the ``python3`` kernel, with the small parameters
below, and must produce its plots. The checks of the committed files need no kernel and run
in a moment; the executions are marked ``slow`` and ``notebooks``.
"""

from __future__ import annotations

import ast
import base64
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import papermill
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK_DIR = ROOT / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
NAME_RE = re.compile(r"^\d{2}-[a-z0-9]+(?:-[a-z0-9]+)*\.ipynb$")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

# Two of the eleven SemEval files, 7,999 rows: enough for 15 folds of a small sample.
SMALL_TRAIN_FILES = [
    "data/semeval2017/twitter-2016train-A.txt.gz",
    "data/semeval2017/twitter-2016dev-A.txt.gz",
]

# Parameters that keep each run to seconds. Every notebook must have an entry. A notebook that
# has an `output_dir` parameter writes into the test's temporary folder.
SMALL_PARAMETERS: dict[str, dict] = {
    "01-data.ipynb": {"max_rows": 300, "jobs": 2, "chunk_size": 100},
    "02-model.ipynb": {
        "train_files": SMALL_TRAIN_FILES,
        "sample_size": 1200,
        "n_splits": 15,
        "jobs": 2,
        "baseline_sample": 300,
    },
    "03-forecast.ipynb": {
        "train_files": SMALL_TRAIN_FILES,
        "train_sample": 1500,
        "corpus_rows": 500,
        "n_resamples": 60,
        "backtest_resamples": 20,
        "jobs": 2,
    },
}

# Plots each notebook draws; an executed copy must contain at least this many PNG images.
EXPECTED_IMAGES = {"01-data.ipynb": 5, "02-model.ipynb": 4, "03-forecast.ipynb": 8}


def notebook_ids() -> list[str]:
    return [path.name for path in NOTEBOOKS]


def read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=nbformat.NO_CONVERT)


def parameter_cells(notebook: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    return [cell for cell in notebook.cells if "parameters" in cell.metadata.get("tags", [])]


def assigned_names(source: str) -> set[str]:
    names = set()
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign):
            names.update(target.id for target in node.targets if isinstance(target, ast.Name))
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names.add(node.target.id)
    return names


def png_images(notebook: nbformat.NotebookNode) -> list[bytes]:
    images = []
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if "image/png" in data:
                images.append(base64.b64decode(data["image/png"]))
    return images


def test_notebooks_exist_with_small_parameters():
    assert NOTEBOOKS, f"no notebooks in {NOTEBOOK_DIR}"
    assert set(notebook_ids()) == set(SMALL_PARAMETERS)
    assert set(notebook_ids()) == set(EXPECTED_IMAGES)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=notebook_ids())
def test_notebook_name_is_numbered(path):
    assert NAME_RE.match(path.name), f"{path.name} must be named NN-topic.ipynb"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=notebook_ids())
def test_committed_notebook_has_no_outputs(path):
    notebook = read(path)
    nbformat.validate(notebook)
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "code":
            continue
        assert cell.outputs == [], f"{path.name} cell {index} has outputs; run nbstripout"
        assert cell.execution_count is None, (
            f"{path.name} cell {index} has an execution count; run nbstripout"
        )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=notebook_ids())
def test_nbstripout_leaves_notebook_unchanged(path):
    # The same check as the pre-commit hook: a stripped notebook is a fixed point.
    completed = subprocess.run(
        [sys.executable, "-m", "nbstripout", "--verify", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr


@pytest.mark.parametrize("path", NOTEBOOKS, ids=notebook_ids())
def test_notebook_has_one_parameters_cell(path):
    cells = parameter_cells(read(path))
    assert len(cells) == 1, f"{path.name} must have exactly one cell tagged `parameters`"
    assert cells[0].cell_type == "code"
    names = assigned_names(cells[0].source)
    unknown = set(SMALL_PARAMETERS[path.name]) - names
    assert not unknown, f"{path.name}: the parameters cell does not set {sorted(unknown)}"
    assert "project_root" in names


@pytest.mark.parametrize("path", NOTEBOOKS, ids=notebook_ids())
def test_notebook_imports_seatcast(path):
    imported = set()
    for cell in read(path).cells:
        if cell.cell_type != "code":
            continue
        for node in ast.walk(ast.parse(cell.source)):
            if isinstance(node, ast.Import):
                imported.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module:
                imported.add(node.module.split(".")[0])
    assert "seatcast" in imported


@pytest.mark.slow
@pytest.mark.notebooks
@pytest.mark.parametrize("path", NOTEBOOKS, ids=notebook_ids())
def test_notebook_runs_headless(path, tmp_path):
    parameters = dict(SMALL_PARAMETERS[path.name])
    if "output_dir" in assigned_names(parameter_cells(read(path))[0].source):
        parameters["output_dir"] = str(tmp_path / "outputs")
    before = path.read_bytes()
    executed_path = tmp_path / path.name

    papermill.execute_notebook(
        str(path),
        str(executed_path),
        parameters=parameters,
        kernel_name="python3",
        cwd=str(NOTEBOOK_DIR),
        progress_bar=False,
        execution_timeout=600,
    )

    executed = read(executed_path)
    errors = [
        output
        for cell in executed.cells
        for output in cell.get("outputs", [])
        if output.get("output_type") == "error"
    ]
    assert errors == []
    images = png_images(executed)
    assert len(images) >= EXPECTED_IMAGES[path.name], (
        f"{path.name} produced {len(images)} plots, expected {EXPECTED_IMAGES[path.name]}"
    )
    assert all(image.startswith(PNG_MAGIC) for image in images)
    assert path.read_bytes() == before, "executing must not change the committed notebook"
