"""Benchmarks and load tools, outside the package: they use `qa`'s public names only, and `qa`
never imports them. `python -m bench.serving` (`make bench`), `python -m bench.loadtest`
(`make loadtest`), `python -m bench.capacity` (`make bench-scale`), `python -m bench.live`."""
