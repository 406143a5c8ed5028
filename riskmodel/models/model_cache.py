"""PyMC models built and compiled once per structure; a later fit of the same structure swaps data.

Why this module exists: before NUTS takes its first step, PyMC builds the model's graph and
PyTensor rewrites and links the log density and its gradient. For the small models here that is
as much work as the sampling itself: of a 3.5 s warm fit of `DefaultModel` (30 periods, two
segments, 2 × 450 iterations) about 1.8 s. Fits of the same structure — coverage studies,
backtests refitting window after window, a notebook cell run again — differ only in their data.

A model that opts in is built with its data as ``pm.Data`` containers and kept here under a key
naming everything its graph depends on besides the data (sizes, prior values, parameterization).
The next fit with that key sets the new data and coordinate labels on the kept model and reuses
its compiled log density and gradient (`logp_dlogp_function` is memoised on the kept model,
per compile options). Draws do not depend on whether the model was reused: the first fit
builds the same ``pm.Data`` graph. The kept models are private to this module; at most
`MAX_MODELS` are kept (least recently used dropped). A fit that finds its model busy (another
thread is sampling it) builds a private one instead of waiting.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

__all__ = ["MAX_MODELS", "clear", "kept_models", "reusable_model"]

MAX_MODELS = 8
"""How many compiled model structures are kept per process."""

_KEPT: OrderedDict[Hashable, tuple[Any, threading.Lock]] = OrderedDict()
_GUARD = threading.Lock()


@contextmanager
def reusable_model(
    key: Hashable,
    build: Callable[[], Any],
    data: Mapping[str, np.ndarray],
    coords: Mapping[str, Sequence[Any]],
) -> Iterator[Any]:
    """Enter the model of structure `key`, holding `data` and labelled by `coords`.

    Parameters
    ----------
    key : hashable
        Everything the model's graph depends on besides `data` and the labels in `coords`
        (the dtype and rank of each array in `data` are added to it here).
    build : callable
        Returns a new ``pm.Model`` of that structure whose ``pm.Data`` containers are named by
        the keys of `data` and whose dimensions include those of `coords`.
    data : mapping
        The values of the model's ``pm.Data`` containers for this fit.
    coords : mapping
        Labels of the model's dimensions for this fit (lengths fixed by `key`).

    Yields
    ------
    pymc.Model
        The model, entered as the current model context; exclusively this caller's until exit.
    """
    import pymc as pm

    # a container keeps the dtype and rank it was created with: they are structure too
    kinds = tuple((name, np.asarray(v).dtype.str, np.ndim(v)) for name, v in data.items())
    model, lock = _checkout((key, kinds), build)
    try:
        with model:
            pm.set_data(dict(data))
            for dim, labels in coords.items():
                model.set_dim(dim, len(labels), coord_values=list(labels))
            yield model
    finally:
        lock.release()


def kept_models() -> list[Hashable]:
    """Return the keys of the kept models, least recently used first."""
    with _GUARD:
        return list(_KEPT)


def clear() -> None:
    """Drop every kept model (their compiled functions are freed with them)."""
    with _GUARD:
        _KEPT.clear()


def _checkout(key: Hashable, build: Callable[[], Any]) -> tuple[Any, threading.Lock]:
    """Return the kept model of `key` (or a new one, kept if the key is new), its lock held."""
    with _GUARD:
        kept = _KEPT.get(key)
        if kept is not None and kept[1].acquire(blocking=False):
            _KEPT.move_to_end(key)
            return kept
    model, lock = _memoise_compilation(build()), threading.Lock()
    lock.acquire()
    with _GUARD:
        if key not in _KEPT:
            _KEPT[key] = (model, lock)
            while len(_KEPT) > MAX_MODELS:
                _KEPT.popitem(last=False)
    return model, lock


def _memoise_compilation(model: Any) -> Any:
    """Make `model.logp_dlogp_function` compile once per set of arguments, then reuse it.

    The compiled function reads the ``pm.Data`` containers (shared variables) when called, so
    it stays valid when they are set to new values of the same structure.
    """
    compile_fn = model.logp_dlogp_function
    compiled: dict[str, Any] = {}

    def logp_dlogp_function(*args: Any, **kwargs: Any) -> Any:
        signature = repr((args, sorted(kwargs.items())))
        if signature not in compiled:
            compiled[signature] = compile_fn(*args, **kwargs)
        return compiled[signature]

    model.logp_dlogp_function = logp_dlogp_function
    return model
