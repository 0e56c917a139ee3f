"""Load and validate a rules file into typed, frozen objects; report every problem at once."""

from ruleengine.config.loader import Config, load_config, load_config_text

__all__ = ["Config", "load_config", "load_config_text"]
