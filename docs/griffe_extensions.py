"""Griffe extensions for the API reference (`mkdocs.yml` loads them).

* `PackageDirs`: setuptools installs the repository's `layers/` and `apps/`
  folders as `attention_suite.layers` and `attention_suite.apps`
  (`[tool.setuptools.package-dir]` in `pyproject.toml`), while Griffe, which
  reads the sources, looks for them inside `attention_suite/`.
* `CallArguments`: the layers document their call arguments, as Keras does,
  in a `Call arguments:` section, which Griffe shows as plain text; this
  makes it a list, one item per argument.
"""

import re

import griffe

# The folders that install as subpackages of `attention_suite`.
SUBPACKAGES = ("layers", "apps")

# An argument's first line in a `Call arguments:` section: `name: text`.
ARGUMENT = re.compile(r"^( {4})(\*{0,2}\w+): ")


class PackageDirs(griffe.Extension):
    """Attaches the `layers/` and `apps/` folders to `attention_suite`."""

    def on_package(self, *, pkg, loader, **kwargs):
        """Loads each folder as a member of `attention_suite`.

        Args:
            pkg: the package Griffe has loaded.
            loader: the `griffe.GriffeLoader` that loaded it.
            **kwargs: the event's other arguments.
        """
        if pkg.name == "attention_suite":
            for name in SUBPACKAGES:
                pkg.set_member(name, loader.load(name))


def list_call_arguments(docstring):
    """Writes the arguments of a `Call arguments:` section as a list.

    Args:
        docstring: a docstring's text, dedented.

    Returns:
        The text, each `name: text` line of the section (indented by four
        spaces) now `- name: text`, with the name as code.
    """
    lines = docstring.splitlines()
    inside = False
    for i, line in enumerate(lines):
        if line == "Call arguments:":
            inside = True
        elif line and not line.startswith(" "):
            inside = False
        elif inside:
            lines[i] = ARGUMENT.sub(r"\1- `\2`: ", line)
    return "\n".join(lines)


class CallArguments(griffe.Extension):
    """Shows each class's `Call arguments:` section as a list."""

    def on_class(self, *, cls, **kwargs):
        """Rewrites the class docstring's `Call arguments:` section.

        Args:
            cls: the class Griffe has loaded.
            **kwargs: the event's other arguments.
        """
        if cls.docstring:
            cls.docstring.value = list_call_arguments(cls.docstring.value)
