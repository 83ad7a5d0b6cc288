/* broker/auth.h: who may connect. The broker's CURVE key pair, an
 * allow-list of public keys for each socket (a folder of .pub files), and
 * the ZAP handler libzmq asks about every new connection. Runs on the
 * broker's loop thread: no locks. A key removed from its folder is revoked
 * at the next reload: the broker then refuses its messages and cuts its
 * connections. */
#ifndef SL_AUTH_H
#define SL_AUTH_H

#include "curve.h"
#include "error.h"

#include <czmq.h>

/* The two sockets' ZAP domains. */
#define SL_AUTH_CLIENTS "clients"
#define SL_AUTH_WORKERS "workers"
/* The client keys that may submit program tasks (not a socket's). */
#define SL_AUTH_PROGRAMS "programs"

typedef struct sl_auth sl_auth_t;

/* What has been refused since the start. */
typedef struct sl_auth_counts {
    uint64_t refused_clients; /* handshakes of keys not allowed */
    uint64_t refused_workers;
    uint64_t refused_messages; /* messages of revoked or wrong keys */
    uint64_t revoked;          /* keys removed from an allow-list */
} sl_auth_counts_t;

/* Loads the broker's key pair and both allow-lists and binds the ZAP
 * handler (before any socket binds, or libzmq lets every key in), and
 * (programs_dir not NULL) the client keys that may submit program tasks.
 * NULL with err if a file or folder does not load. */
sl_auth_t *sl_auth_new(const char *key_file, const char *clients_dir,
                       const char *workers_dir, const char *programs_dir,
                       sl_error_t *err);

/* Whether the client of key may submit program tasks: any allowed client
 * may unless a programs folder was given. */
bool sl_auth_may_run_programs(sl_auth_t *a, const char *key);

/* NULL-safe; sets *p to NULL. */
void sl_auth_destroy(sl_auth_t **p);

/* Makes sock a CURVE server whose connections are checked against the
 * allow-list of domain. */
void sl_auth_serve(sl_auth_t *a, zsock_t *sock, const char *domain);

/* The ZAP socket, for the loop's poller. */
zsock_t *sl_auth_zap(sl_auth_t *a);

/* Answers one ZAP request: 200 with the key's text as User-Id if the key is
 * in its domain's list, else 400 (logged and counted). */
void sl_auth_on_zap(sl_auth_t *a);

/* Whether key is on domain's allow-list now. */
bool sl_auth_has_key(sl_auth_t *a, const char *domain, const char *key);

/* Whether a message whose frame carries user_id (its "User-Id" property)
 * may be taken on domain's socket now; a refusal is counted. */
bool sl_auth_allows(sl_auth_t *a, const char *domain, const char *user_id);

/* Reads both folders again. Returns how many keys of domain were removed
 * since the last reload, for each domain (0 if none). */
void sl_auth_reload(sl_auth_t *a, size_t *revoked_clients,
                    size_t *revoked_workers);

/* A refused message, counted (for checks made outside sl_auth_allows). */
void sl_auth_count_refused(sl_auth_t *a);

sl_auth_counts_t sl_auth_counts(const sl_auth_t *a);

#endif
