"""The `attn` command's entry point.

On a layers-only install it says in one line which extra the apps need,
instead of an import traceback; otherwise it runs
`attention_suite.apps.cli.main`.
"""

import sys

from attention_suite.extras import require_apps


def main(argv=None):
    """Runs `attn`.

    Args:
        argv: the arguments after the program name; `None` reads `sys.argv`.

    Returns:
        The exit code.
    """
    try:
        require_apps()
    except ImportError as error:
        print(f"attn: error: {error}", file=sys.stderr)
        return 1
    from attention_suite.apps.cli import main as run

    return run(argv)
