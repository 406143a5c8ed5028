"""A posterior is compressed on disk: its in-memory size is estimated from the header first.

Before: a 2.6 MB file with 3e6 draws made `riskmodel validate` use 5 GB. Now the file is refused
before any variable is read, with a message naming the file, the size and the fix.
"""

from __future__ import annotations

import time
import tracemalloc

import netCDF4
import numpy as np
import pytest
import yaml

import riskmodel as rm
from riskmodel.cli import main
from riskmodel.models import DefaultModel, TransitionModel, load_parameter_draws
from riskmodel.models.draws import MAX_POSTERIOR_BYTES, netcdf_memory_estimate

STATES = rm.LIFECYCLE
SEGMENTS = ("retail", "smb")
N_BIG = 3_000_000  # 3e6 × 2 × 6 × 6 float64 = 1.6 GiB in memory


def _huge_compressed_posterior(path, n_draws: int = N_BIG) -> None:
    """A riskmodel-looking posterior of `n_draws` draws that is a few kB on disk.

    The variable is created compressed and never written: every chunk is the fill value, which
    HDF5 does not even store (zeros written out compress to almost nothing as well).
    """
    n = STATES.n
    with netCDF4.Dataset(path, "w") as root:
        grp = root.createGroup("posterior")
        dims = {"chain": 1, "draw": n_draws, "segment": len(SEGMENTS), "from_state": n}
        for name, size in {**dims, "to_state": n}.items():
            grp.createDimension(name, size)
        grp.createVariable(
            "transition",
            "f8",
            ("chain", "draw", "segment", "from_state", "to_state"),
            zlib=True,
            chunksizes=(1, 4096, len(SEGMENTS), n, n),
        )
        grp.setncatts(STATES.to_attrs())


@pytest.fixture(scope="module")
def huge(tmp_path_factory):
    path = tmp_path_factory.mktemp("posterior") / "huge.nc"
    _huge_compressed_posterior(path)
    return path


def _small_draws(n_draws: int = 40) -> rm.ParameterDraws:
    rng = np.random.default_rng(1)
    p = rng.dirichlet(np.ones(STATES.n), size=(n_draws, len(SEGMENTS), STATES.n))
    p[..., STATES.absorbing_idx, :] = np.eye(STATES.n)[STATES.absorbing_idx]
    return rm.ParameterDraws(STATES, SEGMENTS, p)


def test_header_estimate_matches_the_loaded_size(tmp_path):
    draws = _small_draws()
    path = tmp_path / "small.nc"
    draws.to_netcdf(path)
    size, variables = netcdf_memory_estimate(path, group="posterior")
    assert variables[0][0] == "transition"
    assert size >= draws.transitions.nbytes  # plus the small coordinate variables
    assert size < 1.1 * draws.transitions.nbytes + 10_000


def test_huge_posterior_refused_fast_with_little_memory(huge):
    assert huge.stat().st_size < 1_000_000  # small on disk
    tracemalloc.start()
    start = time.perf_counter()
    try:
        with pytest.raises(rm.ResourceLimitError) as info:
            load_parameter_draws(huge)
        seconds = time.perf_counter() - start
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert seconds < 2.0 and peak < 20 * 2**20, (seconds, peak)
    message = str(info.value)
    assert message.startswith(f"{huge}: ")
    assert "1.61 GiB" in message and "draw 3,000,000" in message  # 3e6·2·36·8 B = 1.609 GiB
    assert "Thin the draws" in message and "max_posterior_bytes" in message


def test_the_limit_is_a_keyword(tmp_path):
    path = tmp_path / "small.nc"
    _small_draws(40).to_netcdf(path)
    assert load_parameter_draws(path).n_draws == 40  # far below the default
    with pytest.raises(rm.ResourceLimitError, match="more than the limit"):
        load_parameter_draws(path, max_bytes=10_000)  # 40 × 2 × 36 × 8 B = 23 kB
    assert MAX_POSTERIOR_BYTES == 2**30


def test_scenario_and_validate_refuse_the_huge_posterior(huge, tmp_path, tiny_config, capsys):
    (tmp_path / "huge.nc").write_bytes(huge.read_bytes())
    tiny_config["parameters"] = {"posterior": "huge.nc"}
    tiny_config["portfolio"]["cohorts"][1]["segment"] = "smb"
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(tiny_config))
    with pytest.raises(rm.ResourceLimitError) as info:
        rm.load_scenario(path)
    assert str(info.value).startswith(f"{path}: parameters -> posterior: ")
    assert "Thin the draws" in str(info.value)
    # the command line: exit 2 and the message, no traceback
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert "Thin the draws" in err and "Traceback" not in err


def test_model_loaders_check_the_size_too(huge):
    for load in (TransitionModel.load, DefaultModel.load):
        with pytest.raises(rm.ResourceLimitError, match="Thin the draws"):
            load(huge)
