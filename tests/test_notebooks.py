"""The tutorials in notebooks/ are committed without outputs, use the public API only, and run end to end.

Each notebook runs in a fresh ``python3`` kernel of this interpreter (ipykernel, pip-installed: jupyter_client
starts ``sys.executable -m ipykernel_launcher``), with a small book (``KAMRISK_NB_ACCOUNTS``,
``KAMRISK_NB_FOLDS``) and a working folder of the test (``KAMRISK_NB_WORKDIR``) whose MLflow store the
notebooks share, in order: 03 scores the champion 01 registered (and trains one when run alone).
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

FOLDER = Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOKS = sorted(FOLDER.glob("[0-9][0-9]_*.ipynb"))
ALLOWED_IMPORTS = {"kamrisk", "pandas", "matplotlib", "mlflow", "os", "pathlib", "tempfile", "importlib", "shutil"}
ACCOUNTS = "300"
FOLDS = "2"


def _code_cells(path: Path) -> list[dict]:
    return [c for c in json.loads(path.read_text(encoding="utf-8"))["cells"] if c["cell_type"] == "code"]


def test_the_four_tutorials_are_there():
    assert [p.stem[:2] for p in NOTEBOOKS] == ["01", "02", "03", "04"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_committed_clean(path):
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    assert cells[0]["cell_type"] == "markdown" and "Takes about" in "".join(cells[0]["source"])
    for cell in _code_cells(path):
        assert cell["outputs"] == [] and cell["execution_count"] is None, "strip the outputs before committing"
        tree = ast.parse("".join(cell["source"]))
        defined = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)]
        assert not defined, "notebooks call the package; they define no functions"
        for node in ast.walk(tree):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module] if isinstance(node, ast.ImportFrom) else [])
            for name in names:
                assert name.split(".")[0] in ALLOWED_IMPORTS, f"{path.name} imports {name}"
                assert not any(part.startswith("_") for part in name.split(".")), f"private module {name}"
        assert "kamrisk._" not in "".join(cell["source"]), "public API only"


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("notebooks")


@pytest.mark.slow
# jupyter_core < 6 may warn, in the test process, that it will move its folders to platformdirs
@pytest.mark.filterwarnings("ignore:Jupyter is migrating its paths:DeprecationWarning")
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs(path, workdir, monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    monkeypatch.setenv("KAMRISK_NB_ACCOUNTS", ACCOUNTS)
    monkeypatch.setenv("KAMRISK_NB_FOLDS", FOLDS)
    monkeypatch.setenv("KAMRISK_NB_WORKDIR", str(workdir))
    monkeypatch.delenv("MPLBACKEND", raising=False)  # the kernel's own inline backend, as in Jupyter
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    notebook = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(notebook, timeout=600, kernel_name="python3",
                                     resources={"metadata": {"path": str(FOLDER)}})
    client.execute()  # raises CellExecutionError, with the cell and its traceback, on any error
    errors = [o for c in notebook.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors
