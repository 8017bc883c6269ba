"""The import rule of docs/architecture.md, read off the source.

- The engine imports no adapter (cli/, and any other door mapped into the package).
- Only engine/durable_backend.py imports durable_rules (`durable`, `durable_rules_engine`).
- Adapters use the engine's public face, `itb_triage.engine`, never its submodules,
  and no adapter imports another.
- No import cycles, counting imports inside functions (they only hide a cycle).
- The plain-Python side of the engine really runs without durable_rules: importing it
  in a fresh process loads no part of durable_rules.

Modules are found from pyproject.toml's package-dir, so a new folder is covered the day
it is mapped.
"""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "itb_triage"
ENGINE = f"{PACKAGE}.engine"
BACKEND = f"{ENGINE}.durable_backend"
DURABLE = ("durable", "durable_rules_engine")
DATA = {f"{PACKAGE}.rules", f"{PACKAGE}.knowledge", f"{PACKAGE}.knowledge.schemas"}  # data, no code
# The adapter pairs allowed (docs/architecture.md): the web app may mount the FHIR routes,
# and the command line's `serve` starts the web app (handing it the CLI's report writer).
# serve mounts the FHIR routes; the command line is the one entry point, so its `serve`
# and `fhir` commands start those doors (inside the command, imported late).
ADAPTER_EXCEPTIONS = {
    (f"{PACKAGE}.web", f"{PACKAGE}.fhir"),
    (f"{PACKAGE}.cli", f"{PACKAGE}.web"),
    (f"{PACKAGE}.cli", f"{PACKAGE}.fhir"),
}


@dataclass(frozen=True)
class Import:
    importer: str
    imported: str  # the module as written, resolved to absolute
    names: tuple[str, ...]  # for `from X import a, b`
    line: int
    type_checking_only: bool

    def where(self) -> str:
        return f"{self.importer}:{self.line} imports {self.imported}"


def _packages() -> dict[str, Path]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return {name: ROOT / folder for name, folder in config["tool"]["setuptools"]["package-dir"].items()}


def _modules() -> dict[str, Path]:
    modules = {}
    for package, folder in _packages().items():
        for path in sorted(folder.glob("*.py")):
            modules[package if path.stem == "__init__" else f"{package}.{path.stem}"] = path
    return modules


def _type_checking_lines(tree: ast.Module) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for inner in node.body:
                lines.update(range(inner.lineno, (inner.end_lineno or inner.lineno) + 1))
    return lines


def _imports(module: str, path: Path) -> Iterator[Import]:
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    guarded = _type_checking_lines(tree)
    package = module if path.stem == "__init__" else module.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield Import(module, alias.name, (), node.lineno, node.lineno in guarded)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            yield Import(module, base, tuple(a.name for a in node.names), node.lineno, node.lineno in guarded)


MODULES = _modules()
IMPORTS = [imp for module, path in MODULES.items() for imp in _imports(module, path)]
ADAPTERS = sorted(p for p in _packages() if p not in {PACKAGE, ENGINE, *DATA})


def _within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def _adapter_of(module: str) -> str | None:
    return next((a for a in ADAPTERS if _within(module, a)), None)


def test_the_modules_are_found() -> None:
    # The checks below would pass vacuously if the walk found nothing.
    assert f"{ENGINE}.triage" in MODULES and BACKEND in MODULES
    assert f"{PACKAGE}.cli" in ADAPTERS
    assert any(_within(i.imported, ENGINE) for i in IMPORTS if _adapter_of(i.importer))
    assert any(i.imported == "durable_rules_engine" for i in IMPORTS)


def test_the_engine_imports_no_adapter() -> None:
    bad = [i.where() for i in IMPORTS if _within(i.importer, ENGINE) and _adapter_of(i.imported)]
    assert bad == []


def test_only_the_backend_imports_durable_rules() -> None:
    bad = [i.where() for i in IMPORTS
           if i.imported.split(".")[0] in DURABLE and i.importer != BACKEND]
    assert bad == []


def test_adapters_use_the_engines_public_face() -> None:
    bad = [i.where() for i in IMPORTS
           if _adapter_of(i.importer) and _within(i.imported, ENGINE) and i.imported != ENGINE]
    assert bad == [], "import these from itb_triage.engine (add the name to engine/__init__.py if it is new)"


def test_no_adapter_imports_another() -> None:
    bad = [
        i.where() for i in IMPORTS
        if (mine := _adapter_of(i.importer)) and (theirs := _adapter_of(i.imported)) and mine != theirs
        and (mine, theirs) not in ADAPTER_EXCEPTIONS
    ]
    assert bad == []


def test_every_public_name_is_typed_and_importable() -> None:
    import itb_triage.engine as engine

    init = MODULES[ENGINE]
    typed = {name for i in _imports(ENGINE, init) if i.type_checking_only for name in i.names}
    assert typed == set(engine.__all__), "engine/__init__.py: _EXPORTS and the TYPE_CHECKING imports differ"
    for name in engine.__all__:
        assert getattr(engine, name) is not None, name


def _cycles() -> list[set[str]]:
    """Strongly connected groups of modules (Tarjan), over imports that run."""
    edges: dict[str, set[str]] = {m: set() for m in MODULES}
    for i in IMPORTS:
        if i.type_checking_only:
            continue
        for name in i.names or ("",):
            target = f"{i.imported}.{name}" if f"{i.imported}.{name}" in MODULES else i.imported
            if target in MODULES and target != i.importer:
                edges[i.importer].add(target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[set[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        for other in edges[module]:
            if other not in index:
                visit(other)
                low[module] = min(low[module], low[other])
            elif other in stack:
                low[module] = min(low[module], index[other])
        if low[module] == index[module]:
            group = set()
            while True:
                member = stack.pop()
                group.add(member)
                if member == module:
                    break
            if len(group) > 1:
                groups.append(group)

    for module in MODULES:
        if module not in index:
            visit(module)
    return groups


def test_no_import_cycle() -> None:
    """cli/main.py and cli/report.py imported each other until the shared helpers moved to cli/common.py."""
    assert [sorted(group) for group in _cycles()] == []


def test_the_plain_python_side_of_the_engine_loads_no_durable_rules() -> None:
    light = [f"{ENGINE}.{m}" for m in ("triage", "aggregate", "python_backend", "relevance", "critical",
                                       "interview", "derivations", "whynot", "whatif", "plan")]
    code = (
        "import importlib, sys\n"
        f"for name in {light!r}: importlib.import_module(name)\n"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {DURABLE!r}))\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert run.stdout.strip() == "[]"
