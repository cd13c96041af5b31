"""The deployment configuration: one typed, validated object per deployment file.

`load_config(path)` parses the TOML file into a frozen :class:`DeploymentConfig` tree and checks
everything that can be checked offline; it raises :class:`ConfigError` listing *every* problem,
one line each, saying what is wrong and how to fix it. Stacks receive this object and translate
it into construct props; nothing reads the environment.

    model.py     the dataclasses: every key, its default and its meaning, once
    load.py      TOML -> dataclasses (cattrs, strict), deployment selection
    validate.py  every rule on the values, all problems at once
    derived.py   values derived from the configuration, each rule once
    naming.py    physical names and the AWS limits they respect
"""

from modules.config.load import (
    DEFAULT_DEPLOYMENT,
    DEPLOYMENTS_DIR,
    PROJECT_ROOT,
    load_config,
    parse_config,
    resolve_config_path,
)
from modules.config.model import (
    ApiConfig,
    ConfigError,
    DeploymentConfig,
    EksConfig,
    InferenceConfig,
    LoadBalancerConfig,
    MarketplaceConfig,
    MonitoringConfig,
    NetworkConfig,
    RegistryConfig,
    ServiceConfig,
    StateConfig,
)
from modules.config.validate import EKS_STANDARD_SUPPORT_ENDS, advisories, validate

__all__ = [
    "DEFAULT_DEPLOYMENT",
    "DEPLOYMENTS_DIR",
    "EKS_STANDARD_SUPPORT_ENDS",
    "PROJECT_ROOT",
    "ApiConfig",
    "ConfigError",
    "DeploymentConfig",
    "EksConfig",
    "InferenceConfig",
    "LoadBalancerConfig",
    "MarketplaceConfig",
    "MonitoringConfig",
    "NetworkConfig",
    "RegistryConfig",
    "ServiceConfig",
    "StateConfig",
    "advisories",
    "load_config",
    "parse_config",
    "resolve_config_path",
    "validate",
]
