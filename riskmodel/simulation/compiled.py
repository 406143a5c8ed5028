"""Which kernel draws the exact chains: the compiled one, checked against numpy, or numpy's calls.

`draw_compiled` calls the compiled kernel for one period of `riskmodel.simulation.chains`, with
the columns' structure as contiguous arrays checked once (`FlatColumns`).

`riskmodel.simulation._chains_c` is a C extension, built by ``pip install`` when a C compiler is
present (``setup.py``; the build is optional). It gives the same numbers as the numpy code bit
for bit (its module docstring says why), and it is faster. Before its first use in a process it
is checked: it draws 4,096 binomials over both of numpy's algorithms (inversion and BTPE, p on
both sides of 1/2) and must match the installed numpy's ``Generator.binomial`` draw for draw and
leave the generator in the same state. If it is missing or differs (it was built against another
numpy), the numpy code runs instead, with a warning in the second case: slower, same numbers. In
a source checkout, a build older than its ``.pyx`` source (edited since ``pip install -e .``) is
refused the same way: the module carries the SHA-256 of the source it was built from.

The environment variable ``RISKMODEL_KERNEL`` chooses: ``auto`` (the default: compiled when it is
there and passes the check), ``numpy`` (always the numpy calls) or ``compiled`` (an error if it
cannot be used). It is read at every use, so worker processes follow their own environment.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:  # chains imports this module
    from riskmodel.simulation.chains import ExactColumns

Floats = NDArray[np.float64]
Counts = NDArray[np.int64]
Index = NDArray[np.intp]

__all__ = [
    "KERNEL_ENV",
    "FlatColumns",
    "chains_kernel",
    "compiled_status",
    "draw_compiled",
    "kernel_for",
]

KERNEL_ENV = "RISKMODEL_KERNEL"
_CHOICES = ("auto", "numpy", "compiled")


def chains_kernel() -> ModuleType | None:
    """Return the compiled chain kernel to use now, or None for numpy (``RISKMODEL_KERNEL``)."""
    choice = os.environ.get(KERNEL_ENV, "auto").strip().lower() or "auto"
    if choice not in _CHOICES:
        raise ValueError(
            f"environment variable {KERNEL_ENV}={os.environ[KERNEL_ENV]!r} is not one of "
            f"{', '.join(_CHOICES)}. To fix: unset it (auto), or set one of those."
        )
    if choice == "numpy":
        return None
    module, problem = _load()
    if module is None and choice == "compiled":
        raise RuntimeError(
            f"{KERNEL_ENV}=compiled, but the compiled chain kernel cannot be used: {problem}. To "
            f"fix: reinstall riskmodel with a C compiler present (pip install -e .), or unset "
            f"{KERNEL_ENV}."
        )
    return module


def kernel_for(rng: object) -> ModuleType | None:
    """`chains_kernel` for draws from `rng`: only numpy's own Generator (not a wrapper of one)."""
    return chains_kernel() if type(rng) is np.random.Generator else None


def compiled_status() -> str:
    """``"compiled"`` if the compiled kernel loads and passes its check, else why not."""
    module, problem = _load()
    return "compiled" if module is not None else f"numpy ({problem})"


@functools.cache
def _load() -> tuple[ModuleType | None, str]:
    """Import and check the extension once per process: (module or None, why not)."""
    try:
        module = importlib.import_module("riskmodel.simulation._chains_c")
    except ImportError as err:
        return None, f"the extension is not built ({err})"
    mismatch = _stale(module)
    cause = "its source was edited since it was built"
    if not mismatch:
        mismatch = _check(module)
        cause = f"it was built against another numpy than numpy {np.__version__} installed"
    if mismatch:
        warnings.warn(
            f"riskmodel's compiled chain kernel {mismatch}; {cause}. The numpy code runs "
            f"instead (same numbers, slower). To fix: reinstall riskmodel (pip install -e .) "
            f"so that it is rebuilt.",
            RuntimeWarning,
            stacklevel=2,
        )
        return None, mismatch
    return module, ""


def _stale(module: ModuleType) -> str:
    """'' unless the ``.pyx`` beside the module (a source checkout) differs from its build's."""
    where = getattr(module, "__file__", None)
    source = Path(str(where)).with_name("_chains_c.pyx")
    if where is None or not source.is_file():  # an installed wheel carries no source
        return ""
    built = str(getattr(module, "SOURCE_SHA256", ""))
    if hashlib.sha256(source.read_bytes()).hexdigest() == built:
        return ""
    return f"was built from another version of {source.name}"


def _check(module: ModuleType) -> str:
    """Compare the module's binomials with numpy's on one seeded set; '' if identical."""
    setup = np.random.default_rng(20261203)
    size = 4096
    n = np.concatenate([setup.integers(0, 40, size // 2), setup.integers(0, 5000, size // 2)])
    p = setup.random(size) ** 2  # small p (inversion for small n·p, BTPE above 30)
    p[::3] = 1.0 - p[::3]  # p above 1/2: numpy draws the complement
    p[::17] = 0.0
    ours, theirs = np.random.default_rng(7), np.random.default_rng(7)
    out = np.empty(size, np.int64)
    module.binomials(ours, n.astype(np.int64), p, out)
    expected = theirs.binomial(n, p)
    if not np.array_equal(out, expected):
        return f"drew {int((out != expected).sum())} of {size} check binomials unlike numpy"
    if ours.bit_generator.state != theirs.bit_generator.state:
        return "left the generator in another state than numpy after its check binomials"
    return ""


@dataclass(frozen=True)
class FlatColumns:
    """`ExactColumns` as contiguous arrays of the compiled kernel's types, bounds checked once."""

    sr: Index
    default_drawn: NDArray[np.uint8]
    step_drawn: NDArray[np.uint8]  # (J, C)
    step_target: Index  # (J, C)
    stay_target: Index
    owner: Index  # (C,) exact cohort of each column

    @classmethod
    def build(cls, cols: ExactColumns) -> FlatColumns:
        """Check every index against its array once: the compiled loops do not."""
        n_cols = len(cols.sr)
        flat = cls(
            sr=np.ascontiguousarray(cols.sr, np.intp),
            default_drawn=np.ascontiguousarray(cols.default_drawn, np.uint8),
            step_drawn=np.ascontiguousarray(cols.step_drawn, np.uint8),
            step_target=np.ascontiguousarray(cols.step_target, np.intp),
            stay_target=np.ascontiguousarray(cols.stay_target, np.intp),
            owner=np.arange(n_cols, dtype=np.intp) // max(cols.n_origins, 1),
        )
        targets = np.concatenate([flat.step_target.ravel(), flat.stay_target])
        if n_cols and (targets.min() < 0 or targets.max() >= cols.n_into):
            raise ValueError("exact columns: a destination lies outside the (cohort, state) grid")
        if n_cols and flat.owner.max() >= len(cols.exact):
            raise ValueError("exact columns: more columns than exact cohorts have origins")
        return flat


def draw_compiled(
    kernel: ModuleType,
    cols: ExactColumns,
    rng: np.random.Generator,
    cnt: Counts,
    pd_sr: Floats,
    seq_sr: Floats,
) -> tuple[Counts, Counts]:
    """`draw_exact` by the compiled kernel: the same draws in the same order."""
    flat = cols.flat
    n, n_cols = cnt.shape
    n_sr = pd_sr.shape[-1]
    if n_cols != len(flat.sr) or pd_sr.shape[0] not in (1, n) or seq_sr.shape[0] not in (1, n):
        raise ValueError(f"draw_exact: counts {cnt.shape}, PDs {pd_sr.shape}, steps {seq_sr.shape}")
    if n_cols and flat.sr.max() >= min(n_sr, seq_sr.shape[1]):
        raise ValueError("draw_exact: a column's (segment, origin) lies outside the PD rows")
    defaults = np.zeros((n, len(cols.exact)), np.int64)
    into = np.zeros((n, cols.n_into), np.int64)
    kernel.draw_chains(
        rng,
        np.ascontiguousarray(cnt, np.int64),
        np.ascontiguousarray(pd_sr, np.float64),
        np.ascontiguousarray(seq_sr, np.float64),
        flat.sr,
        flat.default_drawn,
        flat.step_drawn,
        flat.step_target,
        flat.stay_target,
        flat.owner,
        np.empty((n, n_cols), np.int64),
        defaults,
        into,
    )
    return defaults, into
