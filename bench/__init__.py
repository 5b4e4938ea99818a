"""Benchmarks, and the references they measure the API against (the peer and the floor)."""
