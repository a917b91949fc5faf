"""Writes `docs/cli.md`, the reference of every `attn` command.

The page is rendered from the `attn` parser's `argparse` actions (not from
its help text), so it does not depend on the terminal width or the Python
version. Run it after changing a command or an option:

    python docs/cli_reference.py

`tests/test_docs.py` fails while `docs/cli.md` differs from what this
script renders.
"""

import argparse
import pathlib

from attention_suite.apps.cli import build_parser

PAGE = pathlib.Path(__file__).with_name("cli.md")

# What a table cell must escape outside code spans: a cell separator, what
# would open an HTML tag, what would open emphasis.
_ESCAPES = str.maketrans({"|": "\\|", "<": "&lt;", "*": "\\*"})

INTRO = """\
# Command-line reference

<!-- Written by docs/cli_reference.py from the `attn` parser; do not edit. -->

Every `attn` command with its arguments, as `attn <command> --help` gives
them; each command also takes `-h` / `--help`. What the commands do and how
they fit together: [Python API and command line](guide.md).
"""


def _escape(text):
    """Escapes Markdown's table and HTML characters outside code spans.

    Args:
        text: Markdown text whose code spans are in single backticks.

    Returns:
        The text, with `|`, `<` and `*` escaped outside its code spans.
    """
    parts = text.split("`")
    parts[::2] = [part.translate(_ESCAPES) for part in parts[::2]]
    return "`".join(parts)


def _sentence(text):
    """One line of help or description text as an escaped sentence.

    Args:
        text: the text, possibly wrapped over several lines.

    Returns:
        The text on one line, capitalized and ending with a full stop.
    """
    text = " ".join(text.split())
    text = text[:1].upper() + text[1:]
    return _escape(text if text.endswith(".") else text + ".")


def _value(action):
    """What an argument takes: its choices or its metavar with its count.

    Args:
        action: an `argparse.Action`.

    Returns:
        Markdown, empty for a flag.
    """
    if action.nargs == 0:
        return ""
    if action.choices is not None:
        return ", ".join(f"`{choice}`" for choice in action.choices)
    name = action.metavar or (
        action.dest.upper() if action.option_strings else action.dest
    )
    if isinstance(action.nargs, int):
        return f"`{' '.join([name] * action.nargs)}`"
    forms = {
        None: name,
        "?": f"[{name}]",
        "*": f"[{name} ...]",
        "+": f"{name} [{name} ...]",
    }
    return f"`{forms[action.nargs]}`"


def _default(action):
    """An option's default, or that it is required.

    Args:
        action: an `argparse.Action`.

    Returns:
        Markdown, empty when there is no default worth showing (a flag, or a
        default of `None`, `[]` or `argparse.SUPPRESS`). Whether a
        positional argument is required shows in its name (`[text ...]`).
    """
    if action.required and action.option_strings:
        return "required"
    if action.nargs == 0 or action.default in (None, [], argparse.SUPPRESS):
        return ""
    if isinstance(action.default, (list, tuple)):
        return f"`{' '.join(map(str, action.default))}`"
    return f"`{action.default}`"


def _arguments_table(actions):
    """The table of a command's arguments.

    Args:
        actions: the command's `argparse.Action`s, without help and
            subcommand actions.

    Returns:
        A Markdown table, or an empty string when there are no actions.
    """
    if not actions:
        return ""
    rows = ["| argument | value | default | help |", "|---|---|---|---|"]
    for action in actions:
        if action.option_strings:
            names = ", ".join(f"`{name}`" for name in action.option_strings)
            value = _value(action)
        else:  # A positional argument is named by what it takes.
            names, value = _value(action), ""
        help_text = (action.help or "") % vars(action)
        rows.append(
            f"| {names} | {value} | {_default(action)} | {_escape(help_text)} |"
        )
    return "\n".join(rows) + "\n"


def _anchor(name):
    """The anchor of a command's heading (`attn data fetch`)."""
    return "#" + name.replace(" ", "-")


def _commands_table(name, subparsers):
    """The table of a command's subcommands, each linked to its section.

    Args:
        name: the command, e.g. `"attn translate"`.
        subparsers: its `argparse._SubParsersAction`.

    Returns:
        A Markdown table.
    """
    rows = ["| command | what it does |", "|---|---|"]
    for choice in subparsers._choices_actions:
        command = f"{name} {choice.dest}"
        rows.append(
            f"| [`{command}`]({_anchor(command)}) | "
            f"{_escape(choice.help or '')} |"
        )
    return "\n".join(rows) + "\n"


def _sections(parser, name, summary):
    """The sections of a command and of each of its subcommands.

    Args:
        parser: the command's `argparse.ArgumentParser`.
        name: the command, e.g. `"attn translate train"`.
        summary: the help its parent gives it, used when the parser has
            no description.

    Yields:
        One Markdown section per command, the command's own first.
    """
    subparsers = [
        action
        for action in parser._actions
        if isinstance(action, argparse._SubParsersAction)
    ]
    actions = [
        action
        for action in parser._actions
        if not isinstance(
            action, (argparse._HelpAction, argparse._SubParsersAction)
        )
    ]
    parts = [f"## {name}\n"]
    text = parser.description or summary
    if text:
        parts.append(_sentence(text) + "\n")
    parts.append(_arguments_table(actions))
    for group in subparsers:
        parts.append(_commands_table(name, group))
    yield "\n".join(part for part in parts if part)
    for group in subparsers:
        for choice in group._choices_actions:
            subparser = group.choices[choice.dest]
            aliases = [
                alias
                for alias, other in group.choices.items()
                if other is subparser and alias != choice.dest
            ]
            summary = choice.help or ""
            if aliases:
                also = ", ".join(f"`{name} {alias}`" for alias in aliases)
                summary = f"{summary} (also {also})"
            yield from _sections(subparser, f"{name} {choice.dest}", summary)


def render(parser):
    """Renders the reference page of a parser and all its subcommands.

    Args:
        parser: the `attn` `argparse.ArgumentParser`.

    Returns:
        The Markdown page.
    """
    sections = _sections(parser, parser.prog, "")
    return "\n".join([INTRO, *sections])


def main():
    """Writes `docs/cli.md` from the `attn` parser."""
    PAGE.write_text(render(build_parser()), encoding="utf-8")


if __name__ == "__main__":
    main()
