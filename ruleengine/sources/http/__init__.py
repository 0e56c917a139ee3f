"""The http source: events posted to ``/v1/events`` as JSON or CloudEvents.

``parse`` turns a request body into events (pure; every limit), ``guard`` says who is asking
and whether they may (bearer tokens, pace), ``keys`` remembers idempotency keys, ``intake`` is
the WSGI application that answers 202 once the engine has committed the events, and
``source`` serves it with cheroot.
"""
