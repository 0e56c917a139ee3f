"""ruleengine: turn log lines and marker files into chat notifications, delivered durably."""

__version__ = "0.1.0.dev0"
