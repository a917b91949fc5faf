"""Writing files and directories so that readers never see half of one.

Everything is written to a temporary name in the destination's directory
(same file system) and renamed into place only when complete. A crash leaves
at most a hidden temporary entry, never a partial result under the final name.
Temporary directories carry the writer's process id
(`.<name>.tmp-<pid>-<random>`), so the next write into the same directory
removes those whose writer is gone, and never one still being written.
"""

import contextlib
import json
import os
import re
import shutil
import tempfile

# A temporary directory of `atomic_directory`: `.<name>.<tmp|old>-<pid>-...`.
_TEMPORARY = re.compile(r"\..+\.(?:tmp|old)-(\d+)-[^/]*")


@contextlib.contextmanager
def atomic_directory(path, overwrite=False):
    """Context manager yielding a temporary directory renamed to `path`.

    Args:
        path: the final directory.
        overwrite: whether an existing `path` is replaced; otherwise an
            existing `path` raises `FileExistsError` before anything is
            written.

    Yields:
        The temporary directory to fill.

    Raises:
        FileExistsError: `path` exists and `overwrite` is `False`.
    """
    path = os.path.abspath(path)
    if os.path.exists(path) and not overwrite:
        raise FileExistsError(
            f"{path} already exists; pick another version or pass --overwrite."
        )
    parent = os.path.dirname(path)
    os.makedirs(parent, exist_ok=True)
    remove_abandoned_directories(parent)
    name = os.path.basename(path)
    tmp = tempfile.mkdtemp(prefix=f".{name}.tmp-{os.getpid()}-", dir=parent)
    try:
        yield tmp
        # `mkdtemp` makes the directory private (0700); readers such as a
        # model server running as another user need to list it.
        os.chmod(tmp, 0o755)
        if os.path.exists(path) and not overwrite:
            # Written meanwhile by another writer: never replaced.
            raise FileExistsError(
                f"{path} was written meanwhile by another process."
            )
        if os.path.exists(path):
            old = tempfile.mkdtemp(
                prefix=f".{name}.old-{os.getpid()}-", dir=parent
            )
            os.replace(path, os.path.join(old, "previous"))
            os.replace(tmp, path)
            shutil.rmtree(old)
        else:
            os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            shutil.rmtree(tmp)


def remove_abandoned_directories(parent):
    """Removes the temporary directories of writers that no longer run.

    A writer killed before its rename (SIGKILL, power loss) leaves its
    `.<name>.tmp-<pid>-...` directory behind; it is removed once no process
    has that id.

    Args:
        parent: the directory holding the final directories.

    Returns:
        The names of the directories removed.
    """
    removed = []
    for entry in os.listdir(parent):
        match = _TEMPORARY.fullmatch(entry)
        if match and not is_running(int(match.group(1))):
            shutil.rmtree(os.path.join(parent, entry), ignore_errors=True)
            removed.append(entry)
    return removed


def is_running(pid):
    """Whether a process with id `pid` exists.

    Args:
        pid: a process id.

    Returns:
        A bool.
    """
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # It exists, under another user.
        return True
    return True


@contextlib.contextmanager
def atomic_path(path, suffix=None):
    """Context manager yielding a temporary file path renamed to `path`.

    The temporary file sits beside `path` and keeps its extension (writers
    such as `Model.save` and `Figure.savefig` choose the format from it).

    Args:
        path: the destination file.
        suffix: the temporary file's ending, when a writer wants more than
            the extension (`".weights.h5"`); default: the extension.

    Yields:
        The temporary path to write.
    """
    path = os.path.abspath(path)
    directory, name = os.path.split(path)
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        prefix=f".{name}.tmp-",
        suffix=suffix or os.path.splitext(name)[1],
        dir=directory,
    )
    os.close(fd)
    try:
        yield tmp
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def atomic_write_bytes(path, data):
    """Writes `data` to `path` through a temporary file and a rename.

    Args:
        path: the destination file.
        data: `bytes` to write.
    """
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            f.write(data)


def atomic_write_json(path, obj):
    """Writes `obj` as indented JSON to `path`, atomically.

    Args:
        path: the destination file.
        obj: a JSON-serializable object.
    """
    atomic_write_bytes(path, (json.dumps(obj, indent=2) + "\n").encode())
