"""What the benchmarks record about the machine they ran on."""

import os
import platform
import re
from importlib import metadata
from pathlib import Path


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
