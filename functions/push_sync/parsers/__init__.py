"""One small module per webhook format; :mod:`functions.push_sync.detect` picks the right one."""
