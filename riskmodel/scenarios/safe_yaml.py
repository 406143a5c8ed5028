"""Re-export of `riskmodel.config.safe_yaml` (its old home; kept for existing imports).

The limits are read where the reader lives: patch ``riskmodel.config.safe_yaml.MAX_YAML_NODES``,
not this module's copy of the name.
"""

from riskmodel.config.safe_yaml import (
    MAX_YAML_ALIASES,
    MAX_YAML_BYTES,
    MAX_YAML_NODES,
    SafeYAMLLoader,
    YAMLDuplicateKeyError,
    YAMLLimitError,
    expanded_size,
    read_yaml,
)

__all__ = [
    "MAX_YAML_ALIASES",
    "MAX_YAML_BYTES",
    "MAX_YAML_NODES",
    "SafeYAMLLoader",
    "YAMLDuplicateKeyError",
    "YAMLLimitError",
    "expanded_size",
    "read_yaml",
]
