"""Small-group suppression with complementary suppression, so no hidden group or cell can be recovered by
subtracting what is shown from a total that is shown.

Rule (also printed in the report): a group (or wave) with fewer than ``k`` rows is hidden; if the hidden ones
together hold more than 0 and fewer than ``k`` rows, the next smallest are hidden too until they hold at least
``k``. In the group x wave table every cell below ``k`` is hidden, and further cells are hidden until, in each
shown row (group) and shown column (wave), the hidden cells together hold 0 or at least ``k`` rows.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import TypeVar

Key = TypeVar("Key", bound=Hashable)


def _order(item: tuple[Hashable, int]) -> tuple[int, str]:
    return item[1], str(item[0])


def suppress_partition(sizes: Mapping[Key, int], k: int) -> set[Key]:
    """Parts of a partition to hide: those below ``k``, plus the smallest others while the hidden total is
    in (0, k). Ties are broken by name so the result does not depend on file order."""
    hidden = {key for key, size in sizes.items() if size < k}
    hidden_total = sum(sizes[key] for key in hidden)
    visible = sorted(((key, size) for key, size in sizes.items() if key not in hidden), key=_order)
    for key, size in visible:
        if not 0 < hidden_total < k:
            break
        hidden.add(key)
        hidden_total += size
    return hidden


def suppress_cells(
    cells: Mapping[tuple[str, str], int],
    hidden_groups: set[str],
    hidden_waves: set[str],
    k: int,
) -> set[tuple[str, str]]:
    """Cells of a group x wave table to hide. Cells of hidden groups or waves are hidden; cells below ``k``
    are hidden; then, repeatedly, a shown row or column whose hidden cells sum to (0, k) loses its smallest
    shown cell. It ends because cells are only ever added; a shown line can always reach ``k`` because its
    total is at least ``k``."""
    hidden = {
        cell for cell, n in cells.items() if n > 0 and (cell[0] in hidden_groups or cell[1] in hidden_waves or n < k)
    }
    lines: dict[tuple[int, str], list[tuple[str, str]]] = {}
    for cell, n in cells.items():
        if n > 0:
            lines.setdefault((0, cell[0]), []).append(cell)
            lines.setdefault((1, cell[1]), []).append(cell)
    shown_lines = [
        (axis, name)
        for axis, name in lines
        if not (axis == 0 and name in hidden_groups) and not (axis == 1 and name in hidden_waves)
    ]
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
    return hidden
