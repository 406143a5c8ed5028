"""Which kernel draws the exact chains: the compiled one, checked against numpy, or numpy's calls.

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
from pathlib import Path
from types import ModuleType

import numpy as np

__all__ = ["KERNEL_ENV", "chains_kernel", "compiled_status", "kernel_for"]

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
