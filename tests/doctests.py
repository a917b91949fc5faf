"""Docstring examples as tests: collected from modules, run as doctests."""

import doctest
import io


def examples(modules, globs):
    """The doctests of `modules` that hold examples, sorted by name.

    Args:
        modules: the imported modules.
        globs: a function of a module returning the names its examples see.

    Returns:
        A list of `doctest.DocTest`.
    """
    finder = doctest.DocTestFinder()
    found = [
        test
        for module in modules
        for test in finder.find(module, globs=globs(module))
        if test.examples
    ]
    return sorted(found, key=lambda test: test.name)


def run_example(example):
    """Runs a doctest; asserts each example printed what it shows.

    Args:
        example: a `doctest.DocTest`.
    """
    report = io.StringIO()
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
    result = runner.run(example, out=report.write)
    assert result.attempted > 0
    assert result.failed == 0, report.getvalue()
