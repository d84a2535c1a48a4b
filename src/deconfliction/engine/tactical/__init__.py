"""Tactical deconfliction: live track state, conflict detection, alerts."""
