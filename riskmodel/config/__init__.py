"""Config files of riskmodel: reading, validating and reporting problems, in one package.

- `riskmodel.config.safe_yaml` — the one YAML reader (`read_yaml`: safe, bounded, no duplicate
  keys);
- `riskmodel.config.errors` — pydantic errors as (field path, message) pairs with fixes;
- `riskmodel.config.base` — `ConfigModel` (frozen, extra keys forbidden) and the shared
  `StatesConfig` and `PeriodConfig`;
- `riskmodel.config.scenario` (with `riskmodel.config.sections`) — the scenario file;
- `riskmodel.config.sensitivity` (with `riskmodel.config.metrics`) — the sensitivity config;
- `riskmodel.config.fit` — the model config of ``riskmodel fit``.

The schemas only validate; turning a config into arrays is `riskmodel.scenarios.derive`.
"""
