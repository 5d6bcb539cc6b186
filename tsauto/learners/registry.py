"""Learner registry: a name maps to its class (and so to its capabilities and search space).

Families register with ``@register`` when their module is imported; ``get`` and ``names``
import the families on first use, so that listing names does not import torch or Prophet
until a learner is used.  (Family modules import their heavy libraries inside ``_fit``.)
"""

from __future__ import annotations

import importlib
import inspect

from tsauto.errors import SettingsError, closest_hint, preview
from tsauto.learners.base import Forecaster

FAMILIES = (
    "tsauto.learners.statistical",
    "tsauto.learners.pivoted",
    "tsauto.learners.prophet",
    "tsauto.learners.tcn",
)

_REGISTRY: dict[str, type[Forecaster]] = {}


def register(cls: type[Forecaster]) -> type[Forecaster]:
    if cls.name in _REGISTRY and _REGISTRY[cls.name] is not cls:
        raise RuntimeError(f"learner name {cls.name!r} registered twice")
    _REGISTRY[cls.name] = cls
    return cls


def _load_families() -> None:
    for module in FAMILIES:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:  # a family's own import failing is a real bug
                raise


def names() -> list[str]:
    _load_families()
    return sorted(_REGISTRY)


def get(name: str) -> type[Forecaster]:
    _load_families()
    if name not in _REGISTRY:
        raise SettingsError(f"unknown learner {name!r}.{closest_hint(name, _REGISTRY)} Known "
                            f"learners: {', '.join(sorted(_REGISTRY))}.")
    return _REGISTRY[name]


def search_space(name: str) -> dict:
    return get(name).search_space()


def onnx_search_space(name: str) -> dict:
    """The search space less the values whose models would not export to ONNX."""
    return get(name).onnx_search_space()


def create(name: str, **params) -> Forecaster:
    """The learner ``name`` with ``params``; a parameter it does not take is a SettingsError
    naming those it does (learners that pass extra ones to their estimator take any)."""
    cls = get(name)
    taken = inspect.signature(cls.__init__).parameters
    if not any(p.kind is p.VAR_KEYWORD for p in taken.values()):
        valid = [p for p in taken if p != "self"]
        unknown = sorted(set(params) - set(valid))
        if unknown:
            raise SettingsError(f"learner '{name}' takes no parameter {preview(unknown)}; its "
                                f"parameters: {preview(valid, 30)}.")
    return cls(**params)
