"""Adapters between wire formats and the domain: they convert at the edge, nothing more."""
