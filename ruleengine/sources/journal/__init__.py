"""The systemd journal as a source: ``journalctl -o export`` read as a stream of entries."""
