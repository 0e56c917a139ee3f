"""Shared test helpers: real servers, daemon subprocesses, pipelines, polling, outbox queries.

Test modules import from here (and conftest fixtures), never from each other.
"""
