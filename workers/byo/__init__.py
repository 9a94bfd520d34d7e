"""Bring your own model: models trained elsewhere, described, quantized to int8 when they are
float, and profiled on every board of the catalog."""
