"""The documentation site: the command-line reference says what the `attn`
parser says, and the navigation names every page, each of which exists."""

import importlib.util

import yaml
from helpers import REPO

from attention_suite.apps.cli import build_parser

DOCS = REPO / "docs"


def load_cli_reference():
    """Imports `docs/cli_reference.py`, which is not in a package.

    Returns:
        The module.
    """
    path = DOCS / "cli_reference.py"
    spec = importlib.util.spec_from_file_location("cli_reference", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def nav_pages(nav):
    """The pages a MkDocs `nav` names, in order.

    Args:
        nav: the `nav` list of `mkdocs.yml`, or one of its sections.

    Returns:
        The pages' paths, relative to `docs/`.
    """
    pages = []
    for entry in nav:
        target = entry if isinstance(entry, str) else [*entry.values()][0]
        pages += nav_pages(target) if isinstance(target, list) else [target]
    return pages


def test_cli_reference_is_up_to_date():
    reference = load_cli_reference()
    written = reference.PAGE.read_text(encoding="utf-8")
    assert written == reference.render(build_parser()), (
        "docs/cli.md differs from the `attn` parser: run "
        "`python docs/cli_reference.py` and commit docs/cli.md"
    )


def test_navigation_names_every_page_and_each_exists():
    config = yaml.safe_load((REPO / "mkdocs.yml").read_text(encoding="utf-8"))
    pages = nav_pages(config["nav"])
    assert len(pages) == len(set(pages))
    on_disk = {path.relative_to(DOCS).as_posix() for path in DOCS.rglob("*.md")}
    assert set(pages) == on_disk
