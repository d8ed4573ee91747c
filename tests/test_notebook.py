"""The tutorial notebook runs top to bottom on a small subset of the real data."""

import json

import nbformat
import pytest
from conftest import REPO
from nbclient import NotebookClient

NOTEBOOK = REPO / "notebooks" / "gru_imdb.ipynb"


def with_parameters(nb, **values):
    """Insert a cell overriding the `parameters` cell's values right after it (as papermill
    does), so the notebook's own defaults stay untouched."""
    index = next(i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", []))
    lines = [f"{name} = {value!r}" for name, value in values.items()]
    nb.cells.insert(index + 1, nbformat.v4.new_code_cell("\n".join(lines)))
    return nb


def test_notebook_is_committed_without_outputs():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and all(not c.outputs and c.execution_count is None for c in code)


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_notebook_runs_on_a_small_subset(real_archive, tmp_path):
    nb = with_parameters(
        nbformat.read(NOTEBOOK, as_version=4),
        DATA=str(real_archive),
        TRAIN_LIMIT=500,
        TEST_LIMIT=500,
        EPOCHS=1,
        RUN_DIR=str(tmp_path / "run"),
        BASELINE_DIR=str(tmp_path / "baseline"),
    )
    # Raises CellExecutionError, with the cell and its traceback, if any cell fails.
    resources = {"metadata": {"path": str(NOTEBOOK.parent)}}  # cwd = notebooks/
    NotebookClient(nb, kernel_name="python3", timeout=300, resources=resources).execute()

    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) >= 7  # EDA (3), learning curves, confusion, ROC/PR, threshold
    assert "Parámetros GRU : 1,371,137" in text and "Parámetros LSTM: 1,400,513" in text
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["n_test"] == 500
    assert f"umbral elegido en validación: {metrics['decision_threshold']:.2f}" in text
    assert "Falsos positivos más confiados" in text and "Ejemplo 5" in text
    assert (tmp_path / "run" / "report.html").stat().st_size > 100_000
