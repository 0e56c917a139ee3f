"""The running pipeline: build sources → engine → dispatcher from a Config, reload, report.

``build`` makes the parts, ``reload`` plans what a new rules file changes, ``rulesfile`` notices
when that file changed, ``status`` words the daemon's state for systemd and ``status``,
``housekeeping`` keeps the state database within bounds, and ``supervisor`` owns their
lifecycle. The signal loop is not here: it lives in ``commands/run.py``, so the pipeline can run
in-process.

Import the part you need (``pipeline.supervisor``…): ``pipeline.status`` alone does not load
the engine and every source.
"""
