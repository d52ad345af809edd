"""Benchmarks of swr-sync side by side with the official Huawei Cloud SDK (``huaweicloudsdkswr``).

Run ``python -m bench.run [--quick] [--runs N] [--cases a,b]`` (``make bench``). The SDK lives in its own
virtual environment (``bench/.sdk-venv``) and is never a project dependency. See docs/benchmarks.md.
"""
