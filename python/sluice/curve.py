"""sluice.curve: CurveZMQ keys as `sluice keygen` writes them: CZMQ
certificates (ZPL text), NAME.key with both keys, NAME.pub with the public
one (docs/SECURITY.md). A connecting side gives both its key file and the
broker's public key, or neither (then it talks in the clear)."""

import os
import re

_KEY = re.compile(r'^\s*(public|secret)-key\s*=\s*"([^"]{40})"\s*$')




def load(path):
    """(public, secret) Z85 keys of a certificate file; secret is None in
    a .pub. ValueError naming the file if it is not one."""
    try:
        with open(path) as f:
            text = f.read()
    except OSError as err:
        raise ValueError(f"{path}: {err.strerror}") from None
    found = {}
    for line in text.splitlines():
        m = _KEY.match(line)
        if m:
            found[m.group(1)] = m.group(2)
    if "public" not in found:
        raise ValueError(f"{path}: not a key file of `sluice keygen` (no "
                         "public-key)")
    return found["public"], found.get("secret")


def dial(sock, key_file=None, broker_key_file=None):
    """Makes sock a CURVE client with the key file and the broker's public
    key ($SLUICE_KEY and $SLUICE_BROKER_KEY if not given); returns whether
    it did. ValueError if only one is given, or a file is wrong."""
    import zmq
    key_file = key_file or os.environ.get("SLUICE_KEY")
    broker_key_file = broker_key_file or os.environ.get("SLUICE_BROKER_KEY")
    if not key_file and not broker_key_file:
        return False
    if not key_file or not broker_key_file:
        given, missing = (("a key file (--key, $SLUICE_KEY)",
                           "the broker's public key (--broker-key, "
                           "$SLUICE_BROKER_KEY)") if key_file else
                          ("the broker's public key (--broker-key, "
                           "$SLUICE_BROKER_KEY)",
                           "a key file (--key, $SLUICE_KEY)"))
        raise ValueError(f"CURVE needs both keys: {given} is given but not "
                         f"{missing}")
    public, secret = load(key_file)
    if secret is None:
        raise ValueError(f"{key_file}: has no secret key (give the .key "
                         "file, not the .pub)")
    if zmq.curve_public(secret.encode()) != public.encode():
        raise ValueError(f"{key_file}: its secret key does not give its "
                         "public key")
    server, _ = load(broker_key_file)
    sock.curve_publickey = public.encode()
    sock.curve_secretkey = secret.encode()
    sock.curve_serverkey = server.encode()
    return True
