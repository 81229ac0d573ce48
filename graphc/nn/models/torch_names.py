"""Moving weights between graphc models and PyTorch (torchvision) state dicts.

The zoo's state names are torchvision's, with two differences that these functions undo:
graphc's BatchNorm calls its affine parameters `gamma` and `beta` (torch: `weight`,
`bias`) and keeps no `num_batches_tracked`; a Dense weight is (in, out), torch's Linear
weight (out, in).
"""
from __future__ import annotations

import importlib
import importlib.util
import sys
import types
from typing import Any, Mapping

import numpy as np

from ...ir import Node
from ..layers import BatchNorm, Dense, Layer

#: graphc's BatchNorm parameter names -> torch's
BATCH_NORM_NAMES = {"gamma": "weight", "beta": "bias"}


def _torch_names(model: Layer) -> dict[str, tuple[Node, bool]]:
    """torch's name of each of the model's variables, with whether its value is transposed."""
    batch_norm = {layer.gamma for layer in model.walk() if isinstance(layer, BatchNorm)}
    batch_norm |= {layer.beta for layer in model.walk() if isinstance(layer, BatchNorm)}
    dense = {layer.weight for layer in model.walk() if isinstance(layer, Dense)}
    names = {}
    for name, var in model.named_variables().items():
        if var in batch_norm:
            prefix, key = name.rsplit(".", 1) if "." in name else ("", name)
            name = (prefix + "." if prefix else "") + BATCH_NORM_NAMES[key]
        names[name] = (var, var in dense)
    return names


def to_torchvision(model: Layer) -> dict[str, np.ndarray]:
    """The model's state under torch's names and layouts (numpy arrays): load it with
    `torch_model.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()})`;
    torch fills in `num_batches_tracked`."""
    return {name: (var.get_value().T.copy() if transposed else var.get_value())
            for name, (var, transposed) in _torch_names(model).items()}


def from_torchvision(model: Layer, state: Any, strict: bool = True) -> None:
    """Load a torch state dict (or a torch module's `state_dict()`, given the module) into
    `model`: names and layouts converted, `num_batches_tracked` dropped. With `strict`, the
    keys must be exactly the model's; every problem is reported at once, as by
    `load_state_dict`."""
    if hasattr(state, "state_dict"):
        state = state.state_dict()
    names = _torch_names(model)
    graphc_name = {var: name for name, var in model.named_variables().items()}
    converted = {}
    for key, value in _as_arrays(state).items():
        if key.endswith("num_batches_tracked"):
            continue
        if key in names:
            var, transposed = names[key]
            key, value = graphc_name[var], (value.T if transposed else value)
        converted[key] = value
    model.load_state_dict(converted, strict=strict)


def _as_arrays(state: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """numpy copies of a state dict's values (torch tensors or arrays)."""
    return {key: np.array(value.detach().cpu().numpy() if hasattr(value, "detach") else value)
            for key, value in state.items()}


def torchvision_models() -> Any:
    """The module torchvision.models (ImportError when torchvision is absent).

    A torchvision whose C extension does not load beside this torch (a CUDA build beside a
    CPU-only torch) fails on import, while registering its detection operators; the model
    definitions need none of them, so they are then loaded without the package's __init__."""
    try:
        import torchvision.models
        return torchvision.models
    except RuntimeError as error:
        spec = importlib.util.find_spec("torchvision")
        package = types.ModuleType("torchvision")
        package.__path__, package.__spec__ = list(spec.submodule_search_locations), spec
        sys.modules["torchvision"] = package
        try:
            return importlib.import_module("torchvision.models")
        except Exception:
            del sys.modules["torchvision"]
            raise ImportError(f"torchvision does not load beside this torch: {error}") from error
