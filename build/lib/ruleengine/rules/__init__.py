"""Rules: select events and turn them into notifications (pure, no I/O)."""
