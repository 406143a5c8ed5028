"""Loading scenario files: YAML → validated config → inputs read → a derived, frozen `Scenario`.

This module does the reading (the YAML, the portfolio CSV, the posterior file, each hashed for
provenance) and nothing else; `riskmodel.scenarios.scenario.derive` turns the validated config
and what was read into the engine's arrays, without touching a file.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from riskmodel._validate import check_flag, describe
from riskmodel.config.safe_yaml import read_yaml
from riskmodel.data.portfolio import Portfolio
from riskmodel.errors import ArgumentError
from riskmodel.scenarios.derive import check_portfolio
from riskmodel.scenarios.names import read_names, read_table
from riskmodel.scenarios.parameters import PosteriorDraws, read_posterior, sha256
from riskmodel.scenarios.scenario import Scenario, derive, validate_config
from riskmodel.scenarios.stresses import fail, per_period

__all__ = ["Scenario", "derive", "load_scenario", "per_period", "read_yaml", "scenario_from_dict"]


def load_scenario(
    path: str | Path,
    *,
    allow_outside_files: bool = False,
    max_posterior_bytes: int | None = None,
) -> Scenario:
    """Load and validate a scenario YAML file.

    Paths inside the file (``portfolio.file``, ``portfolio.names``, ``parameters.posterior``) are
    resolved relative to the YAML file, symlinks followed, and must lead into the YAML file's
    folder (or below) or into the current working folder (or below); a scenario from someone
    else cannot make riskmodel read ``../../etc/shadow``. Only regular files are read: a folder,
    FIFO or device is refused as such. File contents are quoted in messages only as short
    sanitised excerpts. The YAML is read by `read_yaml` (no Python tags, no duplicate keys,
    bounded aliases).

    Parameters
    ----------
    path : str or Path
    allow_outside_files : bool, default False
        Also read files outside those folders (for scenarios you trust; the command line's
        ``--allow-outside-files``).
    max_posterior_bytes : int, optional
        Refuse a posterior whose arrays would take more memory than this (default
        `riskmodel.models.draws.MAX_POSTERIOR_BYTES`, 1 GiB), estimated from the file's
        header before anything is loaded.

    Returns
    -------
    Scenario

    Raises
    ------
    ScenarioError
        For any problem with the file or the files it points to; the message names the file,
        the field path, what was wrong and how to fix it.
    UnsafeFileError
        (a ScenarioError) If a file it names is outside the allowed folders or not a regular
        file.
    ResourceLimitError
        If the YAML is too large or its aliases expand too far, or the posterior is too large.

    Examples
    --------
    >>> import riskmodel as rm
    >>> sc = rm.load_scenario("scenarios/baseline.yaml")  # doctest: +SKIP
    >>> sc.horizon  # doctest: +SKIP
    24
    """
    if isinstance(path, Scenario):
        raise ArgumentError(
            f"`path` is already a loaded Scenario ({path.name!r}); use it as it is, e.g. "
            "rm.simulate(scenario)."
        )
    if not isinstance(path, str | os.PathLike) or not str(path):
        raise ArgumentError(
            f"`path` must be the name of a scenario YAML file (str or Path); got {describe(path)}."
        )
    check_flag("allow_outside_files", allow_outside_files)
    path = Path(path)
    data = read_yaml(path)
    return _build(
        data,
        file=path,
        base_dir=path.parent,
        allow_outside_files=allow_outside_files,
        max_posterior_bytes=max_posterior_bytes,
    )


def scenario_from_dict(
    data: Mapping[str, Any],
    *,
    base_dir: str | Path | None = None,
    allow_outside_files: bool = True,
    max_posterior_bytes: int | None = None,
) -> Scenario:
    """Validate a scenario given as a mapping (same keys as the YAML file).

    Relative file paths are resolved against `base_dir` (default: the current directory). A
    mapping built in code is trusted like the code: its paths may lead anywhere by default. For
    a mapping that came from elsewhere (a request, someone's JSON) pass
    ``allow_outside_files=False`` to apply the folder rule of `load_scenario` (paths must lead
    into `base_dir` or the working folder). Only regular files are read either way, and
    `max_posterior_bytes` is as for `load_scenario`.
    """
    if not isinstance(data, Mapping):
        raise fail(None, "", f"a scenario must be a mapping of keys; got a {type(data).__name__}.")
    return _build(
        dict(data),
        file=None,
        base_dir=Path(base_dir) if base_dir else Path.cwd(),
        allow_outside_files=allow_outside_files,
        max_posterior_bytes=max_posterior_bytes,
    )


# ---------------------------------------------------------------------------------- internals
def _read_portfolio(
    name: str, *, file: Path | None, base_dir: Path, allow_outside: bool
) -> tuple[Portfolio, Path]:
    """Read the CSV `name` of ``portfolio: file``; return it and its resolved path."""
    return read_table(
        name,
        Portfolio.from_csv,
        where="portfolio -> file",
        what="portfolio CSV",
        file=file,
        base_dir=base_dir,
        allow_outside=allow_outside,
    )


def _build(
    data: Mapping[str, Any],
    *,
    file: Path | None,
    base_dir: Path,
    allow_outside_files: bool,
    max_posterior_bytes: int | None,
) -> Scenario:
    """Validate `data`, read the files it names (relative to `base_dir`) and derive."""
    cfg = validate_config(data, file)
    inputs: dict[str, str] = {}
    if file is not None:
        inputs[str(file)] = sha256(file)
    portfolio: Portfolio | None = None
    portfolio_file: Path | None = None
    if cfg.portfolio.file is not None:
        portfolio, portfolio_file = _read_portfolio(
            cfg.portfolio.file, file=file, base_dir=base_dir, allow_outside=allow_outside_files
        )
    # the portfolio's problems are reported before the posterior is read (as derive does)
    check_portfolio(
        cfg, cfg.states.state_space(), portfolio, file=file, portfolio_file=portfolio_file
    )
    if portfolio_file is not None:
        inputs[str(portfolio_file)] = sha256(portfolio_file)
    names = None
    if isinstance(cfg.portfolio.names, str):
        names, names_file = read_names(
            cfg.portfolio.names, file=file, base_dir=base_dir, allow_outside=allow_outside_files
        )
        inputs[str(names_file)] = sha256(names_file)
    posterior: PosteriorDraws | None = None
    if cfg.parameters.posterior is not None:
        posterior, posterior_file = read_posterior(
            cfg.parameters.posterior,
            file=file,
            base_dir=base_dir,
            allow_outside=allow_outside_files,
            max_bytes=max_posterior_bytes,
        )
        inputs[str(posterior_file)] = sha256(posterior_file)
    return derive(
        cfg,
        portfolio,
        posterior,
        names=names,
        source=file,
        inputs=inputs,
        base_dir=base_dir,
        portfolio_file=portfolio_file,
    )
