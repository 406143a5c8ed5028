"""The "Assumptions and limitations" section of a run report, generated from the run's settings.

Each statement is chosen by what the run actually did (point parameters or posterior draws,
fixed or Beta LGD, downturn LGD, importance sampling, quasi-Monte Carlo, the large-pool
approximation, macro paths, shocks, actions), so a validator reads the model that produced the
numbers, not a generic description. The wording follows the derivations in
`riskmodel.simulation.kernel` and `riskmodel.simulation.expected`.
"""

from __future__ import annotations

from riskmodel.metrics.expectations import exact_dataset
from riskmodel.metrics.result import SimulationResult
from riskmodel.report.html import _e
from riskmodel.scenarios.load import Scenario

__all__ = ["assumptions", "assumptions_html"]


def _copula(scenario: Scenario) -> str:
    if scenario.factors is not None:  # sector factors (issue 15)
        return (
            "<b>Sector factors (Gaussian copula).</b> Each segment's defaults follow its own "
            "systematic factor; the factors Z<sub>t</sub> ~ Normal(shift<sub>t</sub>, C) are "
            "jointly normal with correlation matrix C, independent across periods; given its "
            "factor the default probability of state i is Φ((Φ⁻¹(p<sub>i</sub>) − √ρ<sub>s</sub> "
            f"Z)/√(1 − ρ<sub>s</sub>)): {_e(scenario.factors.describe(scenario.segments))}. No "
            "serial correlation of Z: downturns persist only through the shift paths."
        )
    rho = sorted({float(c) for c in scenario.correlation})
    rho_text = f"ρ = {rho[0]:.4g}" if len(rho) == 1 else f"ρ drawn per path ({len(rho)} values)"
    return (
        "<b>One-factor Gaussian copula.</b> Defaults of all segments and cohorts are correlated "
        "through a single systematic factor Z<sub>t</sub> ~ Normal(shift<sub>t</sub>, 1), "
        "independent across periods; given Z the default probability of state i is "
        "Φ((Φ⁻¹(p<sub>i</sub>) − √ρ Z)/√(1 − ρ)) with "
        f"{rho_text}. There are no sector factors and no serial correlation of Z: downturns "
        "persist only through the scenario's shift path."
    )


def _model(scenario: Scenario) -> list[str]:
    cfg = scenario.config
    out = [_copula(scenario)]
    out += [
        "<b>Markov property.</b> Customers move between states by a first-order Markov chain "
        "per segment: the next state depends only on the current one (not on time in state, "
        "vintage or history), and customers of a cohort are exchangeable. Non-default "
        "destinations keep their proportions when the default probability moves with Z.",
    ]
    if cfg.macro is not None:
        out.append(
            "<b>Macro covariates.</b> Transition probabilities follow the scenario's macro path "
            "through the fitted covariate model; the path is taken as given (no uncertainty)."
        )
    if scenario.n_draws > 1 and cfg.simulation.parameter_uncertainty:
        out.append(
            f"<b>Parameter uncertainty included.</b> Each path uses one of {scenario.n_draws} "
            "posterior draws, so the loss distribution mixes estimation and process risk."
        )
    elif scenario.n_draws > 1:
        out.append(
            "<b>Parameter uncertainty off.</b> Every path uses the posterior mean "
            "(`parameter_uncertainty: false`): estimation error is not in the tail."
        )
    else:
        out.append(
            "<b>Point parameters.</b> The transition matrices are taken as known: estimation "
            "error is not in the loss distribution (fit a posterior to include it)."
        )
    return out


def _lgd(scenario: Scenario) -> list[str]:
    lgd = scenario.config.lgd
    mean = lgd.mean + lgd.addon
    if lgd.sd == 0:
        text = f"<b>Fixed LGD</b> of {mean:.4g} for every default."
    else:
        text = (
            f"<b>Beta LGD</b> (mean {mean:.4g}, sd {lgd.sd:.4g}) per defaulting customer. The "
            "average LGD over a cohort's defaults in a period is drawn in one go from a Beta "
            "with the same mean and the variance of the average of independent draws "
            "(moment-matched: exact for one default, the first two moments for any number)."
        )
    if lgd.downturn is not None:
        text += (
            f" <b>Downturn LGD:</b> the mean moves with Z as Φ(Φ⁻¹(m) − "
            f"{lgd.downturn.sensitivity:g} Z<sub>t</sub>), so LGD and default rates rise "
            "together."
        )
    return [text]


def _methods(scenario: Scenario, result: SimulationResult) -> list[str]:
    sim = scenario.config.simulation
    exact = exact_dataset(result.data) is not None
    out = [
        (
            "<b>Exact and Monte Carlo.</b> EL, ECL and the expected defaults, "
            + ("churn and margin " if scenario.states.churn is not None else "and margin ")
            + "are exact expectations of the model (no Monte Carlo error; the paths' estimates are "
            "shown as a cross-check). VaR, ES, quantiles and bands are Monte Carlo estimates "
            "from the paths, shown ± one standard error."
        )
        if exact
        else (
            "<b>Monte Carlo.</b> Every figure is estimated from the paths and shown ± one "
            "standard error (this result carries no exact expectations)."
        )
    ]
    if sim.importance_sampling:
        out.append(
            f"<b>Importance sampling</b> ({_e(sim.importance_method)}) of the systematic factor: "
            "paths carry likelihood-ratio weights and every estimator is self-normalised; the "
            "effective number of paths is in the Monte Carlo diagnostics."
        )
    if sim.qmc:
        out.append(
            f"<b>Quasi-Monte Carlo</b> ({sim.qmc_replicates} randomised replicates): standard "
            "errors of expectations come from the spread of the replicates."
        )
    if sim.approximation == "large_pool":
        out.append(
            "<b>Large-pool approximation</b> for cohorts of at least "
            f"{sim.large_pool_min_customers:,} customers: their default counts are the "
            "conditional expectation given Z instead of binomial draws (idiosyncratic noise "
            "ignored), which understates the spread of small portfolios."
        )
    if sim.keep == "totals":
        out.append("Only per-path totals and per-period means were kept (`keep: totals`).")
    return out


def _period(scenario: Scenario) -> list[str]:
    """Return the period length, the 12-month ECL window and any conversion of the parameters."""
    period, cfg = scenario.period, scenario.config
    w = period.ecl_window
    window = (
        f"{w:g} period(s)"
        if period.whole_window
        else f"{w:.4g} periods (the period straddling month 12 counted pro rata)"
    )
    text = f"<b>Periods of {_e(period.describe())}.</b> The 12-month ECL covers {window}"
    if cfg.annual_discount_rate is not None:
        text += "; annual discount rates are converted to the period as (1 + r)^(months/12) − 1"
    out = [text + "."]
    conv = scenario.conversion
    if conv is not None and "segments" in conv:
        regularised = sorted(s for s, v in conv["segments"].items() if v["regularised"])
        frm = f"{conv['from']['length']:g} {_e(conv['from']['unit'])}"
        out.append(
            f"<b>Matrices converted</b> from periods of {frm} through their generator, "
            "P = expm(Q · L). "
            + (
                f"Segment(s) {_e(', '.join(regularised))} had no valid generator (the embedding "
                "problem): Q was regularised (Kreinin–Sidelnikova), and expm(Q) differs from "
                f"the given matrix by up to {conv['distance_max']:.3g} in a probability."
                if regularised
                else "Every matrix had a valid generator (conversion exact up to rounding)."
            )
        )
    elif conv is not None:
        out.append(
            f"<b>Continuous-time posterior</b> ({_e(conv['source'])}): transition matrices are "
            f"expm(Q · {conv['length_in_time_unit']:.6g}) per draw, with Q per "
            f"{_e(conv['time_unit'])}."
        )
    return out


def _as_list(v: float | list[float]) -> list[float]:
    return v if isinstance(v, list) else [v]


def _limitations(scenario: Scenario) -> list[str]:
    cfg = scenario.config
    out = [
        "<b>Limitations.</b> Exposure "
        + (
            "follows the scenario's amortisation path"
            if any(float(a) != 0 for a in _as_list(cfg.exposure.amortisation))
            else "is constant"
        )
        + " and is not random; margin is a fixed amount per customer and period; discounting "
        "uses the scenario's rate"
        + (
            "; value lost to churn is the run-off of the churners' margin (an upper bound)"
            if scenario.states.churn is not None
            else ""
        )
        + ". Figures hold for this scenario's horizon and portfolio only."
    ]
    if cfg.shocks:
        out.append(
            "Scenario shocks (multipliers on the default and churn probabilities, the stay "
            "probability absorbing the change) are applied as given."
        )
    if cfg.actions:
        out.append("Management actions change the paths from their trigger period on.")
    return out


def assumptions(scenario: Scenario, result: SimulationResult) -> list[str]:
    """Return the run's assumptions and limitations, one HTML sentence group per item.

    Parameters
    ----------
    scenario : Scenario
        The simulated scenario (its settings choose the statements).
    result : SimulationResult
        The result (whether it carries exact expectations).

    Returns
    -------
    list of str
        HTML fragments (user strings escaped).
    """
    return [
        *_model(scenario),
        *_lgd(scenario),
        *_methods(scenario, result),
        *_period(scenario),
        *_limitations(scenario),
    ]


def assumptions_html(scenario: Scenario, result: SimulationResult) -> str:
    """`assumptions` as a bulleted list."""
    items = "".join(f"<li>{a}</li>" for a in assumptions(scenario, result))
    return f"<ul class='assumptions'>{items}</ul>"
