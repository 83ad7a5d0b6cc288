"""sluice.caches: where entries are kept. RedisCache (shared with C
workers: same keys, same entries, SET with PX) and LmdbCache (the
embedded cache C workers use on one machine: the same file layout).

A cache failure never fails a task (docs/CACHING.md, "When the cache
fails"): get() and put() raise CacheError, and the runner computes
anyway and reports it.
"""

import os
import struct
import time
import urllib.parse

from . import resp
from .entries import READ_MAX_BYTES


class CacheError(Exception):
    pass


# compare-and-delete of a lock: released only by the attempt holding it
UNLOCK_SCRIPT = ("if redis.call('get', KEYS[1]) == ARGV[1] then return "
                 "redis.call('del', KEYS[1]) else return 0 end")


class RedisCache:
    """A Redis cache, as Prefect's RedisCache is constructed:
    RedisCache(host="localhost", port=6379, db=0), or from a URL:
    RedisCache.from_url("redis://[user[:password]@]host[:port][/db]").
    The password may also come from $SLUICE_REDIS_PASSWORD. Each call is
    one round trip (sluice.resp), on a connection of the calling
    thread's own."""

    def __init__(self, host="localhost", port=6379, db=0, username=None,
                 password=None, timeout=5.0):
        self.host, self.port, self.db = host, int(port), int(db)
        password = password or os.environ.get("SLUICE_REDIS_PASSWORD")
        self._redis = resp.Redis(host, self.port, self.db, username,
                                 password, timeout)

    @classmethod
    def from_url(cls, url):
        u = urllib.parse.urlparse(url)
        if u.scheme != "redis" or not u.hostname:
            raise ValueError(f"cache URL {url!r}: want "
                             "redis://[user[:password]@]host[:port][/db]")
        db = u.path.strip("/") or "0"
        if not db.isdigit():
            raise ValueError(f"cache URL {url!r}: db {db!r} is not a number")
        return cls(u.hostname, u.port or 6379, int(db), u.username or None,
                   urllib.parse.unquote(u.password) if u.password else None)

    @property
    def url(self):
        return f"redis://{self.host}:{self.port}/{self.db}"

    def _call(self, commands):
        try:
            return self._redis.call(commands)
        except resp.RespError as err:
            raise CacheError(f"{self.url}: {err}") from None

    def get_many(self, keys):
        """The stored bytes of each key (None: absent), in one round trip.
        Never more than READ_MAX_BYTES + 1 of one value is read."""
        return [v or None for v in self._call(
            [("GETRANGE", k, 0, READ_MAX_BYTES) for k in keys])]

    def put_many(self, items):
        """Stores (key, data, ttl_ms) items in one round trip; ttl_ms None:
        no expiry."""
        self.store(items, [], [])

    def probe(self, keys, tokens, lock_ms):
        """Looks keys up and, where tokens[i] is not None, takes the lock
        KEY:lock with it (SET NX PX lock_ms), all in one round trip:
        [(stored bytes or None, whether the lock was taken)]."""
        commands = []
        for k, token in zip(keys, tokens):
            commands.append(("GETRANGE", k, 0, READ_MAX_BYTES))
            if token is not None:
                commands.append(("SET", k + ":lock", token, "NX", "PX",
                                 lock_ms))
        replies = iter(self._call(commands))
        return [(next(replies) or None,
                 next(replies) is not None if token is not None else False)
                for token in tokens]

    def lock_many(self, lock_keys, tokens, lock_ms):
        """Takes each lock (SET NX PX) in one round trip: whether each was
        taken."""
        return [r is not None for r in self._call(
            [("SET", lock, token, "NX", "PX", lock_ms)
             for lock, token in zip(lock_keys, tokens)])]

    has_locks = True

    def lock(self, lock_key, token, lock_ms, overwrite=False):
        """SET lock_key token PX lock_ms, NX unless overwrite: whether it
        was taken."""
        command = ("SET", lock_key, token, "PX", lock_ms) + \
            (() if overwrite else ("NX",))
        return self._call([command])[0] is not None

    def holder(self, lock_key):
        """The token holding lock_key, or b"" if none."""
        return self._call([("GET", lock_key)])[0] or b""

    def exists(self, key):
        return bool(self._call([("EXISTS", key)])[0])

    def store(self, items, locks_done, locks_given_up):
        """In one round trip: the (key, data, ttl_ms) items, a DEL of each
        lock in locks_done (their entries are stored), and a
        compare-and-delete of each (lock key, token) in locks_given_up."""
        commands = [("SET", key, data) + (() if ttl_ms is None
                                          else ("PX", ttl_ms))
                    for key, data, ttl_ms in items]
        commands += [("DEL", lock) for lock in locks_done]
        commands += [("EVAL", UNLOCK_SCRIPT, 1, lock, token)
                     for lock, token in locks_given_up]
        if commands:
            self._call(commands)


class LmdbCache:
    """The embedded cache, shared with C workers on this machine: an LMDB
    environment (1 GiB map) whose values are 8 bytes of big-endian expiry
    (unix ms, 0: never) then the entry; an expired one is absent."""

    MAP_SIZE = 1 << 30

    def __init__(self, path=None):
        import lmdb  # Debian's python3-lmdb
        self.path = path or default_lmdb_dir()
        os.makedirs(self.path, mode=0o700, exist_ok=True)
        try:
            self._env = lmdb.open(self.path, map_size=self.MAP_SIZE,
                                  sync=False, mode=0o600)
        except lmdb.Error as err:
            raise CacheError(f"lmdb://{self.path}: {err}") from None
        self._errors = lmdb.Error

    @property
    def url(self):
        return f"lmdb://{self.path}"

    def get_many(self, keys):
        now = int(time.time() * 1000)
        out = []
        try:
            with self._env.begin() as txn:
                for k in keys:
                    v = txn.get(k.encode())
                    if v is None or len(v) <= 8:
                        out.append(None)
                        continue
                    (expires,) = struct.unpack(">Q", v[:8])
                    out.append(v[8:] if expires == 0 or expires > now
                               else None)
        except self._errors as err:
            raise CacheError(f"{self.url}: {err}") from None
        return out

    def probe(self, keys, tokens, lock_ms):
        """Lookups; the embedded cache is one machine's: no locks."""
        return [(v, False) for v in self.get_many(keys)]

    has_locks = False  # one machine's: a worker there computes unlocked

    def lock_many(self, lock_keys, tokens, lock_ms):
        return [False] * len(lock_keys)

    def store(self, items, locks_done, locks_given_up):
        self.put_many(items)

    def put_many(self, items):
        now = int(time.time() * 1000)
        try:
            with self._env.begin(write=True) as txn:
                for key, data, ttl_ms in items:
                    expires = 0 if ttl_ms is None else now + ttl_ms
                    txn.put(key.encode(), struct.pack(">Q", expires) + data)
        except self._errors as err:
            raise CacheError(f"{self.url}: {err}") from None


def default_lmdb_dir():
    """$SLUICE_CACHE_DIR, else $XDG_CACHE_HOME/sluice, else
    ~/.cache/sluice: where C workers keep the embedded cache."""
    d = os.environ.get("SLUICE_CACHE_DIR")
    if d:
        return d
    xdg = os.environ.get("XDG_CACHE_HOME")
    return os.path.join(xdg or os.path.expanduser("~/.cache"), "sluice")


def from_url(url):
    """A cache from a URL: redis://... or lmdb://PATH."""
    if url.startswith("redis://"):
        return RedisCache.from_url(url)
    if url.startswith("lmdb://"):
        return LmdbCache(url[len("lmdb://"):] or None)
    raise ValueError(f"cache URL {url!r}: want redis://... or lmdb://PATH")
