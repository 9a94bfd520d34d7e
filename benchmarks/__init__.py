"""Benchmarks: scripts that print a table and write JSON; run by hand, not by the tests."""
