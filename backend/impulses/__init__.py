"""Impulses: windowing, DSP and learning blocks; features, training runs and experiments."""
