"""The analysis notebooks run headlessly, top to bottom, with small settings.

Each notebook's cell tagged ``parameters`` gets small settings (``SMALL = True``, results in a
temporary directory) written after its own defaults; the notebook is executed with nbclient on a kernel
that runs this interpreter (a kernelspec written to a temporary directory, so the
venv's Python and bioplaus are used whatever kernels are installed elsewhere), and any
error fails the test. The notebooks in git carry no outputs.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

REPO = Path(__file__).resolve().parent.parent
ANALYSIS = REPO / "analysis"
NOTEBOOKS = sorted(ANALYSIS.glob("*.ipynb"))
KERNEL = "bioplaus-test-python"

# notebook -> model files it needs (skipped, with the reason, when one is missing)
NEEDS = {"03_stdp_classifier.ipynb": ["models/stdp_classifier_digits.toml"]}


@pytest.fixture(scope="module")
def kernel_dir(tmp_path_factory, monkeypatch_module):
    """A kernelspec running ``sys.executable`` (this venv), found first through JUPYTER_PATH."""
    root = tmp_path_factory.mktemp("jupyter")
    spec = root / "kernels" / KERNEL
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "bioplaus tests", "language": "python"}))
    monkeypatch_module.setenv("JUPYTER_PATH", str(root))
    monkeypatch_module.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    return root


@pytest.fixture(scope="module")
def monkeypatch_module():
    mp = pytest.MonkeyPatch()
    yield mp
    mp.undo()


def small_settings(out: Path) -> str:
    return f"SMALL = True\nOUT_ROOT = {str(out)!r}\n"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_is_stripped(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, f"{path.name}: outputs not stripped"
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1 and "SMALL" in tagged[0].source and "OUT_ROOT" in tagged[0].source


def test_notebooks_use_the_public_api():
    for path in NOTEBOOKS:
        src = "\n".join(c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code")
        for line in src.splitlines():
            if line.startswith(("import bioplaus", "from bioplaus")):
                assert line.split()[1] in ("bioplaus", "bioplaus.plots", "bioplaus.sweep"), (path.name, line)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(path, kernel_dir, tmp_path):
    missing = [m for m in NEEDS.get(path.name, []) if not (REPO / m).exists()]
    if missing:
        pytest.skip(f"{path.name} needs {', '.join(missing)}, which is not in this checkout")
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if "parameters" in cell.metadata.get("tags", []):
            # the notebook's own defaults, then the small settings over them
            cell.source = cell.source + "\n\n# small settings injected by the test\n" + small_settings(tmp_path / "results")
            break
    client = nbclient.NotebookClient(nb, kernel_name=KERNEL, timeout=240, allow_errors=False,
                                     resources={"metadata": {"path": str(ANALYSIS)}})
    try:
        client.execute()
    except nbclient.exceptions.CellExecutionError as exc:
        pytest.fail(f"{path.name} failed:\n{exc}", pytrace=False)
    images = sum(1 for c in nb.cells if c.cell_type == "code" for o in c.outputs
                 if "image/png" in o.get("data", {}))
    assert images >= 3, f"{path.name}: only {images} figures displayed"
    assert any((tmp_path / "results").iterdir())
