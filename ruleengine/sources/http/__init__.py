"""The http source: events posted to ``/v1/events`` as JSON or CloudEvents.

``parse`` turns a request body into events (pure; every limit), ``guard`` says who is asking
and whether they may (bearer tokens, pace), ``keys`` remembers idempotency keys, ``intake``
answers a request (202 once the engine has committed its events), ``server`` serves it with
uvicorn on an event loop of its own, and ``source`` ties them to the daemon.
"""
