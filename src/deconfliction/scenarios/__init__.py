"""Built-in scenarios: realistic operations for the demo, the benchmarks and the tests."""
