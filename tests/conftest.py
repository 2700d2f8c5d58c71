"""Fixtures live in plugin modules (tests/plugins/), loaded by pytest's addopts."""
