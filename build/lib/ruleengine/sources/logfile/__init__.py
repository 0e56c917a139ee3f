"""Log file source: tail, frame, group and follow files across rotations."""
