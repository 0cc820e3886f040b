"""Speed and memory benchmarks of jaxml (never run by the test suite; see bench/README.md).

Each benchmark is a module run from the repository root, ``python -m bench.<name>`` (``python
bench/<name>.py`` works too); ``bench.common`` holds the timing and reporting helpers they share.
Nothing here imports ``experiments``: settings a benchmark shares with a study live in the library.
"""
