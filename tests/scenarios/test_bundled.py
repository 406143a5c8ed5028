"""The bundled scenario set: every file loads and runs, stresses rise coherently."""

from __future__ import annotations

from pathlib import Path

import pytest

import riskmodel as rm
from riskmodel.cli import main

# Small runs check expectations and invariants here; their tail levels are thin by design,
# which riskmodel reports with TailResolutionWarning (its own tests: tests/metrics).
pytestmark = pytest.mark.filterwarnings("ignore::riskmodel.errors.TailResolutionWarning")

ROOT = Path(rm.__file__).resolve().parents[1]
FILES = sorted((ROOT / "scenarios").glob("*.yaml"))
ORDER = ("baseline", "adverse", "severe")


def test_every_bundled_file_validates():
    assert {f.stem for f in FILES} >= {*ORDER, "ifrs9", "retention_action"}
    assert main(["validate", *map(str, FILES)]) == 0


@pytest.fixture(scope="module")
def summaries() -> dict[str, dict]:
    return {
        name: rm.run(ROOT / f"scenarios/{name}.yaml", paths=2000, seed=5, progress=False).summary()
        for name in ORDER
    }


def test_expected_loss_and_expected_shortfall_rise_with_severity(summaries):
    el = [summaries[n]["loss"]["expected"] for n in ORDER]
    ecl = [summaries[n]["ecl"]["lifetime"] for n in ORDER]
    assert el[0] < el[1] < el[2] and ecl[0] < ecl[1] < ecl[2]
    for q in ("0.99", "0.999"):
        es = [summaries[n]["loss"]["es"][q] for n in ORDER]
        assert es[0] < es[1] < es[2], q


def test_the_set_differs_only_in_its_stresses(summaries):
    base = summaries["baseline"]["stresses"]
    assert base["shocks"] == [] and base["lgd"]["addon"] == 0.0
    assert summaries["adverse"]["stresses"]["lgd"]["addon"] == pytest.approx(0.05)
    severe = summaries["severe"]["stresses"]
    assert severe["lgd"]["addon"] == pytest.approx(0.10)
    assert min(severe["systematic_shift"]) == pytest.approx(-1.2)
    assert max(severe["shocks"][0]["default_multiplier"]) == pytest.approx(1.3)
    for s in summaries.values():
        assert s["stresses"]["lgd"]["downturn_sensitivity"] == pytest.approx(0.15)
        assert s["stresses"]["macro"] is None
        assert s["value_lost_to_churn"]["expected"] > 0
