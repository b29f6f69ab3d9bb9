"""The shape of the package: imports run one way (no cycle among feedbackml modules) and no module grows
past what a reader takes in at once."""

from __future__ import annotations

import ast
from pathlib import Path

import feedbackml

PACKAGE = Path(feedbackml.__file__).parent
MAX_LINES = 400
# A ratchet for what the redesign (issue 10) has not reached yet: these may shrink, never grow, and each entry
# goes when its module is split. A new cycle or a new long module fails at once.
KNOWN_CYCLE_EDGES: set[tuple[str, str]] = set()
KNOWN_LONG_MODULES: dict[str, int] = {}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports() -> dict[str, set[str]]:
    """Every feedbackml module and the feedbackml modules it imports, at any depth of its code (function-level
    imports included: a cycle hidden in a function is still a cycle)."""
    modules = {_module_name(path): path for path in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
            elif isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            for target in targets:
                if target in modules and target != name:
                    graph[name].add(target)
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle, ignoring edges into a package's own ``__init__`` from inside that package (re-exports)."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def edges(name: str) -> set[str]:
        return {t for t in graph[name] if not (name.startswith(f"{t}.") and t != "feedbackml")}

    def visit(name: str) -> list[str] | None:
        state[name] = 1
        stack.append(name)
        for target in sorted(edges(name)):
            if state.get(target) == 1:
                return [*stack[stack.index(target) :], target]
            if target not in state and (found := visit(target)):
                return found
        stack.pop()
        state[name] = 2
        return None

    for name in sorted(graph):
        if name not in state and (found := visit(name)):
            return found
    return None


def test_no_import_cycle_among_feedbackml_modules() -> None:
    graph = _imports()
    for source, target in KNOWN_CYCLE_EDGES:
        assert target in graph[source], f"{source} no longer imports {target}: drop it from KNOWN_CYCLE_EDGES"
        graph[source].discard(target)
    cycle = _cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_the_model_package_does_not_import_training_or_export() -> None:
    graph = _imports()
    for name, targets in graph.items():
        if name.startswith("feedbackml.model"):
            assert not targets & {"feedbackml.trainer", "feedbackml.export"}, name


def test_no_module_over_the_line_limit() -> None:
    long = {
        _module_name(path): count
        for path in PACKAGE.rglob("*.py")
        if (count := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    grown = {name: count for name, count in long.items() if count > KNOWN_LONG_MODULES.get(name, MAX_LINES)}
    assert not grown, f"modules over {MAX_LINES} lines (or longer than their ratchet): {grown}"
    assert set(KNOWN_LONG_MODULES) <= set(long), "a module got short: drop it from KNOWN_LONG_MODULES"
