"""Convergence of a saved posterior, read back for the report of a run that uses it.

A run on ``parameters: {posterior: FILE.nc}`` is only as good as the MCMC fit behind FILE. The
fit's diagnostics travel with the file:

- ``riskmodel fit … --out FILE.nc`` writes ``FILE.diagnostics.json`` beside it (R-hat, bulk and
  tail ESS and divergences per model: ``transition_model``, ``default_model``) and records its
  SHA-256 in the posterior's ``riskmodel_fit_files`` attribute, so a diagnostics file that was
  changed or belongs to another fit is recognised;
- `TransitionModel.save` keeps the transition model's diagnostics in its config attribute;
- `ParameterDraws.to_netcdf` records none (the verdict is then ``not recorded``).

Thresholds (`THRESHOLDS`): R-hat at most 1.01 (`RHAT_MAX`), bulk and tail ESS at least 100 per
chain (`ESS_PER_CHAIN`; 400 for the usual four chains), no divergent transition (Vehtari,
Gelman, Simpson, Carpenter & Bürkner 2021, *Rank-normalization, folding, and localization: an
improved R-hat*, Bayesian Analysis 16(2)). A conjugate (Dirichlet–multinomial) fit draws exactly
from its posterior: verdict ``exact``. A fit written before tail ESS was recorded has
``min_ess_tail`` None and is judged on the other checks.

This module reads JSON and netCDF attributes only: no PyMC, no ArviZ.
"""

from __future__ import annotations

import hashlib
import json
import math
from os import PathLike
from pathlib import Path
from typing import Any

import xarray as xr

from riskmodel.models._common import ESS_PER_CHAIN, RHAT_MAX

__all__ = ["FIT_FILES_ATTR", "THRESHOLDS", "posterior_convergence"]

FIT_FILES_ATTR = "riskmodel_fit_files"
"""Attribute of the posterior group in which `riskmodel fit` records the files beside it (the
same name as `riskmodel.fitting.FIT_FILES_ATTR`, which a test keeps equal)."""

THRESHOLDS: dict[str, Any] = {
    "max_rhat": RHAT_MAX,
    "min_ess_bulk_per_chain": ESS_PER_CHAIN,
    "min_ess_tail_per_chain": ESS_PER_CHAIN,
    "max_divergences": 0,
}
"""The convergence checks of a posterior used in a run."""

_KEYS = ("max_rhat", "min_ess_bulk", "min_ess_tail", "divergences")


def _finite(value: Any) -> float | None:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def _judge(diag: dict[str, Any]) -> dict[str, Any]:
    """One model's figures, the checks that failed and its verdict."""
    if "max_rhat" not in diag and "divergences" not in diag:
        return {"method": str(diag.get("method", "exact")), "verdict": "exact", "failed": []}
    chains = int(diag.get("chains") or 1)
    need = ESS_PER_CHAIN * chains
    out: dict[str, Any] = {k: _finite(diag.get(k)) for k in _KEYS}
    if out["divergences"] is not None:
        out["divergences"] = int(out["divergences"])
    out.update(chains=chains, draws=diag.get("draws"), min_ess_required=need)
    failed = []
    if out["max_rhat"] is not None and out["max_rhat"] > RHAT_MAX:
        failed.append(f"R-hat {out['max_rhat']:.3f} > {RHAT_MAX} ({diag.get('max_rhat_var')})")
    for kind in ("bulk", "tail"):
        ess = out[f"min_ess_{kind}"]
        if ess is not None and ess < need:
            where = diag.get(f"min_ess_{kind}_var")
            failed.append(f"{kind} ESS {ess:.0f} < {need} ({where})")
    if out["divergences"] is not None and out["divergences"] > 0:
        failed.append(f"{out['divergences']:.0f} divergent transition(s)")
    out["failed"] = failed
    out["verdict"] = "not converged" if failed else "converged"
    return out


def _from_fit_files(path: Path, attrs: dict) -> tuple[dict | None, str]:
    """Diagnostics written by `riskmodel fit` beside the posterior, and where they came from."""
    diag_file = path.with_suffix(".diagnostics.json")
    try:
        record = json.loads(attrs[FIT_FILES_ATTR])
    except (KeyError, TypeError, ValueError):
        return None, ""
    if not diag_file.is_file():
        return None, f"{diag_file.name} (written by `riskmodel fit`) is missing"
    data = diag_file.read_bytes()
    if record.get(diag_file.name) != hashlib.sha256(data).hexdigest():
        return None, (
            f"{diag_file.name} was changed since `riskmodel fit` wrote {path.name} (its SHA-256 "
            "differs from the one recorded in the posterior); refit to restore it"
        )
    try:
        return json.loads(data), diag_file.name
    except ValueError:
        return None, f"{diag_file.name} is not valid JSON"


def _from_model_config(attrs: dict) -> dict | None:
    """Diagnostics kept by `TransitionModel.save` in its config attribute."""
    try:
        cfg = json.loads(attrs["riskmodel_config"])
    except (KeyError, TypeError, ValueError):
        return None
    diag = cfg.get("diagnostics") if isinstance(cfg, dict) else None
    return {"transition_model": diag or {"method": "conjugate (exact)"}} if cfg else None


def posterior_convergence(path: str | PathLike) -> dict[str, Any]:
    """R-hat, bulk/tail ESS and divergences of a saved posterior, with thresholds and a verdict.

    Parameters
    ----------
    path : path
        A posterior file (``parameters: posterior`` of a scenario).

    Returns
    -------
    dict
        ``verdict`` (``converged``, ``not converged``, ``exact`` or ``not recorded``),
        ``max_rhat``, ``min_ess_bulk``, ``min_ess_tail``, ``divergences`` (worst over the
        models; None when not recorded), ``failed`` (the failed checks, as text), ``models``
        (the same per model), ``thresholds`` (`THRESHOLDS`), ``source`` (where the figures were
        read) and ``note``.

    Examples
    --------
    >>> posterior_convergence("scenarios/posterior/fitted.nc")["verdict"]  # doctest: +SKIP
    'converged'
    """
    path = Path(path)
    try:
        with xr.open_dataset(path, group="posterior") as ds:
            attrs = dict(ds.attrs)
    except (OSError, ValueError) as err:
        return _result({}, "", f"the posterior's attributes could not be read ({err})")
    diag, source = _from_fit_files(path, attrs)
    note = "" if diag is not None else source
    if diag is None:
        diag = _from_model_config(attrs)
        source = f"{path.name} (saved model config)" if diag is not None else ""
    return _result(diag or {}, source, note)


def _result(diag: dict, source: str, note: str) -> dict[str, Any]:
    models = {name: _judge(d) for name, d in diag.items() if isinstance(d, dict)}
    verdicts = {m["verdict"] for m in models.values()}
    if not models:
        verdict = "not recorded"
        note = note or (
            "the posterior file records no MCMC diagnostics (written by "
            "ParameterDraws.to_netcdf?); fit it with `riskmodel fit` to have them checked"
        )
    elif "not converged" in verdicts:
        verdict = "not converged"
    elif verdicts == {"exact"}:
        verdict = "exact"
    else:
        verdict = "converged"
    sampled = [m for m in models.values() if m["verdict"] != "exact"]

    def worst(key: str, fn) -> float | None:
        values = [m[key] for m in sampled if m.get(key) is not None]
        return fn(values) if values else None

    return {
        "verdict": verdict,
        "max_rhat": worst("max_rhat", max),
        "min_ess_bulk": worst("min_ess_bulk", min),
        "min_ess_tail": worst("min_ess_tail", min),
        "divergences": worst("divergences", sum),
        "failed": [f"{name}: {f}" for name, m in models.items() for f in m["failed"]],
        "models": models,
        "thresholds": dict(THRESHOLDS),
        "source": source or None,
        "note": note or None,
    }
