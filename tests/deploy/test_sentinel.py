"""Redis behind Sentinel: slrt finds the primary through the Sentinels and follows a failover.

Real servers: a primary, a replica and one Sentinel (the redis-server binary slrt already runs
for `make run`, started with --sentinel), as deploy/redis/ lays them out with three of each."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest
import redis

from slrt.platform.commands.embedded import REDIS_SERVER, free_port, port_open
from slrt.platform.redis_client import get_redis, reset_redis, sentinel_client

PASSWORD = "sentinel-test-password"
SERVICE = "slrt"


def _start(conf: Path, text: str, *args: str) -> subprocess.Popen:
    conf.write_text(text)
    return subprocess.Popen(
        [str(REDIS_SERVER), str(conf), *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )


def _wait(check, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except redis.RedisError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"{what} within {seconds} s")


def _node(port: int) -> redis.Redis:
    return redis.Redis(port=port, password=PASSWORD, socket_timeout=2)


@pytest.fixture
def group(tmp_path):
    """(primary port, replica port, sentinel port), all running."""
    primary, replica, sentinel = free_port(), free_port(), free_port()
    common = f'bind 127.0.0.1\nsave ""\nrequirepass {PASSWORD}\nmasterauth {PASSWORD}\n'
    processes = [
        _start(tmp_path / "primary.conf", f"port {primary}\ndir {tmp_path}\n{common}"),
        _start(
            tmp_path / "replica.conf",
            f"port {replica}\ndir {tmp_path}\n{common}replicaof 127.0.0.1 {primary}\n",
        ),
    ]
    try:
        _wait(lambda: port_open(primary) and port_open(replica), 30, "Redis started")
        _wait(
            lambda: _node(replica).info("replication")["master_link_status"] == "up",
            30,
            "the replica in sync",
        )
        processes.append(
            _start(
                tmp_path / "sentinel.conf",
                f"port {sentinel}\nbind 127.0.0.1\ndir {tmp_path}\n"
                f"sentinel monitor {SERVICE} 127.0.0.1 {primary} 1\n"
                f"sentinel auth-pass {SERVICE} {PASSWORD}\n"
                f"sentinel down-after-milliseconds {SERVICE} 1000\n"
                f"sentinel failover-timeout {SERVICE} 10000\n",
                "--sentinel",
            )
        )
        _wait(
            lambda: redis.Redis(port=sentinel).sentinel_slaves(SERVICE),
            30,
            "the Sentinel knowing the replica",
        )
        yield primary, replica, sentinel
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


def test_the_app_follows_the_primary_through_a_failover(group, monkeypatch) -> None:
    primary, replica, sentinel = group
    monkeypatch.setenv(
        "REDIS_URL", f"redis+sentinel://:{PASSWORD}@127.0.0.1:{sentinel}/{SERVICE}/0"
    )
    reset_redis()
    try:
        app = get_redis()
        app.set("slrt:before", "1")
        assert _node(primary).get("slrt:before") == b"1"  # the primary, found through Sentinel

        def failover() -> bool:
            try:
                redis.Redis(port=sentinel).execute_command("SENTINEL", "FAILOVER", SERVICE)
            except redis.ResponseError as exc:  # NOGOODSLAVE until Sentinel has polled the replica
                assert "NOGOODSLAVE" in str(exc)
                return False
            return True

        _wait(failover, 30, "Sentinel starting a failover")
        _wait(
            lambda: (
                _node(replica).info("replication")["role"] == "master"
                and _node(primary).info("replication")["role"] == "slave"
            ),
            30,
            "the replica promoted and the old primary demoted",
        )

        def write_after() -> bool:
            try:
                app.set("slrt:after", "2")
            except (redis.ConnectionError, redis.ReadOnlyError):
                return False  # the demoted primary's connection, dropped; the next one is new
            return True

        _wait(write_after, 30, "a write accepted after the failover")
        assert _node(replica).get("slrt:after") == b"2"  # the new primary holds it
    finally:
        reset_redis()


def test_a_sentinel_url_without_its_service_is_refused() -> None:
    with pytest.raises(ValueError, match="service"):
        sentinel_client("redis+sentinel://127.0.0.1:26379")


def test_the_sentinel_url_is_read_in_full() -> None:
    client = sentinel_client(
        "redis+sentinel://:p%40ss@10.0.0.1:26379,10.0.0.2:26380/slrt/3?sentinel_password=s"
    )
    pool = client.connection_pool
    assert pool.service_name == "slrt"
    assert pool.connection_kwargs["db"] == 3 and pool.connection_kwargs["password"] == "p@ss"
    sentinels = pool.sentinel_manager.sentinels
    assert [(s.connection_pool.connection_kwargs["host"], s.connection_pool.connection_kwargs["port"]) for s in sentinels] == [("10.0.0.1", 26379), ("10.0.0.2", 26380)]  # fmt: skip
    assert all(s.connection_pool.connection_kwargs["password"] == "s" for s in sentinels)
