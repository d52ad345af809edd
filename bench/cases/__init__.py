"""Benchmark cases (``<case>.py``: orchestration, run in the bench process) and the child scripts they start
(``child_*.py``: run in a fresh interpreter with ``-I -S``, standard library only until argv[1] is on sys.path)."""
