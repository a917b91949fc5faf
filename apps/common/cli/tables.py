"""Markdown tables for the reports that the apps print and write."""

_RULES = {"l": "---", "r": "---:"}


def markdown_table(header, rows, align=None):
    """A Markdown (GitHub-flavoured) table.

    Args:
        header: list of column titles.
        rows: list of rows, each a list of already-formatted cells, one per
            column.
        align: string of `"l"` (left) or `"r"` (right), one letter per
            column. Defaults to the first column left and the rest right.

    Returns:
        The table as a string, one line per row, ending in a newline.

    Raises:
        ValueError: `align` or a row does not have one entry per column, or
            `align` holds a letter other than `"l"` and `"r"`.

    Example:

    >>> print(markdown_table(["method", "BLEU"], [["greedy", "27.31"]]), end="")
    | method | BLEU |
    |---|---:|
    | greedy | 27.31 |
    """
    columns = len(header)
    if align is None:
        align = "l" + "r" * (columns - 1)
    if len(align) != columns or set(align) - set(_RULES):
        raise ValueError(
            f"align must be {columns} letters 'l' or 'r', got {align!r}"
        )
    for row in rows:
        if len(row) != columns:
            raise ValueError(
                f"each row must have {columns} cells, got {len(row)}: {row!r}"
            )
    rule = "|" + "|".join(_RULES[letter] for letter in align) + "|\n"
    lines = [_row(header), rule, *(_row(row) for row in rows)]
    return "".join(lines)


def _row(cells):
    return "| " + " | ".join(str(cell) for cell in cells) + " |\n"
