"""Performance benchmarks (issue #7): pytest-benchmark files run by ``make perf``, the side-by-side evaluation
comparison (``python -m benchmarks.compare_eval``) and the GPU throughput script (``python -m benchmarks.gpu_throughput``)."""
