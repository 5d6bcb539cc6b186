"""ONNX scorers: a fitted model as one ONNX graph plus a JSON sidecar.

    from tsauto.export import to_onnx
    sidecar = to_onnx(model, "model.onnx")      # also writes model.onnx.json

The exporter reads a fitted model's parts (statistical learners' state, the pivoted learners'
featurization spec, fitted transforms and regressors, ensemble weights) and never imports the
search.  What cannot be exported raises ``ExportError`` naming the part.  The input and output
contract is in ``tsauto.export.forecast`` and docs/onnx.md.
"""

from __future__ import annotations

import json
from pathlib import Path

from tsauto.errors import ExportError

__all__ = ["ExportError", "sidecar_path", "to_onnx"]


def sidecar_path(path: str | Path) -> Path:
    """Where the sidecar of ``path`` goes: the same name with ``.json`` added."""
    path = Path(path)
    return path.with_name(path.name + ".json")


def to_onnx(model, path: str | Path) -> dict:
    """Write ``model`` (a ``ForecastModel`` or ``TabularModel``) as an ONNX file at ``path``
    and its sidecar (input/output names, shapes and dtypes; for forecasting the history
    length, frequency, season, quantiles, series ids and feature names; for tabular models the
    classes and column kinds; versions) next to it; returns the sidecar."""
    import onnx

    from tsauto.export.forecast import forecast_graph
    from tsauto.export.tabular import tabular_graph
    from tsauto.versions import versions

    task = getattr(model, "task", None)
    if task not in ("forecasting", "classification", "regression"):
        raise ExportError(f"{type(model).__name__} (task {task!r}) does not export to ONNX: "
                          f"only forecasting, classification and regression models do.")
    path = Path(path)
    if path.suffix != ".onnx":
        raise ExportError(f"the ONNX file name must end in .onnx, got '{path}'.")
    if not path.parent.is_dir():
        raise ExportError(f"the folder of '{path}' does not exist; create it first.")
    proto, sidecar = (forecast_graph if task == "forecasting" else tabular_graph)(model)
    sidecar["versions"] = versions(("onnx", "onnxruntime", "onnxmltools", "skl2onnx"))
    onnx.save_model(proto, str(path))
    sidecar_path(path).write_text(json.dumps(sidecar, indent=2))
    return sidecar
