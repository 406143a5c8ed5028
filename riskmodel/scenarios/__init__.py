"""Scenarios: files read once, then a pure derivation of the arrays the engine consumes.

- `riskmodel.scenarios.load` — `load_scenario` / `scenario_from_dict`: read the YAML, the
  portfolio CSV and the posterior file (the only file I/O), then derive;
- `riskmodel.scenarios.scenario` — the frozen `Scenario` and `derive(config, portfolio, draws)`;
  `Scenario.with_options` validates a new config and derives again, reading nothing;
- `riskmodel.scenarios.derive`, `parameters`, `stresses`, `conversion`, `period` — the steps of
  the derivation (transition matrices per draw, shocks and actions, period conversions).

The schemas of the files are in `riskmodel.config` (``schema``, ``errors`` and ``safe_yaml``
here re-export them for old imports).
"""
