"""Marker source: one event per file dropped into a directory, exactly once."""
