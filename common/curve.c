/* common/curve.c: CurveZMQ key files, and the handshake watch of a
 * connecting socket. Any thread; a watch belongs to its socket's thread. */
#include "curve.h"

#include <errno.h>

#include "random_id.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PATH_BYTES 4096
/* A certificate is a few hundred bytes; anything much bigger is not one. */
#define MAX_KEY_FILE_BYTES 65536

int
sl_curve_keygen(const char *base, sl_error_t *err)
{
    char pub[PATH_BYTES], key[PATH_BYTES];
    if (!*base ||
        snprintf(pub, sizeof pub, "%s.pub", base) >= (int)sizeof pub ||
        snprintf(key, sizeof key, "%s.key", base) >= (int)sizeof key)
        return sl_error_set(err, SL_EINVAL,
                            "keygen: '%s' is not a usable file name", base);
    if (access(pub, F_OK) == 0 || access(key, F_OK) == 0)
        return sl_error_set(err, SL_EEXIST,
                            "keygen: %s or %s already exists: remove it first, "
                            "or pick another name",
                            pub, key);
    zcert_t *cert = zcert_new();
    if (!cert)
        return sl_error_set(err, SL_ENOMEM, "keygen: no key made");
    const char *slash = strrchr(base, '/');
    zcert_set_meta(cert, "name", "%s", slash ? slash + 1 : base);
    zcert_set_meta(cert, "created-by", "sluice keygen");
    mode_t old = umask(077); /* the secret file is never readable by others */
    int rc = zcert_save_secret(cert, key);
    umask(old);
    if (rc == 0)
        rc = zcert_save_public(cert, pub);
    zcert_destroy(&cert);
    if (rc != 0) {
        unlink(key);
        return sl_error_set(err, SL_EIO, "keygen: cannot write %s and %s", key,
                            pub);
    }
    return 0;
}

/* The keys of the certificate in path: public_txt always, secret_txt
 * ("" if it has none). Read with zconfig, not zcert_load: CZMQ 4.2's
 * zconfig_load leaks the file when its text does not parse. */
static int
load_keys(const char *path, char public_txt[SL_CURVE_KEY_TEXT],
          char secret_txt[SL_CURVE_KEY_TEXT], sl_error_t *err)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return sl_error_set(err, SL_EINVAL, "key file '%s': cannot read it",
                            path);
    fclose(f);
    zchunk_t *chunk = zchunk_slurp(path, MAX_KEY_FILE_BYTES);
    zconfig_t *root = chunk ? zconfig_chunk_load(chunk) : NULL;
    const char *pub = root ? zconfig_get(root, "/curve/public-key", "") : "";
    const char *sec = root ? zconfig_get(root, "/curve/secret-key", "") : "";
    uint8_t bytes[32];
    int rc = 0;
    if (strlen(pub) != 40 || !zmq_z85_decode(bytes, pub))
        rc = sl_error_set(err, SL_EINVAL,
                          "key file '%s': not a CURVE certificate (make one "
                          "with `sluice keygen`)",
                          path);
    else if (*sec && (strlen(sec) != 40 || !zmq_z85_decode(bytes, sec)))
        rc = sl_error_set(err, SL_EINVAL,
                          "key file '%s': its secret key is not 40 characters "
                          "of Z85",
                          path);
    if (rc == 0) {
        snprintf(public_txt, SL_CURVE_KEY_TEXT, "%s", pub);
        snprintf(secret_txt, SL_CURVE_KEY_TEXT, "%s", sec);
    }
    sodium_memzero(bytes, sizeof bytes);
    zconfig_destroy(&root);
    zchunk_destroy(&chunk);
    return rc;
}

int
sl_curve_load_pair(const char *path, sl_curve_pair_t *pair, sl_error_t *err)
{
    if (load_keys(path, pair->public_txt, pair->secret_txt, err) < 0)
        return SL_EINVAL;
    uint8_t public_key[32], secret_key[32], derived[32];
    int rc = 0;
    if (!*pair->secret_txt)
        rc = sl_error_set(err, SL_EINVAL,
                          "key file '%s': holds no secret key (give the .key "
                          "file, not the .pub)",
                          path);
    else if (!zmq_z85_decode(public_key, pair->public_txt) ||
             !zmq_z85_decode(secret_key, pair->secret_txt) ||
             crypto_scalarmult_base(derived, secret_key) != 0 ||
             memcmp(derived, public_key, sizeof derived))
        rc = sl_error_set(err, SL_EINVAL,
                          "key file '%s': its secret key does not give its "
                          "public key",
                          path);
    sodium_memzero(secret_key, sizeof secret_key);
    sodium_memzero(derived, sizeof derived);
    if (rc < 0)
        sodium_memzero(pair, sizeof *pair);
    return rc;
}

int
sl_curve_load_public(const char *path, char out[SL_CURVE_KEY_TEXT],
                     sl_error_t *err)
{
    char secret[SL_CURVE_KEY_TEXT];
    int rc = load_keys(path, out, secret, err);
    sodium_memzero(secret, sizeof secret);
    return rc;
}

void
sl_curve_serve(zsock_t *s, const sl_curve_pair_t *pair, const char *domain)
{
    zsock_set_zap_domain(s, domain);
    zsock_set_curve_server(s, 1);
    zsock_set_curve_publickey(s, pair->public_txt);
    zsock_set_curve_secretkey(s, pair->secret_txt);
}

int
sl_curve_dial(zsock_t *s, const char *key_file, const char *broker_key_file,
              bool *is_curve, sl_error_t *err)
{
    *is_curve = false;
    if (!key_file || !*key_file)
        key_file = getenv("SLUICE_KEY");
    if (!broker_key_file || !*broker_key_file)
        broker_key_file = getenv("SLUICE_BROKER_KEY");
    bool has_key = key_file && *key_file;
    bool has_broker = broker_key_file && *broker_key_file;
    if (!has_key && !has_broker)
        return 0;
    if (!has_key || !has_broker)
        return sl_error_set(err, SL_EINVAL,
                            "CURVE needs both keys: %s is given but not %s",
                            has_key ? "a key file (--key, $SLUICE_KEY)"
                                    : "the broker's public key (--broker-key, "
                                      "$SLUICE_BROKER_KEY)",
                            has_key ? "the broker's public key (--broker-key, "
                                      "$SLUICE_BROKER_KEY)"
                                    : "a key file (--key, $SLUICE_KEY)");
    sl_curve_pair_t pair;
    char server[SL_CURVE_KEY_TEXT];
    if (sl_curve_load_pair(key_file, &pair, err) < 0 ||
        sl_curve_load_public(broker_key_file, server, err) < 0)
        return SL_EINVAL;
    zsock_set_curve_publickey(s, pair.public_txt);
    zsock_set_curve_secretkey(s, pair.secret_txt);
    zsock_set_curve_serverkey(s, server);
    sodium_memzero(&pair, sizeof pair);
    *is_curve = true;
    return 0;
}

/* Handshakes broken off without a reason, in a row, that make a refusal. */
#define ANY_FAILURES_MAX 3

struct sl_curve_watch {
    zsock_t *watched;    /* borrowed */
    zsock_t *events;     /* PAIR: the monitor's events */
    bool is_curve;       /* the socket has keys */
    bool is_refused;     /* the last handshake failed */
    bool is_up;          /* handshake done, not dropped since */
    unsigned failures;   /* handshakes broken off in a row (see read_event) */
    uint64_t handshakes; /* that went through, since the watch began */
    char why[300];       /* and why */
};

sl_curve_watch_t *
sl_curve_watch_new(zsock_t *s, bool is_curve)
{
    sl_curve_watch_t *w = calloc(1, sizeof *w);
    char endpoint[80], name[33];
    if (!w)
        return NULL;
    w->is_curve = is_curve;
    /* a name never used before: the endpoint of a watch just destroyed
       (maybe at this very address) is unbound by libzmq later, and a bind
       to it until then fails */
    sl_random_id(name, 16);
    snprintf(endpoint, sizeof endpoint, "inproc://sluice-curve-watch-%s", name);
    w->watched = s;
    int events = ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_DISCONNECTED |
                 ZMQ_EVENT_HANDSHAKE_FAILED_AUTH |
                 ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                 ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL;
    if (zmq_socket_monitor(zsock_resolve(s), endpoint, events) != 0 ||
        !(w->events = zsock_new(ZMQ_PAIR)) ||
        zsock_connect(w->events, "%s", endpoint) != 0) {
        sl_curve_watch_destroy(&w);
        return NULL;
    }
    return w;
}

void
sl_curve_watch_destroy(sl_curve_watch_t **p)
{
    if (!p || !*p)
        return;
    zmq_socket_monitor(zsock_resolve((*p)->watched), NULL, 0);
    zsock_destroy(&(*p)->events);
    free(*p);
    *p = NULL;
}

zsock_t *
sl_curve_watch_sock(sl_curve_watch_t *w)
{
    return w->events;
}

/* One monitor event: [event u16, value u32][endpoint]. */
static void
read_event(sl_curve_watch_t *w)
{
    zmsg_t *msg = zmsg_recv(w->events);
    zframe_t *head = msg ? zmsg_first(msg) : NULL;
    char *endpoint =
        msg && zmsg_next(msg) ? zframe_strdup(zmsg_last(msg)) : NULL;
    uint16_t event = 0;
    uint32_t value = 0;
    if (head && zframe_size(head) == 6) {
        memcpy(&event, zframe_data(head), sizeof event);
        memcpy(&value, zframe_data(head) + 2, sizeof value);
    }
    const char *at = endpoint ? endpoint : "the broker";
    w->is_up = event == ZMQ_EVENT_HANDSHAKE_SUCCEEDED;
    w->handshakes += w->is_up;
    if (event == ZMQ_EVENT_DISCONNECTED) {
        free(endpoint);
        zmsg_destroy(&msg);
        return; /* a drop says nothing about the keys */
    }
    /* A handshake that timed out (EAGAIN) or whose connection broke is a
     * slow or lossy link as often as a wrong key (the broker drops a HELLO
     * it cannot open): libzmq dials again, and only ANY_FAILURES_MAX such
     * failures in a row, which a wrong key gives within a second, are
     * taken for a refusal. A ZAP or protocol refusal is one at once. */
    w->failures = event == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL
                      ? w->failures + (value == EAGAIN ? 0 : 1)
                      : 0;
    if (event == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL &&
        (value == EAGAIN || w->failures < ANY_FAILURES_MAX)) {
        free(endpoint);
        zmsg_destroy(&msg);
        return;
    }
    w->is_refused = event != ZMQ_EVENT_HANDSHAKE_SUCCEEDED && event != 0;
    if (event == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH)
        snprintf(w->why, sizeof w->why,
                 "the broker at %s refused this key (ZAP status %u): its "
                 "public key is not in the broker's allow-list",
                 at, value);
    else if (w->is_refused && w->is_curve)
        snprintf(w->why, sizeof w->why,
                 "the CURVE handshake with %s failed (error 0x%x): is the "
                 "broker's public key the right one, and does the broker use "
                 "CURVE?",
                 at, value);
    else if (w->is_refused)
        snprintf(w->why, sizeof w->why,
                 "the handshake with %s failed (error 0x%x): the broker wants "
                 "CURVE keys (--key and --broker-key, or $SLUICE_KEY and "
                 "$SLUICE_BROKER_KEY)",
                 at, value);
    free(endpoint);
    zmsg_destroy(&msg);
}

static void
read_events(sl_curve_watch_t *w)
{
    while (zsock_events(w->events) & ZMQ_POLLIN)
        read_event(w);
}

bool
sl_curve_watch_refused(sl_curve_watch_t *w, char *why, size_t size)
{
    if (!w)
        return false;
    read_events(w);
    if (w->is_refused)
        snprintf(why, size, "%s", w->why);
    return w->is_refused;
}

bool
sl_curve_watch_is_up(sl_curve_watch_t *w)
{
    if (!w)
        return false;
    read_events(w);
    return w->is_up;
}

uint64_t
sl_curve_watch_handshakes(sl_curve_watch_t *w)
{
    if (!w)
        return 0;
    read_events(w);
    return w->handshakes;
}
