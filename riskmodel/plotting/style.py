"""Shared look of riskmodel figures: a colour-blind-safe palette, number formatting, rcParams.

Nothing here imports matplotlib at module import time; `import riskmodel` stays light.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = [
    "OKABE_ITO",
    "PALETTE",
    "RC_PARAMS",
    "compact_formatter",
    "format_compact",
    "level_colors",
    "new_axes",
    "percent_formatter",
    "plot_style",
    "series_colors",
]

OKABE_ITO: tuple[str, ...] = (
    "#000000",  # black
    "#E69F00",  # orange
    "#56B4E9",  # sky blue
    "#009E73",  # bluish green
    "#F0E442",  # yellow
    "#0072B2",  # blue
    "#D55E00",  # vermillion
    "#CC79A7",  # reddish purple
)
"""Okabe & Ito (2008) palette, distinguishable with the common colour-vision deficiencies."""

PALETTE: dict[str, str] = {
    "black": OKABE_ITO[0],
    "orange": OKABE_ITO[1],
    "sky": OKABE_ITO[2],
    "green": OKABE_ITO[3],
    "yellow": OKABE_ITO[4],
    "blue": OKABE_ITO[5],
    "vermillion": OKABE_ITO[6],
    "purple": OKABE_ITO[7],
}

# risk levels get warm colours, ordered from the body of the distribution to the far tail
_LEVEL_COLOURS = (PALETTE["orange"], PALETTE["vermillion"], PALETTE["purple"], PALETTE["green"])

RC_PARAMS: dict[str, Any] = {
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "axes.grid.axis": "y",
    "axes.titlesize": "medium",
    "axes.titleweight": "bold",
    "axes.labelsize": "medium",
    "grid.alpha": 0.3,
    "grid.linewidth": 0.6,
    "font.size": 10.0,
    "legend.frameon": False,
    "legend.fontsize": "small",
    "figure.dpi": 100.0,
    "savefig.dpi": 120.0,
}

_SUFFIXES = ((1e12, "tn"), (1e9, "bn"), (1e6, "M"), (1e3, "k"))


def format_compact(value: float, *, digits: int = 3, unit: str = "") -> str:
    """Format a number with a k/M/bn/tn suffix and `digits` significant digits.

    Parameters
    ----------
    value : float
    digits : int, default 3
        Significant digits.
    unit : str, optional
        Prefix such as ``"€"``; put in front of the number (after the sign).

    Examples
    --------
    >>> format_compact(27_568_263.7), format_compact(-1500), format_compact(0.25)
    ('27.6M', '-1.5k', '0.25')
    >>> format_compact(2.5e9, unit="$")
    '$2.5bn'
    """
    if value is None or not math.isfinite(value):
        return "n/a"
    sign = "-" if value < 0 else ""
    mag = abs(float(value))
    for scale, suffix in _SUFFIXES:
        # round first so that 999_950 prints as 1M, not 1e+03k
        if float(f"{mag:.{digits}g}") >= scale:
            return f"{sign}{unit}{float(f'{mag / scale:.{digits}g}'):g}{suffix}"
    return f"{sign}{unit}{float(f'{mag:.{digits}g}'):g}"


def compact_formatter(*, unit: str = "", digits: int = 3):
    """Return a matplotlib tick formatter that writes 1.5k, 27.6M, 2.5bn (optionally with a unit).

    Returns
    -------
    matplotlib.ticker.FuncFormatter
    """
    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(lambda x, _pos: format_compact(x, digits=digits, unit=unit))


def level_colors(n: int) -> list[str]:
    """`n` palette colours for risk levels, from the body to the far tail (cycled if n > 4)."""
    return [_LEVEL_COLOURS[i % len(_LEVEL_COLOURS)] for i in range(n)]


@contextmanager
def plot_style(**overrides: Any) -> Iterator[None]:
    """Apply riskmodel's rcParams (and the Okabe–Ito colour cycle) inside a ``with`` block.

    The interactive mode is kept as the block leaves it (a backend chosen inside the block,
    such as Jupyter's inline backend, stays interactive), unlike a bare ``rc_context``.

    Parameters
    ----------
    **overrides
        rcParams to set on top of `RC_PARAMS`.

    Examples
    --------
    >>> from matplotlib.figure import Figure
    >>> with plot_style():
    ...     ax = Figure().add_subplot()
    """
    import matplotlib as mpl
    from cycler import cycler

    params: dict[Any, Any] = {
        **RC_PARAMS,
        "axes.prop_cycle": cycler(color=list(OKABE_ITO[1:])),
        **overrides,
    }
    interactive = mpl.is_interactive()
    try:
        with mpl.rc_context(params):
            try:
                yield
            finally:
                # pyplot may pick its backend inside the block (Jupyter's inline backend then
                # turns interactive mode on); rc_context would undo that, and later figures
                # would no longer show in the notebook
                interactive = mpl.is_interactive()
    finally:
        mpl.interactive(interactive)


def series_colors(n: int) -> list[str]:
    """`n` distinguishable palette colours for series (scenarios, segments, states), cycled.

    Black and yellow come last: yellow is faint on white, black is kept for totals and
    reference lines.
    """
    order = ("blue", "orange", "green", "vermillion", "sky", "purple", "yellow", "black")
    return [PALETTE[order[i % len(order)]] for i in range(n)]


def percent_formatter(*, digits: int = 3):
    """Return a tick formatter for shares: 0.0125 -> ``1.25%``.

    Returns
    -------
    matplotlib.ticker.FuncFormatter
    """
    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(lambda x, _pos: f"{100 * x:.{digits}g}%")


def new_axes(figsize: tuple[float, float] = (8.0, 4.5)):
    """Return a new Axes on a pyplot figure with constrained layout (the default for every plot)."""
    import matplotlib.pyplot as plt

    _, ax = plt.subplots(figsize=figsize, layout="constrained")
    return ax
