"""The package's shape: data flows one way (data -> features -> labels -> model -> explain -> score -> report,
the command line on top), and no module imports one of a later stage, not even inside a function.

A new module must be placed in STAGES; an import against the flow fails here with the two modules named.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "kamrisk"

# stage of each top-level module or subpackage of kamrisk; a module may import only its own stage or earlier
STAGES = {
    # foundations: errors, options, durations, where files are, output writing
    "__init__": 0, "_errors": 0, "_options": 0, "_durations": 0, "_resources": 0, "_progress": 0, "_safety": 0,
    "_outputs": 0, "_xlsx": 0, "_status_text": 0,
    # data: reading, validation, the event vocabulary, recipes
    "_cells": 1, "_files": 1, "_vocabulary": 1, "_schema": 1, "_datasets": 1, "_recipe": 1,
    # features and the catalog that declares them
    "_features": 2, "_catalog": 2, "_calendar": 2,
    # labels and stages
    "_labels": 3, "_stages": 3,
    # the model
    "_metrics": 4, "_model": 4,
    # explanations
    "_explain": 5,
    # the trained artifact, scoring one frame, the backtest
    "_trained": 6, "_predict": 6, "_backtest": 6,
    # training, tracking, the MLflow model, batch scoring
    "_train": 7, "_tracking": 7, "_pyfunc": 7, "_pyfunc_code": 7, "_score": 7,
    # what account teams read
    "_report": 8, "_review": 8,
    # entry points and the simulator (which plugs into the product from outside)
    "_cli": 9, "__main__": 9, "spark": 9, "sim": 9,
}


def _top(module: str) -> str:
    return module.split(".")[0]


def _imports(path: Path) -> list[tuple[str, int]]:
    """(kamrisk top-level module, line) of every import in the file, TYPE_CHECKING blocks left out."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    relative_to = path.relative_to(PACKAGE).with_suffix("").parts
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped |= {id(n) for child in node.body for n in ast.walk(child)}
    found = []
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.ImportFrom):
            if node.level == 0:
                if node.module and node.module.startswith("kamrisk."):
                    found.append((node.module.split(".")[1], node.lineno))
                continue
            base = list(relative_to[: len(relative_to) - node.level])
            if path.name == "__init__.py":
                base = list(relative_to[: len(relative_to) - node.level + 1])[:-1] if node.level else base
            parts = [*base, *(node.module.split(".") if node.module else [])]
            if parts:
                found.append((parts[0], node.lineno))
            else:  # from . import x (in the package's __init__)
                found += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.Import):
            found += [(a.name.split(".")[1], node.lineno) for a in node.names if a.name.startswith("kamrisk.")]
    return found


def test_every_module_has_a_stage():
    modules = {p.stem if p.is_file() else p.name for p in PACKAGE.iterdir()
               if (p.suffix == ".py" or (p.is_dir() and (p / "__init__.py").is_file()))}
    assert modules <= set(STAGES), f"place these in STAGES: {sorted(modules - set(STAGES))}"


def test_no_import_runs_against_the_flow():
    against = []
    for path in sorted(PACKAGE.rglob("*.py")):
        own = _top(".".join(path.relative_to(PACKAGE).with_suffix("").parts))
        for target, line in _imports(path):
            if target == own or target not in STAGES or own == "__init__":
                continue
            if STAGES[target] > STAGES[own]:
                against.append(f"{path.relative_to(PACKAGE.parent)}:{line} ({own}, stage {STAGES[own]}) imports "
                               f"{target} (stage {STAGES[target]})")
    assert not against, "imports against the flow:\n" + "\n".join(against)


def test_the_product_never_imports_the_simulator():
    users = []
    for path in sorted(PACKAGE.rglob("*.py")):
        own = _top(".".join(path.relative_to(PACKAGE).with_suffix("").parts))
        if own in ("sim", "_cli", "__init__"):  # the demo and `--simulated` are the command line's
            continue
        users += [f"{path.relative_to(PACKAGE.parent)}:{line}" for target, line in _imports(path) if target == "sim"]
    assert not users, f"the product must work without the simulator: {users}"
