"""Shared test configuration.

Test directories are not packages (pytest's default "prepend" import mode); this
conftest puts ``tests/`` on ``sys.path`` so helpers such as :mod:`geodesy_ref` can be
imported from any test directory.
"""
