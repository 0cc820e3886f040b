"""The package layering of DESIGN.md §1, checked on the source: which jaxml packages each package imports
(any ``import``/``from ... import`` anywhere in its files, lazy imports inside functions included)."""
import ast
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
LOWEST = {"data", "models", "report"}
# package -> the other jaxml packages it may import (jaxml.cpu_memory, a process setting, is open to all)
ALLOWED = {
    "data": set(), "models": set(), "report": set(),
    "train": {"report"},
    "recipes": {"models", "train", "report"},
    "evaluate": {"data", "report", "train"},
    "study": {"data", "report", "train"},
    "pretrained": {"models", "data"},
    "rl": LOWEST | {"train"},
    "classic": LOWEST | {"train"},
    "trained": LOWEST | {"train", "study"},
    "testing": LOWEST | {"train", "recipes", "evaluate", "study", "trained"},
}


def imported_packages(folder: pathlib.Path, root: pathlib.Path = ROOT) -> dict[str, str]:
    """{jaxml package imported: one file that imports it} over every .py file under ``folder``."""
    found = {}
    for path in sorted(folder.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module] if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module else [])
            for name in names:
                parts = name.split(".")
                if parts[0] in ("experiments", "bench") or (parts[0] == "jaxml" and len(parts) > 1):
                    found.setdefault(parts[1] if parts[0] == "jaxml" else parts[0], path.relative_to(root).as_posix())
    return found


def test_every_package_is_in_the_table():
    packages = {p.name for p in (ROOT / "jaxml").iterdir() if (p / "__init__.py").exists()}
    assert packages == set(ALLOWED), "add the new package to ALLOWED (and to DESIGN's layers)"


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_imports_follow_the_layers(package):
    imported = imported_packages(ROOT / "jaxml" / package)
    bad = {name: where for name, where in imported.items()
           if name not in ALLOWED[package] | {package, "cpu_memory"}}
    assert not bad, f"jaxml.{package} may import only {sorted(ALLOWED[package])}; it imports {bad}"


def test_a_lazy_forbidden_import_is_found(tmp_path):
    (tmp_path / "m.py").write_text("def f():\n    from jaxml.models.mlp import MLP\n    import experiments.dqn\n"
                                   "from . import sibling\nimport jax\n")
    assert imported_packages(tmp_path, tmp_path) == {"models": "m.py", "experiments": "m.py"}
