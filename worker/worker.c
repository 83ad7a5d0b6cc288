/* worker/worker.c: the worker: the sl_worker_t object (options, task
 * registry, signing keys, start, drain, stop) and its thread's loop (a
 * CZMQ actor), which owns the DEALER to the broker (link.c), the tasks in
 * hand and the executor actors (hand.c); only that thread touches them.
 * It never runs task code itself, so it always answers the broker. */
#include "worker_loop.h"

#include "cache.h"
#include "curve.h"
#include "dirs.h"
#include "envelope.h"
#include "executor.h"
#include "program.h"
#include "random_id.h"
#include "http.h"
#include "http_tasks.h"
#include "log.h"
#include "registry.h"
#include "wire.h"
#include "workdir.h"
#include "worker_metrics.h"
#include "trace.h"

#include <czmq.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void
on_broker(loop_t *l)
{
    zmsg_t *msg = zmsg_recv(l->dealer);
    SL_TRACE("worker.recv");
    zframe_t *frame = msg ? zmsg_first(msg) : NULL;
    sl_error_t err = {0};
    Sluice__Envelope *env =
        frame ? sl_envelope_decode(zframe_data(frame), zframe_size(frame), &err)
              : NULL;
    if (msg)
        l->last_broker_ms = zclock_mono();
    if (!env && frame)
        sl_log(SL_LOG_WARN, "worker",
               "worker=%s dropped a message from the broker: %s", l->w->id,
               err.msg);
    else if (env && env->body_case == SLUICE__ENVELOPE__BODY_ERROR &&
             env->error->code == SLUICE__ERROR__CODE__UNKNOWN_PEER) {
        sl_log(SL_LOG_INFO, "worker",
               "worker=%s the broker does not know us (restarted?): saying "
               "hello again",
               l->w->id);
        sl_link_send_ready(l);
    } else if (env && env->body_case == SLUICE__ENVELOPE__BODY_TASKS)
        sl_hand_take(l, env->tasks);
    else if (env && env->body_case == SLUICE__ENVELOPE__BODY_CANCEL_TASKS)
        sl_hand_cancel(l, env->cancel_tasks);
    else if (env && env->body_case == SLUICE__ENVELOPE__BODY_ERROR)
        sl_log(SL_LOG_WARN, "worker", "worker=%s broker says: %s", l->w->id,
               env->error->reason);
    else if (env)
        sl_log(SL_LOG_DEBUG, "worker", "worker=%s ignored %s", l->w->id,
               sl_envelope_kind(env));
    sl_envelope_free(&env);
    zmsg_destroy(&msg);
}

/* A command from the owner: "DRAIN" or "$TERM". False for $TERM. */
static bool
on_pipe(loop_t *l)
{
    char *cmd = zstr_recv(l->pipe);
    bool is_term = !cmd || strcmp(cmd, "$TERM") == 0;
    if (cmd && strcmp(cmd, "DRAIN") == 0 && !l->is_draining) {
        l->is_draining = true;
        sl_log(SL_LOG_INFO, "worker", "worker=%s draining: %zu tasks in hand",
               l->w->id, l->held_count);
        sl_link_send_heartbeat(l); /* tell the broker now, not in a second */
    }
    free(cmd);
    return !is_term;
}

static int
render_metrics(void *ctx, sl_buf_t *out)
{
    loop_t *l = ctx;
    sl_wmetrics_gauges_t g = {.slots = l->w->slots,
                              .held = l->held_count,
                              .is_connected = sl_link_is_connected(l),
                              .is_draining = l->is_draining};
    for (uint32_t i = 0; i < l->w->slots; i++)
        g.busy += sl_task_queue_is_busy(l->queue, i);
    return sl_wmetrics_render(l->metrics, &g, out);
}

/* Healthy: the worker thread answers (else the HTTP thread says 503).
 * Ready: connected to the broker and not draining. */
static void
answer_http(const char *path, sl_http_reply_t *reply, void *ctx)
{
    loop_t *l = ctx;
    sl_http_page(path, reply, render_metrics, l,
                 l->is_draining             ? "draining: takes no new tasks"
                 : !sl_link_is_connected(l) ? "not connected to the broker"
                                            : NULL);
}

static void
free_task(void *task)
{
    sluice__task__free_unpacked(task, NULL);
}

static int
loop_init(loop_t *l, zsock_t *pipe, sl_worker_t *w, sl_error_t *err)
{
    l->w = w;
    l->pipe = pipe;
    l->execs = calloc(w->slots, sizeof *l->execs);
    l->boards = calloc(w->slots, sizeof *l->boards);
    l->queue = sl_task_queue_new(w->slots, free_task);
    l->poller = zpoller_new(pipe, NULL);
    l->metrics = sl_wmetrics_new();
    if (!l->execs || !l->boards || !l->queue || !l->poller || !l->metrics)
        return sl_error_set(err, SL_ENOMEM, "out of memory");
    if (w->http && !(l->http = sl_http_new(w->http, err)))
        return err->code;
    if (l->http) {
        sl_http_describe(l->http, w->http, l->http_at, sizeof l->http_at);
        zpoller_add(l->poller, sl_http_sock(l->http));
    }
    if (sl_link_open(l, err) < 0)
        return err->code;
    for (uint32_t i = 0; i < w->slots; i++) {
        l->execs[i] = sl_executor_new(&w->exec_cfg, &l->boards[i], l->queue, i);
        if (!l->execs[i])
            return sl_error_set(err, SL_ENOMEM, "cannot start executors");
        zpoller_add(l->poller, zactor_sock(l->execs[i]));
    }
    return 0;
}

static void
loop_fini(loop_t *l)
{
    sl_http_destroy(&l->http); /* first: its thread asks this loop */
    for (uint32_t i = 0; l->execs && i < l->w->slots; i++)
        zactor_destroy(&l->execs[i]);
    free(l->execs);
    free(l->boards);                  /* after the executors that read them */
    sl_task_queue_destroy(&l->queue); /* and take from it */
    zpoller_destroy(&l->poller);
    free(l->held);
    sl_curve_watch_destroy(&l->watch);
    zsock_destroy(&l->dealer);
    sl_wmetrics_destroy(&l->metrics);
}

static void
worker_actor(zsock_t *pipe, void *args)
{
    loop_t l = {0};
    sl_error_t err = {0};
    int rc = loop_init(&l, pipe, args, &err);
    zsock_signal(pipe, 0);
    zstr_send(pipe, rc == 0 ? "ok" : err.msg); /* read by sl_worker_new */
    if (rc == 0) {
        char shown[512];
        sl_link_send_ready(&l);
        sl_log(SL_LOG_INFO, "worker",
               "worker=%s broker=%s slots=%u tasks=%zu cache=%s isolate=%s "
               "curve=%s http=%s",
               l.w->id, l.w->endpoint, l.w->slots,
               sl_registry_count(l.w->registry),
               l.w->cache_url
                   ? sl_cache_redact(l.w->cache_url, shown, sizeof shown)
                   : "(flow's, else embedded)",
               l.w->exec_cfg.is_isolated ? "yes" : "no",
               l.is_curve ? "on" : "off", l.http ? l.http_at : "off");
        if (!l.is_curve && strncmp(l.w->endpoint, "inproc://", 9) != 0)
            sl_log(SL_LOG_WARN, "worker",
                   "worker=%s no key (--key): talking to the broker in the "
                   "clear",
                   l.w->id);
    }
    l.last_broker_ms = l.greeted_ms = zclock_mono();
    l.next_beat_ms = l.last_broker_ms + l.w->heartbeat_ms;
    while (rc == 0) {
        int64_t wait = l.next_beat_ms - zclock_mono();
        void *which = zpoller_wait(l.poller, wait > 0 ? (int)wait : 0);
        if (which == pipe && !on_pipe(&l))
            break; /* $TERM */
        if (!which && zpoller_terminated(l.poller))
            break; /* the context is going away */
        if (which == l.dealer)
            on_broker(&l);
        else if (l.watch && which == sl_curve_watch_sock(l.watch))
            sl_link_on_watch(&l);
        else if (l.http && which == sl_http_sock(l.http))
            sl_http_answer(l.http, answer_http, &l);
        for (uint32_t i = 0; which && i < l.w->slots; i++)
            if (which == zactor_sock(l.execs[i]))
                sl_hand_on_executor(&l, i);
        if (zclock_mono() >= l.next_beat_ms)
            sl_link_on_beat(&l);
    }
    if (rc == 0)
        sl_link_send_disconnect(&l, "worker stopping");
    loop_fini(&l);
}

static void
free_strings(char ***p)
{
    for (char **s = *p; s && *s; s++)
        free(*s);
    free(*p);
    *p = NULL;
}

static char *
make_id(void)
{
    char host[128] = "host", id[200];
    gethostname(host, sizeof host - 1);
    snprintf(id, sizeof id, "%s-%d-%04x", host, (int)getpid(),
             (unsigned)(randof(0x10000)));
    return strdup(id);
}

/* The signing key and the trusted keys, from the options or else
 * $SLUICE_SIGN_KEY and $SLUICE_TRUST. */
static int
load_signing(sl_worker_t *w, const sl_worker_options_t *opt, sl_error_t *err)
{
    const char *key =
        opt->sign_key_file ? opt->sign_key_file : getenv("SLUICE_SIGN_KEY");
    const char *trust =
        opt->trust_dir ? opt->trust_dir : getenv("SLUICE_TRUST");
    if (key && *key && !(w->sign_key = sl_sign_key_new(key, err)))
        return err->code;
    if (trust && *trust && !(w->trust = sl_trust_load(trust, err)))
        return err->code;
    return 0;
}

static char **
copy_strings(const char *const *from, size_t count)
{
    char **to = calloc(count + 1, sizeof *to);
    for (size_t i = 0; to && i < count; i++)
        if (!(to[i] = strdup(from[i]))) {
            free_strings(&to);
            return NULL;
        }
    return to;
}

/* The default folder of working folders: $TMPDIR/sluice-UID/work. */
static char *
default_work_dir(void)
{
    char path[4096];
    const char *tmp = getenv("TMPDIR");
    snprintf(path, sizeof path, "%s/sluice-%u/work",
             tmp && *tmp == '/' ? tmp : "/tmp", (unsigned)getuid());
    return strdup(path);
}

/* Program tasks: the rules (exec@1 is advertised only with some), where
 * programs are found, the workspace, and the working folders, swept of
 * what a killed worker left. */
static int
configure_programs(sl_worker_t *w, const sl_worker_options_t *opt,
                   sl_error_t *err)
{
    char here[4096];
    w->exec_rules = copy_strings(opt->exec_rules, opt->exec_rule_count);
    w->exec_env = copy_strings(opt->exec_env, opt->exec_env_count);
    w->exec_path = strdup(opt->exec_path ? opt->exec_path : SL_PROGRAM_PATH);
    w->workspace = realpath(opt->workspace ? opt->workspace : ".", NULL);
    w->work_dir = opt->work_dir ? strdup(opt->work_dir) : default_work_dir();
    if (!w->workspace)
        return sl_error_set(err, SL_EINVAL, "--workspace %s: %s",
                            opt->workspace ? opt->workspace
                                           : getcwd(here, sizeof here),
                            strerror(errno));
    if (!w->exec_rules || !w->exec_env || !w->exec_path || !w->work_dir)
        return sl_error_set(err, SL_ENOMEM, "out of memory");
    for (size_t i = 0; i < opt->exec_rule_count; i++)
        if (!*opt->exec_rules[i] ||
            strlen(opt->exec_rules[i]) > SL_PROGRAM_NAME_MAX_BYTES)
            return sl_error_set(err, SL_EINVAL,
                                "--exec '%s': a rule has 1 to %d bytes",
                                opt->exec_rules[i], SL_PROGRAM_NAME_MAX_BYTES);
    if (opt->exec_rule_count > SL_EXEC_RULES_MAX_COUNT)
        return sl_error_set(err, SL_EINVAL, "at most %d --exec rules",
                            SL_EXEC_RULES_MAX_COUNT);
    if (opt->blob_dir && (sl_dirs_make(opt->blob_dir, false) < 0 ||
                          !(w->blob_dir = realpath(opt->blob_dir, NULL))))
        return sl_error_set(err, SL_EINVAL, "--blob-dir %s: %s", opt->blob_dir,
                            strerror(errno));
    w->programs =
        (sl_program_options_t){.rules = w->exec_rules,
                               .rule_count = opt->exec_rule_count,
                               .path = w->exec_path,
                               .env_pass = w->exec_env,
                               .env_pass_count = opt->exec_env_count,
                               .workspace = w->workspace,
                               .work_dir = w->work_dir,
                               .max_stdout_bytes = opt->max_stdout_bytes
                                                       ? opt->max_stdout_bytes
                                                       : SL_STDOUT_MAX_BYTES,
                               .blob_dir = w->blob_dir};
    if (opt->exec_rule_count == 0)
        return 0;
    int rc = sl_workdir_prepare(w->work_dir, err);
    char *real = rc == 0 ? realpath(w->work_dir, NULL) : NULL;
    if (real) { /* as the kernel names it (/proc/PID/cwd): workdir.c */
        free(w->work_dir);
        w->work_dir = real;
        w->programs.work_dir = real;
    }
    if (rc == 0) {
        size_t swept = sl_workdir_sweep(w->work_dir);
        if (swept)
            sl_log(SL_LOG_INFO, "worker",
                   "removed %zu working folders a stopped worker left in %s",
                   swept, w->work_dir);
        rc = sl_builtins_register_exec(w->registry, err);
    }
    return rc;
}

/* The http tasks: registered only with --http-allow rules. */
static int
configure_http(sl_worker_t *w, const sl_worker_options_t *opt, sl_error_t *err)
{
    w->http_allow = copy_strings(opt->http_allow, opt->http_allow_count);
    if (!w->http_allow)
        return sl_error_set(err, SL_ENOMEM, "out of memory");
    w->http_rules = (sl_http_rules_t){w->http_allow, opt->http_allow_count};
    if (opt->http_allow_count > SL_HTTP_RULES_MAX_COUNT)
        return sl_error_set(err, SL_EINVAL, "at most %d --http-allow rules",
                            SL_HTTP_RULES_MAX_COUNT);
    for (size_t i = 0; i < opt->http_allow_count; i++)
        if (sl_http_rule_check(opt->http_allow[i], err) < 0)
            return SL_EINVAL;
    return opt->http_allow_count ? sl_http_tasks_register(w->registry, err) : 0;
}

static int
configure(sl_worker_t *w, const sl_worker_options_t *opt, sl_error_t *err)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    w->slots = opt->slots ? opt->slots : (uint32_t)(cores > 0 ? cores : 1);
    w->heartbeat_ms = opt->heartbeat_ms ? opt->heartbeat_ms : 1000;
    w->liveness = opt->liveness ? opt->liveness : 3;
    sl_random_id(w->incarnation, 8);
    if (w->slots > SL_WORKER_SLOTS_MAX)
        return sl_error_set(err, SL_EINVAL, "--slots %u: at most %u", w->slots,
                            SL_WORKER_SLOTS_MAX);
    w->id = opt->id ? strdup(opt->id) : make_id();
    w->endpoint =
        strdup(opt->endpoint ? opt->endpoint : "tcp://127.0.0.1:5556");
    w->cache_url = opt->cache_url ? strdup(opt->cache_url) : NULL;
    w->key_file = opt->key_file ? strdup(opt->key_file) : NULL;
    w->broker_key_file =
        opt->broker_key_file ? strdup(opt->broker_key_file) : NULL;
    w->http = opt->http ? strdup(opt->http) : NULL;
    w->fallback_url =
        opt->fallback_url ? strdup(opt->fallback_url) : sl_cache_default_url();
    w->registry = sl_registry_new();
    if (!w->id || !w->endpoint || !w->fallback_url || !w->registry)
        return sl_error_set(err, SL_ENOMEM,
                            "out of memory (or no $HOME for the default "
                            "cache)");
    if (strlen(w->id) > 255 || !*w->id)
        return sl_error_set(err, SL_EINVAL,
                            "worker id must have 1 to 255 bytes");
    int rc = sl_builtins_register(w->registry, err);
    for (size_t i = 0; rc == 0 && i < opt->plugin_count; i++)
        rc = sl_registry_load_plugin(w->registry, opt->plugins[i], err);
    if (rc == 0)
        rc = load_signing(w, opt, err);
    if (rc == 0)
        rc = configure_programs(w, opt, err);
    if (rc == 0)
        rc = configure_http(w, opt, err);
    w->exec_cfg =
        (sl_executor_config_t){.registry = w->registry,
                               .worker_id = w->id,
                               .cache_url = w->cache_url,
                               .fallback_url = w->fallback_url,
                               .is_isolated = opt->is_isolated,
                               .limits = {opt->task_memory_bytes,
                                          opt->task_cpu_seconds},
                               .sign_key = w->sign_key,
                               .trust = w->trust,
                               .programs = &w->programs,
                               .http_rules = &w->http_rules,
                               .lane = {w->endpoint, w->key_file,
                                        w->broker_key_file, w->incarnation,
                                        &w->is_lane_taken}};
    return rc;
}

sl_worker_t *
sl_worker_new(const sl_worker_options_t *opt, sl_error_t *err)
{
    sl_worker_t *w = calloc(1, sizeof *w);
    if (!w) {
        sl_error_set(err, SL_ENOMEM, "out of memory");
        return NULL;
    }
    if (configure(w, opt, err) < 0) {
        sl_worker_destroy(&w);
        return NULL;
    }
    w->actor = zactor_new(worker_actor, w);
    char *status = w->actor ? zstr_recv(w->actor) : NULL;
    if (!status || strcmp(status, "ok") != 0) {
        sl_error_set(err, SL_EINVAL, "worker: %s",
                     status ? status : "no thread");
        sl_worker_destroy(&w);
    }
    free(status);
    return w;
}

int
sl_worker_drain(sl_worker_t *w, int grace_ms)
{
    zstr_send(w->actor, "DRAIN");
    zpoller_t *poller = zpoller_new(w->actor, NULL);
    int64_t deadline = zclock_mono() + grace_ms;
    int rc = SL_ETIMEDOUT;
    while (poller && rc != 0) {
        int64_t left = deadline - zclock_mono();
        if (left <= 0 || !zpoller_wait(poller, (int)left))
            break;
        char *msg = zstr_recv(w->actor);
        rc = msg && strcmp(msg, "DRAINED") == 0 ? 0 : rc;
        free(msg);
    }
    zpoller_destroy(&poller);
    return rc;
}

void
sl_worker_destroy(sl_worker_t **p)
{
    if (!p || !*p)
        return;
    sl_worker_t *w = *p;
    zactor_destroy(&w->actor);
    sl_registry_destroy(&w->registry);
    free(w->id);
    free(w->endpoint);
    free(w->cache_url);
    free(w->fallback_url);
    free(w->key_file);
    free(w->broker_key_file);
    free(w->http);
    sl_sign_key_destroy(&w->sign_key);
    sl_trust_destroy(&w->trust);
    free_strings(&w->exec_rules);
    free_strings(&w->http_allow);
    free_strings(&w->exec_env);
    free(w->exec_path);
    free(w->workspace);
    free(w->work_dir);
    free(w->blob_dir);
    free(w);
    *p = NULL;
}

bool
sl_worker_serves(const sl_worker_t *w, const char *name, uint32_t version)
{
    return sl_registry_find(w->registry, name, version) != NULL;
}

const char *
sl_worker_id(const sl_worker_t *w)
{
    return w->id;
}
