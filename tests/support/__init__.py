"""Test harness pieces: private redis-server instances, free ports, subprocess helpers."""
