"""Track feeds: CSV snapshots and replays, SBS-1 (BaseStation) text, recorded ADS-B samples.

Each feed converts at the edge (feet, knots, ft/min, RFC 3339 times) into SI track
reports; validation with reasons happens in :mod:`deconfliction.engine.tactical.ingest`.
"""
