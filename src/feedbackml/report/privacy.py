"""Small-group suppression with complementary suppression, so no hidden group or cell can be recovered by
subtracting what is shown from a total that is shown.

Rule (also printed in the report): a group (or wave) with fewer than ``k`` rows is hidden; if the hidden ones
together hold more than 0 and fewer than ``k`` rows, the next smallest are hidden too until they hold at least
``k``. In the group x wave table (and the internal-customer map) every cell below ``k`` is hidden, and further
cells are hidden until, in each shown row and column, the hidden cells together hold 0 or at least ``k`` rows and
no hidden cell below ``k`` can be computed exactly from the shown cells and totals.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping, Set
from typing import TypeVar

Key = TypeVar("Key", bound=Hashable)


def _order(item: tuple[Hashable, int]) -> tuple[int, str]:
    return item[1], str(item[0])


def suppress_partition(sizes: Mapping[Key, int], k: int, already: Set[Key] = frozenset()) -> set[Key]:
    """Parts of a partition to hide: those below ``k`` (and those ``already`` hidden for another reason), plus
    the smallest others while the hidden total is in (0, k). Ties are broken by name so the result does not
    depend on file order."""
    hidden = {key for key, size in sizes.items() if size < k or key in already}
    hidden_total = sum(sizes[key] for key in hidden)
    visible = sorted(((key, size) for key, size in sizes.items() if key not in hidden), key=_order)
    for key, size in visible:
        if not 0 < hidden_total < k:
            break
        hidden.add(key)
        hidden_total += size
    return hidden


def suppress_table(
    cells: Mapping[tuple[str, str], int],
    k: int,
    hidden_rows: Set[str] = frozenset(),
    hidden_columns: Set[str] = frozenset(),
) -> tuple[set[str], set[str], set[tuple[str, str]]]:
    """Rows, columns and cells of a two-way table to hide, when the report shows the shown cells, the totals of
    the shown rows and columns, and the table's total (which must be at least ``k``).

    Rows and columns are partitions of the total (``suppress_partition``, starting from those already hidden
    for another reason); cells of hidden lines and cells below ``k`` are hidden; then, repeatedly, a shown line
    whose hidden cells hold (0, k) loses its smallest shown cell, and a hidden cell below ``k`` that could still
    be computed exactly (``derivable``) costs one of its lines a shown cell or, when they have none left, the
    smaller of its lines is hidden whole. It ends because something is hidden on every round."""
    row_totals: dict[str, int] = {}
    column_totals: dict[str, int] = {}
    for (row, column), n in cells.items():
        row_totals[row] = row_totals.get(row, 0) + n
        column_totals[column] = column_totals.get(column, 0) + n
    rows, columns = set(hidden_rows), set(hidden_columns)
    while True:
        rows = suppress_partition(row_totals, k, rows)
        columns = suppress_partition(column_totals, k, columns)
        hidden, exposed = _hide_cells(cells, rows, columns, k)
        if not exposed:
            return rows, columns, hidden
        row, column = exposed
        lines = [(row_totals[row], 0, row)] if row not in rows else []
        lines += [(column_totals[column], 1, column)] if column not in columns else []
        if not lines:  # pinned through other lines and the grand total: hide the smallest line still shown
            touched = {line for cell in hidden for line in ((0, cell[0]), (1, cell[1]))}
            lines = [
                ((row_totals if axis == 0 else column_totals)[name], axis, name)
                for axis, name in touched
                if name not in (rows if axis == 0 else columns)
            ]
        if not lines:  # every line hidden: only the grand total is shown, and it pins nothing of two cells
            return rows, columns, hidden
        _, axis, name = min(lines)
        (rows if axis == 0 else columns).add(name)


def _hide_cells(
    cells: Mapping[tuple[str, str], int], hidden_rows: set[str], hidden_columns: set[str], k: int
) -> tuple[set[tuple[str, str]], tuple[str, str] | None]:
    """Cells to hide for fixed hidden lines, and an exposed cell that no further cell of its lines can cover."""
    hidden = {
        cell for cell, n in cells.items() if n > 0 and (cell[0] in hidden_rows or cell[1] in hidden_columns or n < k)
    }
    lines: dict[tuple[int, str], list[tuple[str, str]]] = {}
    for cell, n in cells.items():
        if n > 0:
            lines.setdefault((0, cell[0]), []).append(cell)
            lines.setdefault((1, cell[1]), []).append(cell)
    shown_lines = [
        (axis, name)
        for axis, name in lines
        if not (axis == 0 and name in hidden_rows) and not (axis == 1 and name in hidden_columns)
    ]
    while True:
        _complete_lines(cells, hidden, lines, shown_lines, k)
        exposed = derivable(cells, hidden, [lines[line] for line in shown_lines], k)
        if not exposed:
            return hidden, None
        cell = min(exposed, key=lambda c: (cells[c], str(c)))
        # Best: the shown corner that closes a rectangle of hidden cells with it (a cycle leaves every cell of
        # it free); else any shown cell of its lines.
        row, column = cell
        corners = [
            m
            for m, n in cells.items()
            if n > 0 and m not in hidden and (row, m[1]) in hidden and (m[0], column) in hidden
        ]
        near = corners or [m for line in shown_lines if cell in lines[line] for m in lines[line] if m not in hidden]
        if not near:
            return hidden, cell
        hidden.add(min(near, key=lambda c: (cells[c], str(c))))


def _complete_lines(
    cells: Mapping[tuple[str, str], int],
    hidden: set[tuple[str, str]],
    lines: dict[tuple[int, str], list[tuple[str, str]]],
    shown_lines: list[tuple[int, str]],
    k: int,
) -> None:
    """Hide cells until every shown line's hidden cells hold 0 or at least ``k``."""
    changed = True
    while changed:
        changed = False
        for line in sorted(shown_lines):
            members = lines[line]
            hidden_total = sum(cells[cell] for cell in members if cell in hidden)
            candidates = sorted(((cell, cells[cell]) for cell in members if cell not in hidden), key=_order)
            for cell, n in candidates:
                if not 0 < hidden_total < k:
                    break
                hidden.add(cell)
                hidden_total += n
                changed = True


def derivable(
    cells: Mapping[tuple[str, str], int],
    hidden: Set[tuple[str, str]],
    shown_lines: list[list[tuple[str, str]]],
    k: int,
) -> list[tuple[str, str]]:
    """Hidden cells below ``k`` whose exact value follows from what is shown: the shown cells, the total of
    every shown line and the grand total. A cell is determined when every solution of those linear equations
    gives it the same value, i.e. when its unit vector lies in the row space of the equations. (Bounds from
    non-negativity can still narrow a hidden cell to a range; only exact recovery is ruled out.)"""
    import numpy as np

    unknown = sorted(cell for cell in hidden if cells.get(cell, 0) > 0)
    if not unknown:
        return []
    position = {cell: index for index, cell in enumerate(unknown)}
    equations = [[position[cell] for cell in members if cell in position] for members in shown_lines]
    equations.append(list(range(len(unknown))))  # the grand total
    matrix = np.zeros((len(equations), len(unknown)))
    for row, columns in enumerate(equations):
        matrix[row, columns] = 1.0
    _, singular, vh = np.linalg.svd(matrix, full_matrices=False)
    row_space = vh[: int((singular > 1e-9).sum())]
    # a unit vector lies in the row space (the cell is pinned) exactly when its projection keeps length 1
    free = (row_space**2).sum(axis=0) < 1 - 1e-9
    return [cell for cell, is_free in zip(unknown, free, strict=True) if not is_free and cells[cell] < k]


def suppress_pairs(
    pairs: Mapping[tuple[str, str], int], hidden_groups: Set[str], k: int
) -> tuple[set[str], set[str], set[tuple[str, str]]]:
    """Rows (writers' groups), columns (departments written about) and cells of the internal-customer map to
    hide. A comment about two departments is in two cells, so the margins are the sums of the cells; a hidden
    group is hidden as a row and also as a column (a department too small to show its own comments is too small
    to be named as a target)."""
    rows = {writer for writer, _ in pairs} & set(hidden_groups)
    columns = {about for _, about in pairs} & set(hidden_groups)
    return suppress_table(pairs, k, rows, columns)
