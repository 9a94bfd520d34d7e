"""Bring your own model: models trained elsewhere, uploaded, described, quantized and profiled."""
