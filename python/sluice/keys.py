"""sluice.keys: cache keys and the digests in them (docs/CACHING.md, "Keys").

The same call gives the same key here as in a C worker, so a Python task
and a C task of the same name and version share their entries.
"""

import hashlib
import re

from . import values

PREFIX = "sluice:v1:"
KEY_MAX_BYTES = 500  # LMDB takes keys of up to 511 bytes
DEFAULT_NAMESPACE = "default"
NAME_MAX_BYTES = 128
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")  # as sl_flow_is_name


def blake2b(data):
    """BLAKE2b-256, no key: libsodium's crypto_generichash."""
    return hashlib.blake2b(data, digest_size=32).digest()


def task_digest(task, version, args, files=None):
    """The digest of a call: "sluice-task-v1", the canonical encoding of
    [task, version, args], then that of the files the call reads, if any
    ([name, content digest] pairs)."""
    data = b"sluice-task-v1" + values.canonical([task, version, list(args)])
    if files:
        data += values.canonical([[n, d] for n, d in files])
    return blake2b(data)


def arg_digests(args):
    """One digest per argument, as an entry records them."""
    return [blake2b(values.canonical(a)) for a in args]


def check_name(what, name):
    """Task names and namespaces: a letter or '_', then letters, digits,
    '_', '-' and '.', at most 128 bytes (the flow file's rule)."""
    if not isinstance(name, str) or not _NAME.match(name) or \
            len(name.encode()) > NAME_MAX_BYTES:
        raise ValueError(f"{what} {name!r}: a letter or '_', then letters, "
                         f"digits, '_', '-' and '.' (at most "
                         f"{NAME_MAX_BYTES} bytes)")


def inputs_key(namespace, task, digest):
    """The key of a call cached by its inputs."""
    return _checked(f"{PREFIX}{namespace}:{task}:{digest.hex()}")


def explicit_key(namespace, cache_key):
    """The key of a call cached under an explicit cache_key."""
    if not isinstance(cache_key, str) or not cache_key:
        raise ValueError(f"cache_key {cache_key!r}: must be a non-empty str")
    return _checked(f"{PREFIX}{namespace}:{cache_key}")


def _checked(key):
    if len(key.encode()) > KEY_MAX_BYTES:
        raise ValueError(f"cache key {key[:60]!r}...: longer than "
                         f"{KEY_MAX_BYTES} bytes")
    return key


def key_digest(key):
    """What an entry stored under key carries (CacheEntry.key_digest)."""
    return blake2b(b"sluice-key-v1" + key.encode())
