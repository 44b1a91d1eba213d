"""Model signatures: inferred from an input example, checked before ``predict``.

A signature is MLflow's: named columns (``ColSpec``: name, type) for tabular input,
or one tensor (``TensorSpec``: dtype, shape with ``-1`` for any size) for arrays.
It is written into ``MLmodel`` in MLflow's form (JSON strings under ``inputs`` and
``outputs``) so MLflow can read it, and travels in ``model.logged`` as plain JSON.

Tabular input may be a pandas DataFrame (when pandas is installed), a dict of
column -> values, or a list of row dicts; arrays are numpy arrays or nested lists.
numpy is imported only when a signature is inferred or checked.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from runstream.errors import ValidationError

# numpy dtype kind/size -> MLflow column type.
_KIND_TYPES = {"b": "boolean", "U": "string", "S": "binary", "O": "string", "M": "datetime"}
_FLOAT_TYPES = {4: "float", 8: "double"}
_INT_TYPES = {1: "integer", 2: "integer", 4: "integer", 8: "long"}


@dataclass(frozen=True)
class ColSpec:
    """One named input or output column."""

    name: str | None
    type: str
    required: bool = True

    def to_json(self) -> dict[str, Any]:
        """MLflow's JSON form."""
        out: dict[str, Any] = {"type": self.type, "required": self.required}
        if self.name is not None:
            out["name"] = self.name
        return out


@dataclass(frozen=True)
class TensorSpec:
    """One tensor: numpy dtype name and shape (``-1`` for a free dimension)."""

    dtype: str
    shape: tuple[int, ...]

    def to_json(self) -> dict[str, Any]:
        """MLflow's JSON form."""
        return {"type": "tensor", "tensor-spec": {"dtype": self.dtype, "shape": list(self.shape)}}


Spec = ColSpec | TensorSpec


@dataclass(frozen=True)
class Signature:
    """Inputs and (optionally) outputs of a model."""

    inputs: tuple[Spec, ...]
    outputs: tuple[Spec, ...] = ()

    @property
    def columns(self) -> list[str] | None:
        """Input column names, when the inputs are named columns."""
        if self.inputs and all(isinstance(s, ColSpec) and s.name for s in self.inputs):
            return [str(s.name) for s in self.inputs if isinstance(s, ColSpec)]
        return None

    def to_mlmodel(self) -> dict[str, Any]:
        """The ``signature`` block of an ``MLmodel`` file (MLflow's JSON-in-YAML strings)."""
        return {
            "inputs": json.dumps([s.to_json() for s in self.inputs]),
            "outputs": json.dumps([s.to_json() for s in self.outputs]) if self.outputs else None,
            "params": None,
        }

    def to_event(self) -> dict[str, Any]:
        """The ``signature`` of a ``model.logged`` event (plain JSON)."""
        return {
            "inputs": [s.to_json() for s in self.inputs],
            "outputs": [s.to_json() for s in self.outputs],
        }

    @classmethod
    def from_mlmodel(cls, block: Mapping[str, Any] | None) -> Signature | None:
        """Reads the ``signature`` block of an ``MLmodel`` file."""
        if not block or not block.get("inputs"):
            return None

        def specs(raw: Any) -> tuple[Spec, ...]:
            items = json.loads(raw) if isinstance(raw, str) else (raw or [])
            out: list[Spec] = []
            for item in items:
                if item.get("type") == "tensor":
                    spec = item["tensor-spec"]
                    out.append(TensorSpec(str(spec["dtype"]), tuple(spec["shape"])))
                else:
                    out.append(
                        ColSpec(item.get("name"), str(item["type"]), item.get("required", True))
                    )
            return tuple(out)

        return cls(specs(block["inputs"]), specs(block.get("outputs")))


def _column_type(values: Any) -> str:
    import numpy as np

    array = np.asarray(values)
    kind, size = array.dtype.kind, array.dtype.itemsize
    if kind == "f":
        return _FLOAT_TYPES.get(size, "double")
    if kind in "iu":
        return _INT_TYPES.get(size, "long")
    return _KIND_TYPES.get(kind, "string")


def as_columns(data: Any) -> dict[str, Any] | None:
    """Tabular data as ``{column: values}``, or None when ``data`` is not tabular."""
    if hasattr(data, "columns") and hasattr(data, "to_dict"):  # a pandas DataFrame
        return {str(c): data[c].to_numpy() for c in data.columns}
    if isinstance(data, Mapping) and data:
        return {
            str(k): (v if isinstance(v, list | tuple) or hasattr(v, "__array__") else [v])
            for k, v in data.items()
        }
    if isinstance(data, list) and data and all(isinstance(r, Mapping) for r in data):
        names = list(dict.fromkeys(k for row in data for k in row))
        return {str(n): [row.get(n) for row in data] for n in names}
    return None


def _specs_of(data: Any) -> tuple[Spec, ...]:
    import numpy as np

    columns = as_columns(data)
    if columns is not None:
        return tuple(ColSpec(name, _column_type(values)) for name, values in columns.items())
    array = np.asarray(data)
    if array.ndim == 0:
        raise ValidationError("cannot infer a signature from a scalar; pass rows of data")
    if array.ndim == 1:
        return (ColSpec(None, _column_type(array)),)
    return (TensorSpec(str(array.dtype), (-1, *array.shape[1:])),)


def infer_signature(model_input: Any, model_output: Any = None) -> Signature:
    """Infers a signature from example input (and output), like MLflow's ``infer_signature``.

    Raises:
        ValidationError: the example is not tabular data or an array.
    """
    outputs = () if model_output is None else _specs_of(model_output)
    return Signature(_specs_of(model_input), outputs)


def prepare_input(signature: Signature | None, data: Any) -> Any:
    """Checks ``data`` against the signature's inputs and returns it in model order.

    Named columns are reordered to the signature's order, extra columns are dropped
    (as MLflow does), and missing ones are an error that names them. A plain array
    for a column signature must have one column per signature column.

    Raises:
        ValidationError: missing columns, or the wrong number of columns or shape.
    """
    if signature is None:
        return data
    import numpy as np

    names = signature.columns
    if names is not None:
        columns = as_columns(data)
        if columns is not None:
            missing = [n for n in names if n not in columns]
            if missing:
                raise ValidationError(
                    f"model input is missing column(s) {missing}; the model's signature "
                    f"expects {names}"
                )
            if hasattr(data, "columns"):
                return data[names]
            return np.column_stack([np.asarray(columns[n]) for n in names])
        array = np.asarray(data)
        width = array.shape[1] if array.ndim == 2 else -1
        if width != len(names):
            raise ValidationError(
                f"model input has shape {array.shape}; the model's signature expects rows "
                f"of {len(names)} columns {names}"
            )
        return array
    spec = signature.inputs[0] if signature.inputs else None
    array = np.asarray(data)
    if isinstance(spec, TensorSpec):
        want = spec.shape
        if array.ndim != len(want) or any(
            w not in (-1, g) for w, g in zip(want, array.shape, strict=False)
        ):
            raise ValidationError(
                f"model input has shape {array.shape}; the model's signature expects {want}"
            )
    return array


__all__ = ["ColSpec", "Signature", "TensorSpec", "as_columns", "infer_signature", "prepare_input"]
