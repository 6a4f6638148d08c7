"""The package's layering, read from its source: ``bin/`` is the top floor (nothing imports it),
nothing installed imports the test suite or the research scripts of ``benchmarks/``, and no two
modules import each other, directly or in a ring (deferred imports inside functions count too:
they hide a cycle, they do not remove it).
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Dict, List, Set

PACKAGE = Path(__file__).resolve().parents[1] / "espnet_distill"


def _modules() -> Dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def _imports(name: str, path: Path, modules: Dict[str, Path]) -> Set[str]:
    """Every module ``name`` imports anywhere in its source (``from pkg import sub`` is ``pkg.sub``)."""
    found = set()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([node.module] if node.module else []))
            for alias in node.names:
                found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base)
    return found - {name}


def _graph():
    modules = _modules()
    return {name: _imports(name, path, modules) for name, path in modules.items()}, modules


def _cycles(graph: Dict[str, Set[str]]) -> List[List[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: Dict[str, int] = {}
    low: Dict[str, int] = {}
    stack: List[str] = []
    found: List[List[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph.get(v, ()):
            if w not in graph:
                continue
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_nothing_below_bin_imports_bin_or_the_tests():
    graph, _ = _graph()
    bad = sorted(f"{m} imports {d}" for m, deps in graph.items() if not m.startswith("espnet_distill.bin")
                 for d in deps if d == "espnet_distill.bin" or d.startswith("espnet_distill.bin."))
    bad += sorted(f"{m} imports {d}" for m, deps in graph.items() for d in deps
                  if d.split(".")[0] in ("tests", "benchmarks"))
    assert not bad, "\n".join(bad)


def test_test_oracles_are_not_installed():
    """The fake-checkpoint writers are test oracles (tests/oracles), not an ``espnet_distill.testing``."""
    _, modules = _graph()
    assert not (PACKAGE / "testing").exists()
    assert not [m for m in modules if m.startswith("espnet_distill.testing")]
    assert (PACKAGE.parent / "tests" / "oracles" / "teachers.py").is_file()


def test_no_import_cycle():
    graph, _ = _graph()
    assert _cycles(graph) == []


def test_the_check_sees_a_cycle():
    """The check itself finds a ring and ignores imports of other packages."""
    assert _cycles({"a": {"b"}, "b": {"c", "torch"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    graph, modules = _graph()
    assert "espnet_distill.teacher.hub" in graph["espnet_distill.teacher.load"]  # from pkg import submodule
    assert len(modules) > 80


#: fact -> (how it is spelled, the one file allowed to spell it)
ONE_OWNER = {
    "the frame-length formula": (r'rounding_mode="floor"|// stride \+ 1', "frames.py"),
    "the padding mask": (r"arange\([^\n]*\)\[None, :\] *(>=|<) ", "frames.py"),
    "SAMPLE_RATE": (r"^SAMPLE_RATE\s*=", "common.py"),
    "the atomic write": (r"\bos\.replace\(|\.rename\(", "common.py"),
    "Pathlike": (r"^Pathlike\s*=", "common.py"),
}


def test_one_owner_for_each_fact():
    import re

    spelled = {fact: sorted(str(p.relative_to(PACKAGE)) for p in PACKAGE.rglob("*.py")
                            if re.search(pattern, p.read_text(), re.M))
               for fact, (pattern, _) in ONE_OWNER.items()}
    assert spelled == {fact: [owner] for fact, (_, owner) in ONE_OWNER.items()}
