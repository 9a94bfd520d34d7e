"""Devices in the field: registration, telemetry, drift from the training data."""
