"""Pieces every domain folder shares: settings, database, security, blobs, dependencies."""
