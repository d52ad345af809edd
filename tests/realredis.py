"""A real redis-server on a free loopback port, for the tests and the scale-out run (never a mock)."""

from __future__ import annotations

import socket
import subprocess
import time


class RedisStartError(RuntimeError):
    """redis-server did not answer PING in time."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def start(binary: str, wait_seconds: float = 5.0) -> tuple[subprocess.Popen[bytes], str]:
    """Start ``binary`` without persistence; returns (process, URL) once it answers PING."""
    import redis

    port = free_port()
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    client = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)
    try:
        end = time.monotonic() + wait_seconds
        while time.monotonic() < end:
            try:
                if client.ping():
                    return proc, url
            except redis.exceptions.ConnectionError:
                time.sleep(0.05)
    finally:
        client.close()
    stop(proc)
    raise RedisStartError("redis-server did not start")


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        proc.kill()
