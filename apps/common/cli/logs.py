"""Keeping TensorFlow's own log messages off the command line's stderr.

Importing TensorFlow logs from C++ (CUDA probing, CPU features) and using it
logs more (a failed `cuInit`, `tf.function` retracing); none of it tells a
user of `attn` anything. `hide_tensorflow_logs()` hides those messages unless
`attn --verbose` asks for them. Errors still show: as exceptions, and as
fatal C++ messages.
"""

import contextlib
import logging
import os
import sys
import tempfile
import warnings

# The Python packages whose warnings and log records are hidden.
_PACKAGES = ("tensorflow", "tensorflow_text", "keras", "keras_hub", "absl")


@contextlib.contextmanager
def _stderr_into(file):
    """Points file descriptor 2, which C++ code writes to, at `file`."""
    sys.stderr.flush()
    saved = os.dup(2)
    os.dup2(file.fileno(), 2)
    try:
        yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)


def hide_tensorflow_logs():
    """Hides TensorFlow's log messages and warnings, then imports it.

    Must run before TensorFlow is first imported. Sets
    `TF_CPP_MIN_LOG_LEVEL=3` (C++ messages below fatal are dropped, also in
    the subprocesses started afterwards), raises the Python loggers of
    TensorFlow and absl to errors, ignores the Python warnings of
    `_PACKAGES`, and imports TensorFlow with file descriptor 2 sent to a
    temporary file: what TensorFlow's libraries log before their logging is
    set up ignores the level. When the import fails, that output is written
    to stderr before the error propagates.
    """
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    for name in ("tensorflow", "absl"):
        logging.getLogger(name).setLevel(logging.ERROR)
    for package in _PACKAGES:
        warnings.filterwarnings("ignore", module=rf"{package}(\.|$)")
    with tempfile.TemporaryFile() as captured:
        try:
            with _stderr_into(captured):
                import tensorflow  # noqa: F401
        except BaseException:
            captured.seek(0)
            sys.stderr.write(captured.read().decode("utf-8", "replace"))
            raise
