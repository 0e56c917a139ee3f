"""Directory watching: watchdog everywhere, raw inotify on Linux."""
