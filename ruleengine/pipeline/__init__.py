"""The running pipeline: build sources → engine → dispatcher from a Config, reload, report.

``build`` makes the parts, ``reload`` plans what a new rules file changes, ``status`` words the
daemon's state for systemd and ``status``, and ``supervisor`` owns their lifecycle. The signal
loop is not here: it lives in ``commands/run.py``, so the pipeline can run in-process.

Import the part you need (``pipeline.supervisor``…): ``pipeline.status`` alone does not load
the engine and every source.
"""
