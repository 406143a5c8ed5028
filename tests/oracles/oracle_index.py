"""Registry: which test is the oracle of each published field (read by scripts/oracle_table.py).

Every number riskmodel publishes — in ``summary.json``, ``comparison.json``,
``sensitivity.json`` and ``results.nc`` — must match one entry here. ``fields`` are `fnmatch`
patterns over the normalised names that ``scripts/oracle_table.py`` reads from actual outputs
(``[]`` a list position, ``<q>`` a level, ``<segment>``, ``<state>``, ``<cohort>``,
``<action>``, ``<alert>``, ``<factor>`` labels; ``results.nc`` entries are variable names). A
field takes the *first* entry that matches it. ``tests`` name the oracle tests
(``path::function``); ``tests/oracles/test_oracle_table.py`` checks that they exist.

To publish a new number: write its oracle test, add an entry, then
``python scripts/oracle_table.py --write`` (docs/oracles.md).
"""

from __future__ import annotations

S = "tests/oracles/test_summary_oracles.py::"
C = "tests/oracles/test_contribution_oracles.py::"
COV = "tests/oracles/test_coverage.py::"
A = "tests/oracles/test_alert_oracles.py::"
AC = "tests/oracles/test_action_oracles.py::"
MR = "tests/oracles/test_model_risk_oracles.py::"
K = "tests/oracles/test_comparison_oracles.py::"
SE = "tests/oracles/test_sensitivity_oracles.py::"
SM = "tests/oracles/test_sensitivity_method_oracles.py::"
R = "tests/oracles/test_results_oracles.py::"
D = "tests/oracles/test_dynamics_oracles.py::"
SUMMARY, RESULTS = "summary.json", "results.nc"
COMPARISON, SENSITIVITY = "comparison.json", "sensitivity.json"
EXPECTED = ("loss", "defaults", "churn", "value", "value_lost_to_churn")
PERIOD_KPIS = ("loss", "defaults", "churn", "margin")
EXPECTED_KPIS = ("loss", "defaults", "churn", "value")
EXACT_METRICS = (
    "expected_loss",
    "ecl_lifetime",
    "ecl_12_period",
    "value",
    "expected_defaults",
    "expected_churn",
)
TORNADO_KEYS = (
    "base",
    "factors[]/low",
    "factors[]/high",
    "factors[]/value_low",
    "factors[]/value_high",
    "factors[]/swing",
    "factors[]/stderr",
)


def each(prefix: str, *names: str, m: tuple[str, ...] = ("",)) -> list[str]:
    """``prefix + name`` for every name (``""`` if none), with ``<m>`` replaced by each of `m`.

    Patterns name every final key explicitly, so a new key of a section has no entry until
    someone writes its oracle (wildcards stand only for labels such as ``<q>`` or metrics).
    """
    out = []
    for sub in m:
        for name in names or ("",):
            out.append((prefix + name).replace("<m>", sub))
    return out


ORACLES: list[dict] = [
    # ------------------------------------------------------------------ summary.json
    {
        "file": SUMMARY,
        "fields": ["/paths", "/seed", "/horizon", "/portfolio/customers", "/portfolio/exposure"],
        "oracle": "the inputs (paths, seed, horizon, customers and exposure of the book)",
        "tests": [S + "test_identity_fields"],
    },
    {
        "file": SUMMARY,
        "fields": [f"/{f}/expected" for f in EXPECTED]
        + [f"/{f}/stderr/expected" for f in EXPECTED],
        "oracle": "closed forms `N p`, `N c`, `M df (1 − p − c)`, `M c df`; error 0 (exact)",
        "tests": [S + "test_expectations_are_the_closed_forms"],
    },
    {
        "file": SUMMARY,
        "fields": [
            *(f"/{f}/expected_mc" for f in EXPECTED),
            *(f"/{f}/stderr_mc" for f in EXPECTED),
            *(f"/{f}/stderr/expected_mc" for f in EXPECTED),
        ],
        "oracle": "self-normalised mean and delta-method error recomputed from `results.nc`, "
        "covering the closed form; errors cover at 95% over 200 replicates",
        "tests": [
            S + "test_monte_carlo_crosschecks_agree_with_the_saved_paths_and_the_truth",
            COV + "test_expectation_crosscheck_errors_cover_the_exact_value",
            COV + "test_replicate_spread_matches_the_reported_errors",
        ],
    },
    {
        "file": SUMMARY,
        "fields": [f"/{f}/z_mc" for f in EXPECTED],
        "oracle": "`(expected_mc − expected) / stderr_mc`",
        "tests": [S + "test_method_and_z_scores"],
    },
    {
        "file": SUMMARY,
        "fields": ["/loss/std", "/value/std"],
        "oracle": "Vasicek variance `Φ₂(a, a; ρ) − p²` (large-pool quadrature)",
        "tests": [S + "test_loss_and_value_std_match_the_vasicek_variance"],
    },
    {
        "file": SUMMARY,
        "fields": ["/loss/var/<q>", "/loss/es/<q>", "/defaults/var/<q>"],
        "oracle": "Vasicek quantile; conditional tail mean `Φ₂(Φ⁻¹p, Φ⁻¹(1−q); √ρ)/(1−q)`",
        "tests": [S + "test_loss_and_defaults_var_es_match_vasicek"],
    },
    {
        "file": SUMMARY,
        "fields": ["/loss/stderr/var/<q>", "/loss/stderr/es/<q>"],
        "oracle": "coverage of the Vasicek truth over 200 importance-sampled replicates "
        "(99.9% binomial band)",
        "tests": [
            COV + "test_var_errors_cover_the_vasicek_quantile",
            COV + "test_es_errors_cover_the_conditional_tail_mean",
            COV + "test_errors_cover_the_truth_under_the_mean_shift",
        ],
    },
    {
        "file": SUMMARY,
        "fields": ["/loss/tail_paths/<q>", "/defaults/tail_paths/<q>", "/value/tail_paths/<q>"],
        "oracle": "Kish size of the saved weights at or beyond VaR (below the value quantile)",
        "tests": [S + "test_tail_paths_are_the_kish_size_of_each_tail"],
    },
    {
        "file": SUMMARY,
        "fields": ["/value/quantiles/<q>", "/value/var/<q>", "/value/es/<q>"],
        "oracle": "`A (1 − Vasicek_q)`, `A (Vasicek_q − p)`, `A (tail mean − p)`",
        "tests": [S + "test_value_quantiles_and_value_at_risk_match_vasicek"],
    },
    {
        "file": SUMMARY,
        "fields": ["/value/stderr/var/<q>", "/value/stderr/es/<q>"],
        "oracle": "coverage of the closed forms over 200 replicates (99.9% binomial band)",
        "tests": [
            COV + "test_value_var_es_errors_cover_the_closed_forms",
            COV + "test_errors_cover_the_truth_under_the_mean_shift",
        ],
    },
    {
        "file": SUMMARY,
        "fields": [
            "/ecl/lifetime",
            "/ecl/12_period",
            "/ecl/by_period[]",
            "/ecl/cumulative_default_rate[]",
            "/ecl/marginal_default_rate[]",
            "/ecl/by_state/<state>/lifetime",
            "/ecl/by_state/<state>/lifetime_default_rate",
        ],
        "oracle": "`N p df` and `p` (one period); the textbook ECL over many periods",
        "tests": [
            S + "test_expectations_are_the_closed_forms",
            "tests/simulation/test_ecl.py::test_lifetime_and_12_period_ecl_match_the_textbook_formula",
        ],
    },
    {
        "file": SUMMARY,
        "fields": [
            "/ecl/12_month",
            "/ecl/exact",
            *each("/ecl/by_state/<state>/", "12_month", "12_period", "customers"),
            *each("/period/", "length", "ecl_12_month_periods"),
        ],
        "oracle": "the one period in every window; a quarterly run's 12 months are 4 periods",
        "tests": [
            S + "test_ecl_windows_period_and_diagnostics",
            "tests/scenarios/test_period.py::test_the_12_month_ecl_of_a_quarterly_run_sums_four_periods",
        ],
    },
    {
        "file": SUMMARY,
        "fields": ["/diagnostics/effective_sample_size", "/diagnostics/importance_sampling"],
        "oracle": "Kish ESS `(Σw)²/Σw²` of the saved weights; `E[w] = 1`",
        "tests": [S + "test_run_is_importance_sampled_with_heavy_weights"],
    },
    {
        "file": SUMMARY,
        "fields": ["/diagnostics/parameter_draws", "/diagnostics/block_size"],
        "oracle": "one draw (point parameters); the engine's block size",
        "tests": [S + "test_ecl_windows_period_and_diagnostics"],
    },
    {
        "file": SUMMARY,
        "fields": [
            *each("/expectations/by_period/<m>/", "exact[]", "mc[]", m=PERIOD_KPIS),
            *each("/expectations/by_segment/<m>/exact/<segment>", m=EXPECTED_KPIS),
            *each("/expectations/by_segment/loss/", "mc/<segment>", "stderr_mc/<segment>"),
            *each("/expectations/by_state/<m>/exact/<state>", m=EXPECTED_KPIS),
            "/expectations/by_state/customers/<state>",
        ],
        "oracle": "closed forms per period, segment and state; `mc` the weighted means of the "
        "paths; multi-period term structures with amortisation and churn",
        "tests": [
            S + "test_expectations_section_by_period_segment_and_state",
            S + "test_ecl_windows_period_and_diagnostics",
            D + "test_loss_term_structure_follows_amortisation",
            D + "test_churn_term_structure",
        ],
    },
    {
        "file": SUMMARY,
        "fields": [
            "/contributions/expected/<segment>",
            "/contributions/var/<q>/<segment>",
            "/contributions/es/<q>/<segment>",
        ],
        "oracle": "large-pool Euler: `N_s p_s(z_q)` (VaR), `N_s Φ₂(·)/(1−q)` (ES), `N_s p_s` "
        "(EL); a heavy-weight synthetic book whose composition changes under the weights",
        "tests": [
            C + "test_large_pool_var_contributions_are_the_segment_losses_at_the_factor_quantile",
            C + "test_large_pool_es_contributions_are_conditional_tail_means",
            C + "test_large_pool_el_contributions_are_exact_in_expectation",
            C + "test_synthetic_euler_contributions_use_the_weights",
            S + "test_single_segment_contributions_are_the_totals",
        ],
    },
    {
        "file": SUMMARY,
        "fields": [
            "/contributions/stderr/expected/<segment>",
            "/contributions/stderr/es/<q>/<segment>",
        ],
        "oracle": "coverage of the large-pool truth over 200 two-segment replicates; the "
        "documented ratio-estimator errors recomputed from the paths",
        "tests": [
            COV + "test_el_and_es_contribution_errors_cover_the_large_pool_truth",
            S + "test_contribution_totals_bandwidth_and_errors_of_one_segment",
        ],
    },
    {
        "file": SUMMARY,
        "fields": ["/contributions/stderr/var/<q>/<segment>"],
        "oracle": "the documented error (kernel ratio error plus the VaR's own error through "
        "the estimate's slope) recomputed from the paths; coverage of the large-pool truth over "
        "200 two-segment replicates",
        "tests": [
            S + "test_contribution_totals_bandwidth_and_errors_of_one_segment",
            COV + "test_var_contribution_errors_cover_the_large_pool_truth",
        ],
    },
    {
        "file": SUMMARY,
        "fields": [
            *each("/contributions/total/", "expected", "var/<q>", "es/<q>"),
            "/contributions/bandwidth/<q>",
        ],
        "oracle": "the loss's EL, VaR, ES; Silverman's rule on the weighted total",
        "tests": [S + "test_contribution_totals_bandwidth_and_errors_of_one_segment"],
    },
    {
        "file": SUMMARY,
        "fields": [
            *each(
                "/contributions_by_cohort/",
                "expected/<cohort>",
                "var/<q>/<cohort>",
                "es/<q>/<cohort>",
                "stderr/expected/<cohort>",
                "stderr/var/<q>/<cohort>",
                "stderr/es/<q>/<cohort>",
                "total/expected",
                "total/var/<q>",
                "total/es/<q>",
                "bandwidth/<q>",
            )
        ],
        "oracle": "one cohort: every figure equals the segment's (whose oracles are above); "
        "cohorts add up to segments",
        "tests": [
            S + "test_single_segment_contributions_are_the_totals",
            "tests/metrics/test_contributions.py::test_cohort_contributions_sum_to_segment_contributions",
        ],
    },
    {
        "file": SUMMARY,
        "fields": ["/alerts/<alert>/probability[]", "/alerts/<alert>/stderr[]"],
        "oracle": "default rate of period t is `p(Z_t)`: breach probability `1 − F_Vasicek(x)` "
        "each period; self-normalised count and delta-method error recomputed from the paths",
        "tests": [
            A + "test_default_rate_breach_probabilities_are_the_vasicek_tail",
            A + "test_loss_breach_probability_of_period_one_is_the_vasicek_tail",
        ],
    },
    {
        "file": SUMMARY,
        "fields": [
            *each("/alerts/<alert>/", "first_period", "max_probability", "threshold", "confidence")
        ],
        "oracle": "first period reaching the confidence, the largest probability, the inputs",
        "tests": [A + "test_first_period_max_probability_and_settings"],
    },
    {
        "file": SUMMARY,
        "fields": [
            "/actions/<action>/expected_loss/change_mc",
            "/actions/<action>/expected_loss/stderr_mc",
            "/actions/<action>/value/gain_mc",
            "/actions/<action>/value/stderr_mc",
            *each("/actions/<action>/es/", "with", "without", "change", "stderr"),
        ],
        "oracle": "paired weighted means and errors recomputed from the paths, covering the "
        "closed-form changes; ES with and without against Vasicek's tail mean",
        "tests": [AC + "test_monte_carlo_action_figures_match_the_paths_and_the_closed_forms"],
    },
    {
        "file": SUMMARY,
        "fields": [
            *each("/actions/<action>/expected_loss/", "with", "without", "change"),
            *each("/actions/<action>/ecl_lifetime/", "with", "without", "change"),
            *each("/actions/<action>/value/", "with", "without", "gain"),
            *each("/actions/<action>/value_lost_to_churn/", "with", "without", "change"),
            "/actions/<action>/cost",
            "/actions/<action>/net_benefit",
        ],
        "oracle": "retention: value `M df (1 − p − c(1 − k))`, loss unchanged; limit cut: "
        "loss × (1 − r); costs; net benefit = value gain + ECL reduction − cost",
        "tests": [AC + "test_exact_action_figures_are_closed_forms"],
    },
    {
        "file": SUMMARY,
        "fields": [
            "/model_risk/expected",
            "/model_risk/expected_at_posterior_mean",
            "/model_risk/variance/parameter",
            "/model_risk/variance/total",
            *each("/model_risk/variance/", "parameter_share", "process_share", "draws"),
            "/model_risk/variance/draws_used",
            "/model_risk/variance/stderr/parameter_share",
        ],
        "oracle": "`N mean(p_d)`, `N p̄`, `Var_d(N p_d)`; shares of the split",
        "tests": [MR + "test_expectations_and_exact_variance_split"],
    },
    {
        "file": SUMMARY,
        "fields": [
            "/model_risk/variance/process",
            *each("/model_risk/variance/mc/", "parameter", "process", "total", "parameter_share"),
        ],
        "oracle": "process `mean_d N² (Φ₂(a_d, a_d; ρ_d) − p_d²)`; the weighted estimators and "
        "their errors recomputed from the paths",
        "tests": [MR + "test_monte_carlo_variance_figures_match_the_paths_and_the_closed_forms"],
    },
    {
        "file": SUMMARY,
        "fields": [
            *each(
                "/model_risk/variance/stderr/",
                "parameter",
                "parameter_mc",
                "process",
                "total_mc",
                "parameter_share_mc",
            )
        ],
        "oracle": "delta-method errors recomputed from the paths; calibrated over 200 "
        "heavy-weight replications",
        "tests": [
            MR + "test_monte_carlo_variance_figures_match_the_paths_and_the_closed_forms",
            "tests/metrics/test_model_risk.py::test_heavy_weight_standard_errors_are_calibrated",
        ],
    },
    {
        "file": SUMMARY,
        "fields": [
            *each(
                "/model_risk/levels[]/",
                "level",
                "es_minus_el",
                "es_minus_el_at_mean",
                "parameter_share",
                "stderr",
                "stderr_es_minus_el",
                "stderr_es_minus_el_at_mean",
                "var_minus_el",
                "var_minus_el_at_mean",
                "var_parameter_share",
                "stderr_var",
            )
        ],
        "oracle": "VaR and ES of the equal mixture of the draws' Vasicek laws (root finding, "
        "`Φ₂`) and of Vasicek at the posterior mean; ES errors recomputed from the paths",
        "tests": [
            MR + "test_tail_split_matches_the_mixture_and_the_posterior_mean_laws",
            "tests/metrics/test_model_risk.py::test_heavy_weight_standard_errors_are_calibrated",
        ],
    },
    {
        "file": SUMMARY,
        "fields": [
            *each("/stresses/", "systematic_shift", "systematic_shift[]", "discount_rate"),
            *each("/stresses/", "macro", "shocks[]", "actions[]"),
            *each("/stresses/shocks[]/", "default_multiplier", "default_multiplier[]"),
            "/stresses/shocks[]/churn_multiplier",
            *each("/stresses/lgd/", "mean", "sd", "addon", "effective_mean"),
            "/stresses/lgd/downturn_sensitivity",
            *each("/stresses/exposure/", "amortisation", "ead_factor", "ead_factor[]"),
            *each("/stresses/actions[]/", "churn_reduction", "cost", "cost_per_customer"),
            "/stresses/actions[]/exposure_reduction",
        ],
        "oracle": "the scenario's inputs as applied (lists per period, effective LGD mean, "
        "cumulative EAD factor)",
        "tests": [
            S + "test_stresses_record_what_the_scenario_applied",
            "tests/scenarios/test_bundled.py::test_the_set_differs_only_in_its_stresses",
        ],
    },
    # ------------------------------------------------------------------ comparison.json
    {
        "file": COMPARISON,
        "fields": ["/paths", "/seed", "/common_random_numbers"],
        "oracle": "the inputs",
        "tests": [K + "test_settings"],
    },
    {
        "file": COMPARISON,
        "fields": [
            "/scenarios[]/expected",
            "/scenarios[]/stderr_expected",
            "/scenarios[]/ecl_lifetime",
            "/scenarios[]/ecl_12_period",
            "/scenarios[]/expected_defaults",
            "/scenarios[]/expected_churn",
            "/scenarios[]/expected_value",
            "/scenarios[]/weight",
        ],
        "oracle": "shifted-factor closed forms `N Φ(Φ⁻¹p − √ρ s)`",
        "tests": [K + "test_exact_columns_are_closed_forms"],
    },
    {
        "file": COMPARISON,
        "fields": [
            *each(
                "/scenarios[]/",
                "expected_mc",
                "stderr_mc",
                "std",
                "ess",
                "var_<q>",
                "es_<q>",
                "stderr_var_<q>",
                "stderr_es_<q>",
            ),
            *each("/scenarios[]/expected_<m>_mc", "", m=("defaults", "churn", "value")),
            *each("/scenarios[]/stderr_<m>_mc", "", m=("defaults", "churn", "value")),
            *each("/scenarios[]/stderr_<m>", "", m=("defaults", "churn", "value")),
        ],
        "oracle": "recomputed from each scenario's paths; Vasicek at the shifted factor",
        "tests": [K + "test_monte_carlo_columns_match_the_paths_and_vasicek"],
    },
    {
        "file": COMPARISON,
        "fields": [*each("/differences[]/", "difference", "stderr", "stderr_unpaired")],
        "oracle": "closed-form differences; paired errors from influences at the true VaR and "
        "the closed-form density",
        "tests": [K + "test_paired_differences_are_the_closed_form_differences"],
    },
    {
        "file": COMPARISON,
        "fields": ["/weighted_ecl/lifetime", "/weighted_ecl/12_period"],
        "oracle": "`Σ_k w_k N p_{s_k} df`",
        "tests": [K + "test_weighted_ecl_is_the_probability_weighted_closed_form"],
    },
    # ------------------------------------------------------------------ sensitivity.json
    {
        "file": SENSITIVITY,
        "fields": [*each("/factors/<factor>/", "low", "high", "base")],
        "oracle": "the configured ranges and the scenario's values",
        "tests": [SE + "test_factor_ranges_are_recorded"],
    },
    {
        "file": SENSITIVITY,
        "fields": [
            *each("/settings/", "tornado_paths", "tornado_bootstrap", "parameter_draws"),
            *each("/settings/sobol_", "n", "evaluations", "conf_level", "resamples", "paths"),
        ],
        "oracle": "the configured design; `n (d + 2)` Saltelli evaluations",
        "tests": [SE + "test_settings_record_the_design"],
    },
    {
        "file": SENSITIVITY,
        "fields": ["/metrics/*/factors[]/S1_conf", "/metrics/*/factors[]/ST_conf"],
        "oracle": "the simulated law of SALib's bootstrap half-widths over scrambled designs",
        "tests": [SE + "test_sobol_confidence_half_widths_follow_the_bootstrap_law"],
    },
    {
        "file": SENSITIVITY,
        "fields": [*each("/metrics/<m>/factors[]/", "S1", "ST", m=EXACT_METRICS)],
        "oracle": "exact metrics: EL moves with the LGD mean only, S1 = ST = 1, 0 for ρ "
        "(estimator sd over scramblings); an additive toy in closed form",
        "tests": [
            SE + "test_sobol_indices_of_the_exact_metrics",
            "tests/sensitivity/test_sobol.py::test_additive_toy_matches_the_closed_form",
        ],
    },
    {
        "file": SENSITIVITY,
        "fields": ["/metrics/*/factors[]/S1", "/metrics/*/factors[]/ST"],
        "oracle": "simulated metrics: Saltelli's S1 and Jansen's ST written out on the design's "
        "evaluations, each evaluation the engine's run at its point (no closed form here)",
        "tests": [
            SE + "test_sobol_indices_of_simulated_metrics_are_the_saltelli_estimates_of_the_design",
            "tests/sensitivity/test_sobol.py::test_simulated_metrics_use_common_random_numbers",
        ],
    },
    {
        "file": SENSITIVITY,
        "fields": [*each("/metrics/<m>/", *TORNADO_KEYS, m=("var_<q>", "es_<q>"))],
        "oracle": "Vasicek quantile and tail mean at each end (plain-MC error as the bound); "
        "the LGD ends scale the base exactly",
        "tests": [
            SE + "test_tornado_simulated_metrics_match_vasicek",
            SE + "test_tornado_swing_errors_of_simulated_metrics",
        ],
    },
    {
        "file": SENSITIVITY,
        "fields": [*each("/metrics/<m>/", *TORNADO_KEYS, m=("mean_loss", "std_loss"))],
        "oracle": "`N m p` and `N m sd(p(Z))` with the design's own errors; swing errors",
        "tests": [
            SE + "test_tornado_mean_and_std_of_the_loss_match_vasicek",
            SE + "test_tornado_swing_errors_of_simulated_metrics",
        ],
    },
    {
        "file": SENSITIVITY,
        "fields": [*each("/metrics/<m>/", *TORNADO_KEYS, m=EXACT_METRICS)],
        "oracle": "exact metrics (EL, ECL lifetime and 12-period, value, expected defaults and "
        "churn): closed forms in the LGD mean and ρ at the base and both ends; error 0",
        "tests": [SE + "test_tornado_exact_metrics_are_closed_forms"],
    },
    {
        "file": SENSITIVITY,
        "fields": ["/metrics/*/large_pool_error", "/metrics/*/large_pool_spread"],
        "oracle": "own engine runs at the tornado points (each a YAML scenario) against the "
        "large-pool loss `N m p(Z)` on the same paths: max relative difference, sd of the "
        "differences; the mean's difference is binomial noise; null for exact metrics",
        "tests": [
            SM + "test_large_pool_error_and_spread_are_the_paired_differences",
            SM + "test_large_pool_error_of_the_mean_is_binomial_noise",
            SM + "test_exact_metrics_have_no_large_pool_error_and_check_paths_is_configured",
        ],
    },
    {
        "file": SENSITIVITY,
        "fields": ["/metrics/*/surrogate_q2"],
        "oracle": "leave-one-out Q² of the design recomputed with monomials by `r/(1 − h)` "
        "(checked against refits), least over the degrees; 1 for the linear `N p m`",
        "tests": [SM + "test_surrogate_q2_is_the_leave_one_out_q2_of_the_design"],
    },
    {
        "file": SENSITIVITY,
        "fields": ["/settings/check_paths"],
        "oracle": "the configured `check_paths`; 0 when nothing is checked",
        "tests": [SM + "test_exact_metrics_have_no_large_pool_error_and_check_paths_is_configured"],
    },
    # ------------------------------------------------------------------ results.nc
    {
        "file": RESULTS,
        "fields": [
            "loss",
            "defaults",
            "churn",
            "margin",
            "loss_by_segment",
            "loss_by_cohort",
            "churn_value_lost",
        ],
        "oracle": "one-factor identities per path; weighted law of each period's default "
        "rate is Vasicek's",
        "tests": [
            S + "test_per_path_results_follow_the_one_factor_identities",
            R + "test_per_period_paths_follow_the_one_factor_law",
        ],
    },
    {
        "file": RESULTS,
        "fields": ["weight"],
        "oracle": "likelihood ratios: `E[w] = 1`, weighted factor mean 0, Kish ESS",
        "tests": [
            S + "test_run_is_importance_sampled_with_heavy_weights",
            R + "test_is_shift_is_the_mean_factor_innovation_of_the_tilt",
        ],
    },
    {
        "file": RESULTS,
        "fields": ["is_shift"],
        "oracle": "the factor read back from the paths: plain mean `(1 − p_plain) is_shift`",
        "tests": [R + "test_is_shift_is_the_mean_factor_innovation_of_the_tilt"],
    },
    {
        "file": RESULTS,
        "fields": ["exact_value_lost_to_churn"],
        "oracle": "`M c df` (one period); churners' margin counted from their churn period",
        "tests": [
            S + "test_expectations_are_the_closed_forms",
            D + "test_value_lost_to_churn_counts_from_the_churn_period",
        ],
    },
    {
        "file": RESULTS,
        "fields": ["exact_loss_by_draw", "exact_loss_at_posterior_mean", "posterior_mean_loss"],
        "oracle": "`N p_d`, `N p̄`; the posterior-mean paths' law is Vasicek at `(p̄, ρ̄)`",
        "tests": [
            MR + "test_expectations_and_exact_variance_split",
            MR + "test_tail_split_matches_the_mixture_and_the_posterior_mean_laws",
        ],
    },
    {
        "file": RESULTS,
        "fields": [
            *each("exact_", "loss", "defaults", "churn", "margin", "occupancy"),
            *each("exact_<m>_by_state", "", m=("loss", "defaults", "churn", "value")),
            *each("exact_<m>_by_segment", "", m=("loss", "defaults", "churn", "value")),
            *each("exact_", "customers_by_state", "occupancy_start"),
            "discount_factor",
            "exposure",
        ],
        "oracle": "three-period closed forms `N s^(t−1) p`, `N s^(t−1) c`, `M s^t`, "
        "occupancy; `(1 + r)^−t`; the book's EAD",
        "tests": [R + "test_exact_variables_are_the_closed_forms"],
    },
    {
        "file": RESULTS,
        "fields": ["occupancy"],
        "oracle": "the weighted mean of the paths' occupancy",
        "tests": [D + "test_occupancy_is_the_weighted_mean_of_the_paths"],
    },
    {
        "file": RESULTS,
        "fields": [
            *each("<m>_discounted", "", m=PERIOD_KPIS),
            *each("mc_mean_<m>", "", m=PERIOD_KPIS),
            *each("engine_alert", "", "_mean", "_square", "_metric", "_threshold"),
        ],
        "oracle": "`Σ_t df_t x_t` of the same paths; `(1/N) Σ w x` per period (covering the "
        "exact after self-normalising); `(1/N) Σ w 1{…}` and its square",
        "tests": [R + "test_totals_run_variables_are_the_discounted_sums_and_weighted_means"],
    },
    {
        "file": RESULTS,
        "fields": [
            *each("action", "", "_type", "_cost", "_loss_without", "_value_without"),
            "action_churn_value_lost_without",
            *each("action_exact_<m>_without", "", m=("loss", "ecl", "value", "churn_value_lost")),
        ],
        "oracle": "the run without each action in closed form; per-path counterfactuals",
        "tests": [
            AC + "test_action_variables_of_the_results",
            AC + "test_monte_carlo_action_figures_match_the_paths_and_the_closed_forms",
        ],
    },
    {
        "file": RESULTS,
        "fields": [
            "path",
            "period",
            "segment",
            "state",
            "start_state",
            "transient_state",
            "cohort",
            "draw",
        ],
        "oracle": "the scenario's labels; draw 0 with point parameters (the draw index drives "
        "the model-risk split)",
        "tests": [
            R + "test_labels_are_the_scenarios",
            MR + "test_monte_carlo_variance_figures_match_the_paths_and_the_closed_forms",
        ],
    },
]
