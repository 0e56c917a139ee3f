"""Sources: ``base`` (the protocol and context), ``registry`` (source types), one package per
type (``logfile``, ``markers``) and ``watch`` (directory watching they share).

Importing this package loads nothing else: ``status`` reads a source's position codec
(``logfile.position``, ``markers.ledger``) without its runtime.
"""
