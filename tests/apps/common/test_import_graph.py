"""The import graph of `attention_suite.apps`: no cycles, layers one way.

Every `import` statement of every module counts, those inside functions
too: a cycle broken only by a function-level import is still a cycle.
`apps/common`'s subpackages import only those before them in `LAYERS`, and
nothing in `apps/common` imports an app.
"""

import ast
import pathlib

from attention_suite import apps

ROOT = pathlib.Path(apps.__file__).parent
PACKAGE = "attention_suite.apps"
LAYERS = ("data", "training", "generation", "serving", "cli")


def _module_name(path):
    parts = path.relative_to(ROOT).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join((PACKAGE, *parts))


def _graph():
    """Maps each module to the project modules it imports."""
    modules = {_module_name(p): p for p in ROOT.rglob("*.py")}
    graph = {}
    for name, path in modules.items():
        targets = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                found = [node.module] + [
                    f"{node.module}.{alias.name}" for alias in node.names
                ]
            else:
                continue
            targets.update(t for t in found if t in modules)
        # A package's own `__init__` is not an edge back from its modules.
        graph[name] = (
            targets
            - {name}
            - {name.rsplit(".", i)[0] for i in range(1, name.count("."))}
        )
    return graph


def _cycle(graph):
    """One import cycle as a list of modules, or `None`."""
    state = {}

    def visit(module, stack):
        state[module] = "open"
        stack.append(module)
        for target in sorted(graph[module]):
            if state.get(target) == "open":
                return stack[stack.index(target) :] + [target]
            if target not in state:
                found = visit(target, stack)
                if found:
                    return found
        stack.pop()
        state[module] = "done"
        return None

    for module in sorted(graph):
        if module not in state:
            found = visit(module, [])
            if found:
                return found
    return None


def _layer(module):
    parts = module.split(".")
    if len(parts) < 4 or parts[2] != "common":
        return None
    return LAYERS.index(parts[3])


def test_the_apps_import_graph_has_no_cycle():
    graph = _graph()
    assert len(graph) > 50
    assert _cycle(graph) is None, " -> ".join(_cycle(graph))


def test_a_cycle_is_found():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycle(graph) == ["a", "b", "c", "a"]


def test_common_imports_run_one_way_and_never_into_an_app():
    wrong = []
    for module, targets in _graph().items():
        layer = _layer(module)
        if layer is None:
            continue
        for target in targets:
            below = _layer(target)
            if below is None or below > layer:
                wrong.append(f"{module} imports {target}")
    assert not wrong, "\n".join(sorted(wrong))


def test_a_module_that_imports_late_says_why():
    silent = []
    for path in ROOT.rglob("*.py"):
        tree = ast.parse(path.read_text())
        late = any(
            isinstance(inner, (ast.Import, ast.ImportFrom))
            for node in ast.walk(tree)
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
            for inner in ast.walk(node)
        )
        if late and "import" not in (ast.get_docstring(tree) or "").lower():
            silent.append(_module_name(path))
    assert not silent, silent
