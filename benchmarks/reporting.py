"""What every benchmark records: the machine it ran on, and its results files."""

import json
import os
import platform
import re
from importlib import metadata
from pathlib import Path

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def machine_info():
    """CPU, memory and library versions of this machine.

    Returns:
        A JSON-serializable dict.
    """
    cpuinfo = Path("/proc/cpuinfo").read_text()
    meminfo = Path("/proc/meminfo").read_text()
    memory_kib = int(re.search(r"MemTotal:\s+(\d+)", meminfo).group(1))
    return {
        "cpu": re.search(r"model name\s*:\s*(.*)", cpuinfo).group(1),
        "cores": len(os.sched_getaffinity(0)),
        "memory_gib": round(memory_kib / 2**20, 1),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "versions": {
            name: metadata.version(name)
            for name in ("keras", "tensorflow", "jax", "jaxlib", "torch")
        },
    }


def write_results(name, results, table):
    """Writes `results/<name>.json` and `results/<name>.md`.

    Args:
        name: the benchmark's name, e.g. `"layers"`.
        results: the JSON-serializable results.
        table: their Markdown summary.
    """
    RESULTS_DIR.mkdir(exist_ok=True)
    (RESULTS_DIR / f"{name}.json").write_text(json.dumps(results, indent=2) + "\n")
    (RESULTS_DIR / f"{name}.md").write_text(table)
