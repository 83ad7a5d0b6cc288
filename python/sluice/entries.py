"""sluice.entries: cache entries (docs/CACHING.md, "Entries" and "Reading
an entry"): a CacheEntry message of format 2, packed as a C worker packs
it, and the checks a reader makes before an entry may answer a task."""

import logging
import time

from . import keys, values
from . import sluice_pb2 as pb

log = logging.getLogger("sluice")

FORMAT = 2
# what a lookup finds when no entry may answer (None is a value: a task
# may return it)
MISS = object()
VALUE_MAX_BYTES = 1 << 20               # larger: answered, not stored
READ_MAX_BYTES = VALUE_MAX_BYTES + 4096  # larger stored values: a miss


class TooLarge(ValueError):
    """An entry over VALUE_MAX_BYTES: the result stands, it is not stored."""


def encode(key, task, version, args, value, duration_us, producer,
           ttl_ms, input_digest=None, now_ms=None, value_wire=None):
    """The bytes stored under key for value, the result of task@version on
    args (value_wire: value as a Value message, if made already). ttl_ms
    None: never expires."""
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    e = pb.CacheEntry(
        format=FORMAT,
        value=value_wire if value_wire is not None
        else values.to_wire(value, "result"),
        task=task,
        version=version,
        input_digest=input_digest or keys.task_digest(task, version, args),
        arg_digests=keys.arg_digests(args),
        created_ms=now_ms,
        expires_ms=0 if ttl_ms is None else now_ms + ttl_ms,
        duration_us=duration_us,
        producer=producer,
        key_digest=keys.key_digest(key))
    data = e.SerializeToString()
    if len(data) > VALUE_MAX_BYTES:
        raise TooLarge(f"{key}: entry of {len(data)} bytes is over "
                       f"{VALUE_MAX_BYTES}: not stored")
    return data


class Rejected(Exception):
    """A stored value that may not answer a task; reason is the name
    /metrics counts it under (too_large, corrupt, other_key)."""

    def __init__(self, reason, why):
        super().__init__(why)
        self.reason = reason


def decode(key, data):
    """(the CacheEntry stored under key, its value), checked; Rejected if
    it may not answer (it is then a miss)."""
    if len(data) > READ_MAX_BYTES:
        raise Rejected("too_large", f"{key}: over {READ_MAX_BYTES} bytes")
    e = pb.CacheEntry()
    try:
        e.ParseFromString(data)
    except Exception as err:  # google.protobuf.message.DecodeError
        raise Rejected("corrupt", f"{key}: does not decode: {err}") from None
    if e.format != FORMAT:
        raise Rejected("corrupt", f"{key}: entry of format {e.format}, not "
                       f"{FORMAT}")
    if e.key_digest != keys.key_digest(key):
        raise Rejected("other_key", f"{key}: the entry was made for another "
                       "key")
    try:
        return e, values.from_wire(e.value)
    except ValueError as err:
        raise Rejected("corrupt", f"{key}: {err}") from None


def value_of(key, data, on_reject=None):
    """The value the bytes stored under key give, or MISS: nothing stored
    (data None), or an entry that may not answer, which is logged and
    passed to on_reject(reason). A stored None is a value."""
    if data is None:
        return MISS
    try:
        return decode(key, data)[1]
    except Rejected as err:
        log.warning("%s: entry rejected (%s): %s", key, err.reason, err)
        if on_reject:
            on_reject(err.reason)
        return MISS

