/* broker/auth.c: the broker's key pair, its allow-lists and its ZAP
 * handler (ZeroMQ's authentication protocol, RFC 27), on the loop thread. */
#include "auth.h"

#include "log.h"

#include <dirent.h>
#include <sodium.h>
#include <string.h>
#include <sys/stat.h>

/* One allow-list: the folder and the keys it held at the last reload
 * (key text -> the file's name, for the log). */
typedef struct {
    const char *domain;
    char *dir;
    zhashx_t *keys;
    uint64_t signature; /* of the folder as last read (signature()) */
} allow_list_t;

struct sl_auth {
    sl_curve_pair_t pair;
    zsock_t *zap; /* REP on inproc://zeromq.zap.01 */
    allow_list_t clients;
    allow_list_t workers;
    allow_list_t programs; /* dir NULL: not limited */
    sl_auth_counts_t counts;
};

static bool
ends_with(const char *s, const char *tail)
{
    size_t n = strlen(s), m = strlen(tail);
    return n > m && !strcmp(s + n - m, tail);
}

static uint64_t
mix(uint64_t h, uint64_t v)
{
    return (h ^ v) * 0x100000001b3ull; /* FNV-1a, a word at a time */
}

/* What changes when a .pub file of dir is added, removed or rewritten
 * (also through a symlink, as Kubernetes mounts Secrets): names, inodes,
 * sizes and modification times. 0 if the folder cannot be read. */
static uint64_t
signature(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    uint64_t h = 0xcbf29ce484222325ull;
    for (struct dirent *e = readdir(d); e; e = readdir(d)) {
        char path[4096];
        struct stat st;
        if (e->d_name[0] == '.' || !ends_with(e->d_name, ".pub"))
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (stat(path, &st) != 0)
            continue;
        uint64_t name = 0xcbf29ce484222325ull;
        for (const char *c = e->d_name; *c; c++)
            name = mix(name, (uint8_t)*c);
        /* order-free: readdir's order may change between reads */
        h += mix(mix(mix(mix(name, st.st_ino), (uint64_t)st.st_size),
                     (uint64_t)st.st_mtim.tv_sec),
                 (uint64_t)st.st_mtim.tv_nsec);
    }
    closedir(d);
    return h;
}

/* Reads the .pub files of dir into a new table; NULL with err if the
 * folder cannot be read. A file that is not a key is skipped, logged. */
static zhashx_t *
read_keys(const char *domain, const char *dir, sl_error_t *err)
{
    DIR *d = opendir(dir);
    if (!d) {
        sl_error_set(err, SL_EINVAL,
                     "allow-list of %s '%s': cannot read the folder", domain,
                     dir);
        return NULL;
    }
    zhashx_t *keys = zhashx_new();
    zhashx_set_destructor(keys, (zhashx_destructor_fn *)zstr_free);
    zhashx_set_duplicator(keys, (zhashx_duplicator_fn *)strdup);
    for (struct dirent *e = readdir(d); e; e = readdir(d)) {
        if (e->d_name[0] == '.' || !ends_with(e->d_name, ".pub"))
            continue;
        char path[4096], key[SL_CURVE_KEY_TEXT];
        sl_error_t why = {0};
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (sl_curve_load_public(path, key, &why) < 0)
            sl_log(SL_LOG_WARN, "auth", "%s: skipped: %s", domain, why.msg);
        else
            zhashx_update(keys, key, e->d_name);
    }
    closedir(d);
    return keys;
}

static int
list_load(allow_list_t *list, const char *domain, const char *dir,
          sl_error_t *err)
{
    list->domain = domain;
    list->dir = strdup(dir);
    list->signature = signature(dir);
    list->keys = read_keys(domain, dir, err);
    if (!list->keys)
        return SL_EINVAL;
    if (zhashx_size(list->keys) == 0)
        sl_log(SL_LOG_WARN, "auth",
               "allow-list of %s '%s' holds no .pub file: no %s can connect",
               domain, dir, domain);
    return 0;
}

/* Reads list's folder again: the number of keys it no longer holds. A
 * folder that cannot be read allows nobody (it fails closed). */
static size_t
list_reload(allow_list_t *list)
{
    uint64_t sig = signature(list->dir);
    if (sig == list->signature && sig != 0)
        return 0; /* nothing changed */
    list->signature = sig;
    sl_error_t err = {0};
    zhashx_t *now = read_keys(list->domain, list->dir, &err);
    if (!now) {
        sl_log(SL_LOG_ERROR, "auth", "%s: every key revoked", err.msg);
        now = zhashx_new();
    }
    size_t removed = 0;
    for (const char *name = zhashx_first(list->keys); name;
         name = zhashx_next(list->keys)) {
        const char *key = zhashx_cursor(list->keys);
        if (!zhashx_lookup(now, key)) {
            sl_log(SL_LOG_WARN, "auth",
                   "%s: key %s (%s) revoked: its connections are cut",
                   list->domain, key, name);
            removed++;
        }
    }
    for (const char *name = zhashx_first(now); name; name = zhashx_next(now))
        if (!zhashx_lookup(list->keys, zhashx_cursor(now)))
            sl_log(SL_LOG_INFO, "auth", "%s: key %s (%s) allowed", list->domain,
                   (const char *)zhashx_cursor(now), name);
    zhashx_destroy(&list->keys);
    list->keys = now;
    return removed;
}

static void
list_fini(allow_list_t *list)
{
    zhashx_destroy(&list->keys);
    free(list->dir);
}

sl_auth_t *
sl_auth_new(const char *key_file, const char *clients_dir,
            const char *workers_dir, const char *programs_dir, sl_error_t *err)
{
    if (!clients_dir || !workers_dir) {
        sl_error_set(err, SL_EINVAL,
                     "a key (--key) needs an allow-list for both sockets "
                     "(--allow-clients DIR and --allow-workers DIR): without "
                     "them any key would be let in");
        return NULL;
    }
    if (!zsys_has_curve()) {
        sl_error_set(err, SL_EINVAL, "this libzmq was built without CURVE");
        return NULL;
    }
    sl_auth_t *a = calloc(1, sizeof *a);
    if (!a) {
        sl_error_set(err, SL_ENOMEM, "out of memory");
        return NULL;
    }
    if (sl_curve_load_pair(key_file, &a->pair, err) < 0 ||
        list_load(&a->clients, SL_AUTH_CLIENTS, clients_dir, err) < 0 ||
        list_load(&a->workers, SL_AUTH_WORKERS, workers_dir, err) < 0 ||
        (programs_dir &&
         list_load(&a->programs, SL_AUTH_PROGRAMS, programs_dir, err) < 0)) {
        sl_auth_destroy(&a);
        return NULL;
    }
    a->zap = zsock_new(ZMQ_REP);
    if (!a->zap || zsock_bind(a->zap, "inproc://zeromq.zap.01") != 0) {
        sl_error_set(err, SL_EIO,
                     "cannot start the ZAP handler (is another broker with "
                     "keys in this process?)");
        sl_auth_destroy(&a);
    }
    return a;
}

void
sl_auth_destroy(sl_auth_t **p)
{
    if (!p || !*p)
        return;
    sl_auth_t *a = *p;
    zsock_destroy(&a->zap);
    list_fini(&a->clients);
    list_fini(&a->workers);
    list_fini(&a->programs);
    sodium_memzero(&a->pair, sizeof a->pair);
    free(a);
    *p = NULL;
}

void
sl_auth_serve(sl_auth_t *a, zsock_t *sock, const char *domain)
{
    sl_curve_serve(sock, &a->pair, domain);
}

zsock_t *
sl_auth_zap(sl_auth_t *a)
{
    return a->zap;
}

static allow_list_t *
list_of(sl_auth_t *a, const char *domain)
{
    return !domain                                                ? NULL
           : !strcmp(domain, SL_AUTH_CLIENTS)                     ? &a->clients
           : !strcmp(domain, SL_AUTH_WORKERS)                     ? &a->workers
           : !strcmp(domain, SL_AUTH_PROGRAMS) && a->programs.dir ? &a->programs
                                                                  : NULL;
}

/* A ZAP request: version, request id, domain, address, routing id,
 * mechanism, then the mechanism's credentials (CURVE: the client's 32-byte
 * public key). The reply: version, request id, status code and text, user
 * id, metadata. */
void
sl_auth_on_zap(sl_auth_t *a)
{
    zmsg_t *req = zmsg_recv(a->zap);
    if (!req)
        return;
    char *version = zmsg_popstr(req);
    zframe_t *request_id = zmsg_pop(req);
    char *domain = zmsg_popstr(req);
    char *address = zmsg_popstr(req);
    zframe_t *routing_id = zmsg_pop(req);
    char *mechanism = zmsg_popstr(req);
    zframe_t *credentials = zmsg_pop(req);
    char key[SL_CURVE_KEY_TEXT] = "";
    if (credentials && zframe_size(credentials) == 32)
        zmq_z85_encode(key, zframe_data(credentials), 32);
    allow_list_t *list = list_of(a, domain);
    const char *name = list && *key ? zhashx_lookup(list->keys, key) : NULL;
    bool is_ok = version && !strcmp(version, "1.0") && mechanism &&
                 !strcmp(mechanism, "CURVE") && name;
    if (!is_ok) {
        bool is_client = list == &a->clients;
        if (is_client)
            a->counts.refused_clients++;
        else
            a->counts.refused_workers++;
        sl_log(SL_LOG_WARN, "auth",
               "refused a %s from %s: key %s is not in the allow-list",
               is_client ? "client" : "worker", address ? address : "?",
               *key ? key : "(none)");
    } else {
        sl_log(SL_LOG_DEBUG, "auth", "%s from %s: key %s (%s) allowed", domain,
               address ? address : "?", key, name);
    }
    zmsg_t *rep = zmsg_new();
    zmsg_addstr(rep, "1.0");
    if (request_id)
        zmsg_append(rep, &request_id);
    else
        zmsg_addmem(rep, NULL, 0);
    zmsg_addstr(rep, is_ok ? "200" : "400");
    zmsg_addstr(rep, is_ok ? "OK" : "key not allowed");
    zmsg_addstr(rep, is_ok ? key : "");
    zmsg_addmem(rep, NULL, 0);
    zmsg_send(&rep, a->zap);
    free(version);
    free(domain);
    free(address);
    free(mechanism);
    zframe_destroy(&request_id);
    zframe_destroy(&routing_id);
    zframe_destroy(&credentials);
    zmsg_destroy(&req);
}

bool
sl_auth_has_key(sl_auth_t *a, const char *domain, const char *key)
{
    allow_list_t *list = list_of(a, domain);
    return list && key && zhashx_lookup(list->keys, key);
}

bool
sl_auth_allows(sl_auth_t *a, const char *domain, const char *user_id)
{
    bool is_ok = sl_auth_has_key(a, domain, user_id);
    if (!is_ok)
        a->counts.refused_messages++;
    return is_ok;
}

void
sl_auth_reload(sl_auth_t *a, size_t *revoked_clients, size_t *revoked_workers)
{
    *revoked_clients = list_reload(&a->clients);
    *revoked_workers = list_reload(&a->workers);
    if (a->programs.dir)
        list_reload(&a->programs); /* checked at each submit */
    a->counts.revoked += *revoked_clients + *revoked_workers;
}

bool
sl_auth_may_run_programs(sl_auth_t *a, const char *key)
{
    return !a || !a->programs.dir || sl_auth_has_key(a, SL_AUTH_PROGRAMS, key);
}

void
sl_auth_count_refused(sl_auth_t *a)
{
    if (a)
        a->counts.refused_messages++;
}

sl_auth_counts_t
sl_auth_counts(const sl_auth_t *a)
{
    return a->counts;
}
