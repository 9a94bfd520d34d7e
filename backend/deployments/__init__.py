"""Deployments: a trained impulse built as a C library, an Arduino library or board firmware."""
