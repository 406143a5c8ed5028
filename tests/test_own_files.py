"""Every `save`/`to_netcdf` of the Python API replaces only a file riskmodel wrote itself."""

from __future__ import annotations

import os

import numpy as np
import pytest

import riskmodel as rm
from riskmodel._files import STAMP, replace_own_file, written_by_riskmodel


def _writers(tiny_config, tmp_path):
    """(name, save(path)) for every object that saves to a caller-named netCDF path."""
    from riskmodel.models.draws import ParameterDraws

    result = rm.simulate(rm.scenario_from_dict(tiny_config), paths=64, seed=1, progress=False)
    ss = rm.StateSpace.lifecycle()
    mats = np.zeros((3, 1, ss.n, ss.n))
    mats[..., :, :] = np.eye(ss.n)
    mats[..., :4, :] = 1.0 / ss.n
    draws = ParameterDraws(ss, ("all",), mats)
    return [("SimulationResult", result.to_netcdf), ("ParameterDraws", draws.to_netcdf)]


@pytest.fixture
def writers(tiny_config, tmp_path):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rm.TailResolutionWarning)  # 64 paths: a thin tail
        return _writers(tiny_config, tmp_path)


def test_a_file_of_the_user_is_never_replaced(writers, tmp_path):
    for name, save in writers:
        precious = tmp_path / f"{name}.nc"
        precious.write_text("my own data\n")
        with pytest.raises(rm.OutputDirError, match="did not write it"):
            save(precious)
        assert precious.read_text() == "my own data\n"
        assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_links_and_folders_are_refused(writers, tmp_path):
    target = tmp_path / "target.nc"
    target.write_text("keep")
    link = tmp_path / "link.nc"
    link.symlink_to(target)
    folder = tmp_path / "folder.nc"
    folder.mkdir()
    for _, save in writers:
        with pytest.raises(rm.OutputDirError, match="symbolic link"):
            save(link)
        with pytest.raises(rm.OutputDirError, match="not a regular file"):
            save(folder)
    assert target.read_text() == "keep" and link.is_symlink() and folder.is_dir()


def test_its_own_file_is_replaced_and_stamped(writers, tmp_path):
    for name, save in writers:
        path = tmp_path / f"{name}.nc"
        save(path)
        save(path)  # the second save replaces the first: riskmodel wrote it
        assert written_by_riskmodel(path)
        import netCDF4

        with netCDF4.Dataset(path) as ds:
            assert ds.getncattr(STAMP) == name


def test_a_failed_write_leaves_the_earlier_file_and_no_temporary(tmp_path):
    path = tmp_path / "x.nc"
    replace_own_file(path, lambda tmp: _tiny_netcdf(tmp, 1.0), kind="test")
    before = path.read_bytes()

    def fail(tmp):
        _tiny_netcdf(tmp, 2.0)
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        replace_own_file(path, fail, kind="test")
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["x.nc"]


def test_model_saves_refuse_foreign_files(tmp_path):
    """A TransitionModel save refuses a foreign file (conjugate fit: no sampler needed);
    DefaultModel and IntensityModel saves call the same `replace_own_file`."""
    import xarray as xr

    ss = rm.StateSpace.lifecycle()
    values = np.zeros((1, ss.n, ss.n), dtype=int)
    values[0, :4, :] = 50
    counts = xr.DataArray(
        values,
        dims=("segment", "from_state", "to_state"),
        coords={"segment": ["all"], "from_state": list(ss.names), "to_state": list(ss.names)},
    )
    model = rm.TransitionModel(rm.StateSpace.lifecycle(), pooling="none")
    model.fit(counts, draws=50, chains=1, seed=1)
    precious = tmp_path / "model.nc"
    precious.write_bytes(b"\x89HDF\r\n not really")
    with pytest.raises(rm.OutputDirError):
        model.save(precious)
    assert precious.read_bytes() == b"\x89HDF\r\n not really"
    own = tmp_path / "own.nc"
    model.save(own)
    model.save(own)
    assert rm.TransitionModel.load(own).transition_matrix("mean").shape == (1, 6, 6)


def _tiny_netcdf(path, value):
    import xarray as xr

    xr.Dataset({"v": ((), value)}).to_netcdf(path, engine="netcdf4")
