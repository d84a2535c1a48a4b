"""The HTTP API: a thin edge that wires settings, store and services (FastAPI)."""

from deconfliction.api.app import create_app

__all__ = ["create_app"]
