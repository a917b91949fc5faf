"""Re-runs every notebook and stores it with its outputs.

    python tests/refresh_notebooks.py

Each notebook runs in a fresh `python3` kernel in a temporary directory,
without cell timings; the outputs (tables, printed answers, the plots as
PNG) are written back into `notebooks/`, so a reader sees them without
running anything. Standard error and TensorFlow's log lines (start-up
notices, retracing warnings, paths of this machine) are left out.
`tests/test_notebooks.py` checks what is stored and runs each notebook again
into a copy.
"""

import tempfile
from pathlib import Path

import nbformat
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def refresh(path):
    """Runs one notebook and writes it back with its outputs.

    Args:
        path: the `.ipynb` file.
    """
    notebook = nbformat.read(path, as_version=4)
    with tempfile.TemporaryDirectory() as tmp:
        NotebookClient(
            notebook,
            kernel_name="python3",
            timeout=600,
            record_timing=False,
            resources={"metadata": {"path": tmp}},
        ).execute()
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs = [_kept(o) for o in cell.outputs]
            cell.outputs = [o for o in cell.outputs if o is not None]
    nbformat.write(notebook, path)


def _kept(output):
    """An output without its log lines, or `None` when nothing is left."""
    if output.output_type != "stream":
        return output
    if output.name == "stderr":
        return None
    lines = output.text.splitlines(keepends=True)
    output.text = "".join(
        line for line in lines if not line.startswith("WARNING:tensorflow")
    )
    return output if output.text else None


if __name__ == "__main__":
    for path in sorted(NOTEBOOKS.glob("*.ipynb")):
        refresh(path)
        print(f"{path.name}: {path.stat().st_size / 1024:.0f} kB")
