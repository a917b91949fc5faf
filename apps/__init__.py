"""The apps built on the layers, the code they share and the `attn` CLI."""

from attention_suite.extras import require_apps

if __name__ != "attention_suite.apps":
    # The repository folder imported as a top-level package (e.g. `import
    # apps` run from the repository root) is not the installed package.
    raise ImportError(
        "Import the apps as `attention_suite.apps`, not as `" + __name__ + "`."
    )
# A layers-only install (no `apps` extra) is told which extra to install.
require_apps()
