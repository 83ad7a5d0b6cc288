"""sluice.resp: the few Redis round trips a cache makes, over one socket
per thread, in RESP2 (https://redis.io/docs/reference/protocol-spec/).

redis-py spent about 50 us of Python per pipelined round trip here, on
top of the 35 us the round trip itself costs (docs/PERFORMANCE.md, "Python
workers"): more than the lookup a task pays for. A cache needs commands
sent in one write and their replies read back in order, AUTH and SELECT
on connect, a timeout, and a fresh connection after any failure; this is
that and no more."""

import socket
import threading


class RespError(Exception):
    """The connection failed, or Redis answered with an error."""


class _Closed(RespError):
    """The other end closed the connection."""


class _Unanswered(Exception):
    """The connection failed before any reply came: nothing was run."""


def pack(commands):
    """Commands (sequences of bytes, str or int) as one RESP2 write."""
    out = []
    for args in commands:
        out.append(b"*%d\r\n" % len(args))
        for a in args:
            if isinstance(a, str):
                a = a.encode()
            elif isinstance(a, int):
                a = b"%d" % a
            out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


class _Conn:
    """One connected socket and what has been read from it."""

    def __init__(self, host, port, timeout):
        self.sock = socket.create_connection((host, port), timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = bytearray()
        self.pos = 0

    def _fill(self):
        if self.pos:
            del self.buf[:self.pos]
            self.pos = 0
        data = self.sock.recv(65536)
        if not data:
            raise _Closed("the connection was closed")
        self.buf += data

    def _line(self):
        while True:
            end = self.buf.find(b"\r\n", self.pos)
            if end >= 0:
                line = bytes(self.buf[self.pos:end])
                self.pos = end + 2
                return line
            self._fill()

    def _exact(self, n):
        while len(self.buf) - self.pos < n + 2:
            self._fill()
        data = bytes(self.buf[self.pos:self.pos + n])
        self.pos += n + 2
        return data

    def reply(self):
        """The next reply: bytes, int, None, a list, or a RespError
        (returned, not raised: the replies after it must still be
        read)."""
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest
        if kind == b"-":
            return RespError(rest.decode(errors="replace"))
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            return None if n < 0 else self._exact(n)
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self.reply() for _ in range(n)]
        raise RespError(f"not a RESP reply: {line[:40]!r}")


class Redis:
    """A Redis server's address and credentials; call() runs commands in
    one round trip on the calling thread's connection."""

    def __init__(self, host, port, db=0, username=None, password=None,
                 timeout=5.0):
        self.host, self.port, self.db = host, port, db
        self.username, self.password = username, password
        self.timeout = timeout
        self._local = threading.local()

    def _conn(self):
        """(the thread's connection, whether it was made just now)."""
        c = getattr(self._local, "conn", None)
        if c is not None:
            return c, False
        try:
            c = _Conn(self.host, self.port, self.timeout)
        except OSError as err:
            raise RespError(f"cannot connect to {self.host}:{self.port}: "
                            f"{err.strerror or err}") from None
        hello = []
        if self.password:
            hello.append(["AUTH", self.username, self.password]
                         if self.username else ["AUTH", self.password])
        if self.db:
            hello.append(["SELECT", self.db])
        self._local.conn = c
        if hello:
            try:
                self._send(c, hello)
            except (RespError, _Unanswered) as err:
                self.close()    # never left connected but not logged in
                raise RespError(str(err) or "the connection was closed") \
                    from None
        return c, True

    def call(self, commands):
        """The replies to commands, sent together; RespError if the
        connection fails (it is dropped: the next call connects again) or
        any reply is an error. A connection found closed before anything
        came back (Redis restarted, or dropped an idle client) is made
        again once: nothing was run on it."""
        c, fresh = self._conn()
        try:
            return self._send(c, commands)
        except _Unanswered:
            if fresh:
                raise RespError("the connection was closed") from None
            c, _ = self._conn()
            try:
                return self._send(c, commands)
            except _Unanswered:
                raise RespError("the connection was closed") from None

    def _send(self, c, commands):
        del c.buf[:c.pos]   # what earlier calls read: all of it
        c.pos = 0
        try:
            c.sock.sendall(pack(commands))
            replies = [c.reply() for _ in commands]
        except (OSError, ValueError, RespError) as err:
            unanswered = not c.buf and not isinstance(err, socket.timeout) \
                and isinstance(err, (ConnectionError, _Closed))
            self.close()
            if unanswered:
                raise _Unanswered() from None
            if isinstance(err, socket.timeout):
                raise RespError(f"no answer in {self.timeout:g} s") from None
            raise RespError(str(err) if isinstance(err, RespError)
                            else f"{err.strerror or err}") from None
        for r in replies:
            if isinstance(r, RespError):
                if str(r).startswith(("NOAUTH", "WRONGPASS", "ERR AUTH",
                                      "ERR invalid password")):
                    self.close()
                raise r
        return replies

    def close(self):
        c = getattr(self._local, "conn", None)
        self._local.conn = None
        if c is not None:
            c.sock.close()
