/* common/curve.h: CurveZMQ keys. Key files are CZMQ certificates (ZPL
 * text), as `sluice keygen NAME` writes them: NAME.pub holds the public key
 * (it goes into allow-lists and to peers), NAME.key both keys (mode 0600,
 * it never leaves its host). Also the watch a connecting side keeps on its
 * socket, so that a key the broker refuses is a clear error, not silence. */
#ifndef SL_CURVE_H
#define SL_CURVE_H

#include "error.h"

#include <czmq.h>
#include <stdbool.h>

/* The Z85 text of a 32-byte key, and its NUL. */
#define SL_CURVE_KEY_TEXT 41

typedef struct sl_curve_pair {
    char public_txt[SL_CURVE_KEY_TEXT];
    char secret_txt[SL_CURVE_KEY_TEXT];
} sl_curve_pair_t;

/* Writes a new key pair as base.key (0600) and base.pub; the certificate's
 * name is base's last part. Refuses to overwrite either file. */
int sl_curve_keygen(const char *base, sl_error_t *err);

/* Loads a key pair from a .key file: SL_EINVAL, naming the file, if it is
 * missing, not a certificate, has no secret key, or the secret key does
 * not give the public one. */
int sl_curve_load_pair(const char *path, sl_curve_pair_t *pair,
                       sl_error_t *err);

/* Loads the public key of a .pub (or .key) file into out. */
int sl_curve_load_public(const char *path, char out[SL_CURVE_KEY_TEXT],
                         sl_error_t *err);

/* Makes s a CURVE server with pair, whose ZAP requests carry domain. */
void sl_curve_serve(zsock_t *s, const sl_curve_pair_t *pair,
                    const char *domain);

/* The connecting side's keys: both files, or neither (in the clear). Each
 * NULL falls back to $SLUICE_KEY and $SLUICE_BROKER_KEY. 0 with
 * *is_curve set when s is now a CURVE client of that broker; SL_EINVAL if
 * only one is given or a file does not load. Call before connecting. */
int sl_curve_dial(zsock_t *s, const char *key_file, const char *broker_key_file,
                  bool *is_curve, sl_error_t *err);

/* A watch on the handshakes of a connecting socket, which it borrows:
 * destroy the watch before the socket. */
typedef struct sl_curve_watch sl_curve_watch_t;

/* is_curve: s is a CURVE client (else it talks in the clear, and a failed
 * handshake most likely means the broker wants keys). NULL if the monitor
 * cannot start. */
sl_curve_watch_t *sl_curve_watch_new(zsock_t *s, bool is_curve);

/* NULL-safe; sets *p to NULL. */
void sl_curve_watch_destroy(sl_curve_watch_t **p);

/* The socket that signals news, to poll beside s. */
zsock_t *sl_curve_watch_sock(sl_curve_watch_t *w);

/* Reads what the watch has seen; true, with why filled, if the last
 * handshake failed (the broker refused the key, or the keys do not fit
 * the broker's). A later successful handshake clears it. NULL-safe. */
bool sl_curve_watch_refused(sl_curve_watch_t *w, char *why, size_t size);

/* Whether the connection is up: its last handshake went through and it has
 * not dropped since. Reads what the watch has seen. NULL-safe (false). */
bool sl_curve_watch_is_up(sl_curve_watch_t *w);

/* How many handshakes went through since the watch began: one more means
 * a new connection (the peer sees a new routing id). NULL-safe (0). */
uint64_t sl_curve_watch_handshakes(sl_curve_watch_t *w);

#endif
