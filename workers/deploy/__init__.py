"""Deployment packaging of a trained impulse: DSP glue, C and Arduino libraries, board firmware."""
