"""Allow ``python -m ruleengine``."""

from ruleengine.cli import main

raise SystemExit(main())
