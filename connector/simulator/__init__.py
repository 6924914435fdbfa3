"""A local SMSC on the same sans-I/O core, for tests, the demo and benchmarks."""
