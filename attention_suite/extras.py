"""What each install tier brings, and a clear error when one is missing.

`pip install attention-suite` installs the layers (Keras and NumPy);
`pip install "attention-suite[apps]"` adds what the apps import.
"""

import importlib.util

# Modules of the `apps` extra that `attention_suite.apps` imports.
APPS_MODULES = (
    "tensorflow",
    "tensorflow_text",
    "keras_hub",
    "sentencepiece",
    "pandas",
    "matplotlib",
    "tqdm",
)


def require_apps():
    """Refuses, in one line, to import the apps without their extra.

    Raises:
        ImportError: a module of the `apps` extra is not installed; the
            message names the extra to install.
    """
    missing = [m for m in APPS_MODULES if importlib.util.find_spec(m) is None]
    if missing:
        raise ImportError(
            "attention_suite.apps needs the 'apps' extra (missing: "
            f'{", ".join(missing)}): pip install "attention-suite[apps]"'
        )
