/* broker/syncer.c: a CZMQ actor that runs fdatasync on the descriptors it
 * is sent, one at a time, and answers with the outcome. It touches nothing
 * but those descriptors, which it closes. */
#include "syncer.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

struct sl_syncer {
    zactor_t *actor; /* the thread */
    bool is_busy;    /* a sync is in flight */
};

static void
syncer_actor(zsock_t *pipe, void *args)
{
    (void)args;
    zsock_signal(pipe, 0);
    for (;;) {
        zmsg_t *msg = zmsg_recv(pipe);
        char *cmd = msg ? zmsg_popstr(msg) : NULL;
        bool is_term = !cmd || streq(cmd, "$TERM");
        if (!is_term && streq(cmd, "SYNC")) {
            char *text = zmsg_popstr(msg);
            int fd = text ? atoi(text) : -1;
            int rc = fdatasync(fd) == 0 ? 0 : errno;
            close(fd);
            zstr_sendf(pipe, "%d", rc);
            zstr_free(&text);
        }
        zstr_free(&cmd);
        zmsg_destroy(&msg);
        if (is_term)
            break;
    }
}

sl_syncer_t *
sl_syncer_new(void)
{
    sl_syncer_t *s = calloc(1, sizeof *s);
    if (s && !(s->actor = zactor_new(syncer_actor, NULL))) {
        free(s);
        s = NULL;
    }
    return s;
}

void
sl_syncer_destroy(sl_syncer_t **p)
{
    if (!p || !*p)
        return;
    zactor_destroy(&(*p)->actor); /* waits for the sync in flight */
    free(*p);
    *p = NULL;
}

int
sl_syncer_start(sl_syncer_t *s, int fd)
{
    int copy = s->is_busy ? -1 : dup(fd);
    char text[16];
    if (copy < 0)
        return -1;
    snprintf(text, sizeof text, "%d", copy);
    if (zstr_sendx(s->actor, "SYNC", text, NULL) != 0) {
        close(copy);
        return -1;
    }
    s->is_busy = true;
    return 0;
}

bool
sl_syncer_is_busy(const sl_syncer_t *s)
{
    return s->is_busy;
}

zsock_t *
sl_syncer_sock(sl_syncer_t *s)
{
    return zactor_sock(s->actor);
}

int
sl_syncer_finish(sl_syncer_t *s)
{
    char *text = zstr_recv(s->actor);
    int rc = text ? atoi(text) : EIO;
    zstr_free(&text);
    s->is_busy = false;
    return rc;
}
