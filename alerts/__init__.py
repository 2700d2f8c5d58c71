"""Anomaly core: detectors and alert logic (pure, no I/O)."""
