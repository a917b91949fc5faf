"""Every notebook in `notebooks/` is stored with the outputs of a run and
runs again here, into a copy: a cell that raises fails it."""

import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted(
    (Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb")
)


def execute(notebook, cwd):
    """Runs all cells of `notebook` in place, in a `python3` kernel.

    Args:
        notebook: an `nbformat.NotebookNode`.
        cwd: the working directory of the kernel.

    Raises:
        nbclient.exceptions.CellExecutionError: a cell raised.
    """
    NotebookClient(
        notebook,
        kernel_name="python3",
        timeout=300,
        resources={"metadata": {"path": str(cwd)}},
    ).execute()


def test_kernel_runs_in_this_environment(tmp_path):
    notebook = nbformat.v4.new_notebook(
        cells=[nbformat.v4.new_code_cell("import sys\nprint(sys.prefix)")]
    )
    execute(notebook, tmp_path)
    assert notebook.cells[0].outputs[0]["text"].strip() == sys.prefix


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.name)
def test_notebook_is_stored_with_its_outputs(path):
    # What `tests/refresh_notebooks.py` writes: every cell run, the plots
    # shown, nothing of the machine it ran on.
    text = path.read_text(encoding="utf-8")
    notebook = nbformat.reads(text, as_version=4)
    nbformat.validate(notebook)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert all(cell.execution_count for cell in code)
    outputs = [output for cell in code for output in cell.outputs]
    assert any("image/png" in output.get("data", {}) for output in outputs)
    assert not any(output.get("name") == "stderr" for output in outputs)
    assert len(text.encode()) < 300_000
    for root in ("/tmp/", "/home/", "/root/", "/Users/", "site-packages"):
        assert root not in text, root


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.name)
def test_notebook_runs(path, tmp_path):
    execute(nbformat.read(path, as_version=4), tmp_path)
