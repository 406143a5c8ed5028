"""What every default-count model does with its fit: keep it, check it, save and load it.

`FittedDefaults` is a mixin for a model whose fit is a `riskmodel.models._common.DefaultFit` in
``self._fit`` and whose saved files are stamped with the class attribute ``KIND``: "call .fit()
first", the posterior and diagnostics, the segments, turning an InferenceData into a checked
fit (`_keep_fit`), and the netCDF round trip (`save`, `_read_saved`, `_restore`). No PyMC here.
"""

from __future__ import annotations

from os import PathLike
from typing import Any, ClassVar

import xarray as xr

from riskmodel.models import _common as C
from riskmodel.models.model_files import open_idata, write_idata

__all__ = ["FittedDefaults"]


class FittedDefaults:
    """Mixin: posterior access, convergence checks and save/load of a fitted default model."""

    KIND: ClassVar[str]
    _fit: C.DefaultFit | None = None

    def _require_fit(self) -> C.DefaultFit:
        if self._fit is None:
            raise C.NotFittedError(
                f"this {self.KIND} has no posterior yet; call .fit() first (or {self.KIND}.load)."
            )
        return self._fit

    def _keep_fit(
        self, idata: Any, cfg: dict[str, Any], free: list[str], checked: xr.Dataset
    ) -> None:
        """Keep the posterior and sample stats of `idata`; warn on failed checks of `checked`."""
        groups = {g: idata[g] for g in ("posterior", "sample_stats")}
        diag = C.convergence_diagnostics(checked, groups["sample_stats"])
        self._fit = C.DefaultFit(config=cfg, groups=groups, free=free, diagnostics=diag)
        C.warn_on_diagnostics(diag, stacklevel=4)

    @property
    def posterior(self) -> xr.Dataset:
        """The posterior group of the fit (dims ``chain, draw, ...``)."""
        posterior: xr.Dataset = self._require_fit().groups["posterior"]
        return posterior

    @property
    def diagnostics(self) -> dict[str, Any]:
        """R-hat, bulk and tail ESS and divergences of the fit."""
        return self._require_fit().diagnostics

    @property
    def segments(self) -> tuple[str, ...]:
        """Segments of the fitted default-rate history, in the order of the draws."""
        return tuple(self._require_fit().config["segments"])

    def save(self, path: str | PathLike[str]) -> None:
        """Write the posterior and config to netCDF (``arviz.InferenceData``)."""
        fit = self._require_fit()
        groups = {k: v.copy() for k, v in fit.groups.items()}
        cfg = dict(fit.config, free=fit.free, diagnostics=fit.diagnostics)
        groups["posterior"].attrs.update(C.config_attrs(self.KIND, cfg))
        write_idata(path, groups, kind=self.KIND)

    @classmethod
    def _read_saved(
        cls, path: str | PathLike[str], max_bytes: int | None
    ) -> tuple[dict[str, Any], Any]:
        """Return the verified config and the InferenceData of a file written by `save`."""
        idata = open_idata(path, max_bytes=max_bytes)
        if "posterior" not in idata.groups():
            raise C.ModelFileError(f"{path} has no posterior group; it is not a saved model.")
        return C.read_config(idata.posterior.attrs, cls.KIND, path), idata

    def _restore(self, cfg: dict[str, Any], idata: Any) -> None:
        """Set the fit from a saved config and InferenceData (`_read_saved`)."""
        free, diag = cfg.pop("free"), cfg.pop("diagnostics")
        groups = {g: idata[g].load() for g in idata.groups()}
        self._fit = C.DefaultFit(config=cfg, groups=groups, free=free, diagnostics=diag)
