"""Benchmarks: scripts that print figures (`python3 tasks.py bench <name>`)."""
