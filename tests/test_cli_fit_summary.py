"""`riskmodel fit` prints its convergence summary; PyMC's log messages only with --verbose."""

from __future__ import annotations

import logging

import pytest
import yaml

import riskmodel as rm
from riskmodel.cli import _sampler_logs, main
from riskmodel.data.synthetic import simulate_panel
from riskmodel.models._common import ESS_PER_CHAIN, RHAT_MAX
from riskmodel.report.headline import fit_headline

STATES = {
    "names": ["good", "watch", "churned", "defaulted"],
    "absorbing": ["churned", "defaulted"],
    "default": "defaulted",
    "churn": "churned",
}
MATRIX = [
    [0.90, 0.06, 0.02, 0.02],
    [0.10, 0.80, 0.03, 0.07],
    [0.00, 0.00, 1.00, 0.00],
    [0.00, 0.00, 0.00, 1.00],
]


def _diag(**changes) -> dict:
    base = {
        "divergences": 0,
        "max_rhat": 1.002,
        "max_rhat_var": "transition",
        "min_ess_bulk": 900.0,
        "min_ess_bulk_var": "rho",
        "chains": 2,
        "draws": 500,
    }
    return {**base, **changes}


def test_fit_prints_the_conjugate_summary_after_the_posterior_path(tmp_path, capsys):
    panel = tmp_path / "panel.csv"
    ss = rm.StateSpace(**STATES)
    simulate_panel({"retail": MATRIX}, ss, n_customers=40, n_periods=5, seed=3).to_csv(
        panel, index=False
    )
    config = tmp_path / "model.yaml"
    config.write_text(yaml.safe_dump({"states": STATES, "pooling": "none", "draws": 50}))
    out = tmp_path / "post.nc"
    assert main(["fit", str(panel), "--config", str(config), "--out", str(out), "--no-report"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("fit: posterior written to")
    assert lines[1].split() == [
        "Model",
        "Method",
        "max",
        "R-hat",
        "min",
        "bulk",
        "ESS",
        "Divergences",
    ]
    assert lines[3].startswith("transitions  conjugate (exact)")
    assert lines[-1].startswith("Convergence: ok")


def test_mcmc_summary_shows_rhat_ess_and_divergences_and_passes():
    text = fit_headline({"transition_model": _diag(), "default_model": _diag(max_rhat=1.004)})
    assert "1.002 (transition)" in text and "900 (rho)" in text
    assert "correlation  NUTS, 2 chains × 500 draws" in text
    assert text.splitlines()[-1].startswith("Convergence: ok (R-hat")


@pytest.mark.parametrize(
    ("change", "remedy"),
    [
        ({"max_rhat": RHAT_MAX + 0.05}, "refit with more tuning and draws"),
        ({"min_ess_bulk": ESS_PER_CHAIN * 2 - 1.0}, "refit with more draws"),
        ({"divergences": 3}, "target_accept"),
    ],
)
def test_failed_check_prints_failed_and_the_remedy(change, remedy):
    text = fit_headline({"transition_model": _diag(**change)})
    assert "Convergence: FAILED" in text and remedy in text
    assert "transitions: MCMC diagnostics:" in text


def test_sampler_logs_only_with_verbose():
    pymc = logging.getLogger("pymc")
    before = pymc.level
    with _sampler_logs(verbose=False):
        assert not pymc.isEnabledFor(logging.WARNING)
        assert pymc.isEnabledFor(logging.ERROR)
    assert pymc.level == before
    with _sampler_logs(verbose=True):
        assert pymc.level == before


def test_fit_help_mentions_verbose(capsys):
    assert main(["fit", "--help"]) == 0
    assert "--verbose" in capsys.readouterr().out


def test_sampler_logs_survive_pymc_configuring_its_logger_on_import():
    # PyMC sets its logger to INFO when first imported; the CLI imports it lazily, so a level set
    # before that import was overwritten and "NUTS: [...]" / "Sampling 4 chains" were printed
    import subprocess
    import sys

    code = (
        "import logging\n"
        "from riskmodel.cli import _sampler_logs\n"
        "with _sampler_logs(verbose=False):\n"
        "    import pymc\n"
        "    print(logging.getLogger('pymc').getEffectiveLevel())\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert int(out.stdout.strip().splitlines()[-1]) == logging.ERROR
