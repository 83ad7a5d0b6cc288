"""sluice.resp and RedisCache on it, against real redis-servers: replies
of every kind, a password and a database, the errors a cache must turn
into CacheError (nobody there, a wrong password, a server gone), a
connection Redis dropped made again without losing the call, and one
connection per thread."""

import threading

import pytest

from conftest import Redis, free_port
from sluice import resp
from sluice.caches import CacheError, RedisCache


def test_replies_of_every_kind(redis_server):
    r = resp.Redis("127.0.0.1", redis_server.port)
    assert r.call([("SET", "k", b"\x00\r\nbin"), ("GET", "k"),
                   ("GET", "absent"), ("INCR", "n"), ("RPUSH", "l", "a"),
                   ("LRANGE", "l", 0, -1), ("PING",)]) == \
        [b"OK", b"\x00\r\nbin", None, 1, 1, [b"a"], b"PONG"]
    big = b"x" * (3 << 20)   # many reads of the socket
    assert r.call([("SET", "big", big), ("GET", "big")]) == [b"OK", big]
    with pytest.raises(resp.RespError, match="WRONGTYPE"):
        r.call([("GET", "l"), ("PING",)])
    assert r.call([("PING",)]) == [b"PONG"]  # the stream stayed in step


def test_nobody_there_is_a_cache_error():
    c = RedisCache(port=free_port())
    with pytest.raises(CacheError, match=r"redis://localhost:\d+/0: "
                       "cannot connect"):
        c.get_many(["k"])


@pytest.fixture
def locked_redis(tmp_path):
    r = Redis(tmp_path, password="s3cret")
    yield r
    r.stop()


def test_a_password_and_a_database(locked_redis, monkeypatch):
    port = locked_redis.port
    c = RedisCache.from_url(f"redis://:s3cret@127.0.0.1:{port}/3")
    c.put_many([("k", b"v", None)])
    assert c.get_many(["k", "nope"]) == [b"v", None]
    import redis
    assert redis.Redis(port=port, db=3, password="s3cret").get("k") == b"v"
    with pytest.raises(CacheError, match="WRONGPASS|invalid"):
        RedisCache.from_url(f"redis://:wrong@127.0.0.1:{port}/0") \
            .get_many(["k"])
    monkeypatch.delenv("SLUICE_REDIS_PASSWORD", raising=False)
    with pytest.raises(CacheError, match="NOAUTH"):
        RedisCache(port=port).get_many(["k"])
    monkeypatch.setenv("SLUICE_REDIS_PASSWORD", "s3cret")
    assert RedisCache(port=port, db=3).get_many(["k"]) == [b"v"]
    with pytest.raises(CacheError, match="DB index"):
        RedisCache(port=port, db=99).get_many(["k"])


def test_a_dropped_connection_is_made_again(redis_server):
    c = RedisCache(port=redis_server.port)
    c.put_many([("k", b"v", 60000)])
    def connections():
        return redis_server.client.info("stats")["total_connections_received"]
    before = connections()
    # Redis drops every client (as a restart or an idle timeout would)
    assert redis_server.client.client_kill_filter(_type="normal",
                                                  skipme=True) >= 1
    assert c.get_many(["k"]) == [b"v"]   # not an error: nothing had run
    assert connections() == before + 1   # on a connection made again


def test_a_server_gone_is_a_cache_error_then_comes_back(tmp_path):
    r = Redis(tmp_path)
    c = RedisCache(port=r.port, timeout=2.0)
    c.put_many([("k", b"v", None)])
    r.stop()
    with pytest.raises(CacheError):
        c.get_many(["k"])
    again = Redis(tmp_path, port=r.port)
    try:
        assert c.get_many(["k"]) == [None]  # a new, empty server
    finally:
        again.stop()


def test_each_thread_has_its_own_connection(redis_server):
    c = RedisCache(port=redis_server.port)
    errors = []

    def work(n):
        try:
            for i in range(200):
                c.put_many([(f"{n}:{i}", str(i).encode(), None)])
                assert c.get_many([f"{n}:{i}"]) == [str(i).encode()]
        except Exception as err:  # noqa: BLE001 - reported below
            errors.append(err)
    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors   # one shared socket would mix up their replies
