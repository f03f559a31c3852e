"""The config layer: weights.yaml and thresholds.yaml — their schema, loading and fingerprint."""

from csm_rules.config.loader import Config, config_json_schema, load_config

__all__ = ["Config", "config_json_schema", "load_config"]
