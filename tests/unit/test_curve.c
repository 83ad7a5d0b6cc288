/* tests/unit/test_curve.c: CURVE key files and the handshake watch
 * (common/curve.c), against real libzmq sockets over loopback TCP, with
 * the test answering ZAP requests itself. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "scratch.h"

#include "curve.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct {
    char dir[64];
    char base[128]; /* dir/k */
    char key[160];  /* dir/k.key */
    char pub[160];  /* dir/k.pub */
} fixture_t;

static int
setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    sl_test_scratch_new(f->dir, sizeof f->dir, "curve");
    snprintf(f->base, sizeof f->base, "%s/k", f->dir);
    snprintf(f->key, sizeof f->key, "%s.key", f->base);
    snprintf(f->pub, sizeof f->pub, "%s.pub", f->base);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    fixture_t *f = *state;
    sl_test_scratch_remove(f->dir);
    free(f);
    return 0;
}

static void
write_file(const char *path, const char *text)
{
    FILE *out = fopen(path, "w");
    assert_non_null(out);
    fputs(text, out);
    fclose(out);
}

static void
test_keygen_writes_a_pair_and_never_overwrites(void **state)
{
    fixture_t *f = *state;
    sl_error_t err = {0};
    assert_int_equal(sl_curve_keygen(f->base, &err), 0);
    struct stat st;
    assert_int_equal(stat(f->key, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    sl_curve_pair_t pair;
    char pub[SL_CURVE_KEY_TEXT];
    assert_int_equal(sl_curve_load_pair(f->key, &pair, &err), 0);
    assert_int_equal(sl_curve_load_public(f->pub, pub, &err), 0);
    assert_string_equal(pub, pair.public_txt);
    assert_int_equal(strlen(pair.secret_txt), 40);
    assert_int_equal(sl_curve_keygen(f->base, &err), SL_EEXIST);
    assert_non_null(strstr(err.msg, "already exists"));
    sl_curve_pair_t again;
    assert_int_equal(sl_curve_load_pair(f->key, &again, &err), 0);
    assert_string_equal(again.secret_txt, pair.secret_txt); /* untouched */
}

static void
test_bad_key_files_are_refused_by_name(void **state)
{
    fixture_t *f = *state;
    sl_error_t err = {0};
    sl_curve_pair_t pair;
    char pub[SL_CURVE_KEY_TEXT];
    assert_int_equal(sl_curve_load_pair(f->key, &pair, &err), SL_EINVAL);
    assert_non_null(strstr(err.msg, "cannot read"));
    assert_non_null(strstr(err.msg, f->key));

    assert_int_equal(sl_curve_keygen(f->base, &err), 0);
    assert_int_equal(sl_curve_load_pair(f->pub, &pair, &err), SL_EINVAL);
    assert_non_null(strstr(err.msg, "holds no secret key"));

    /* a secret key that does not belong to the public key */
    zcert_t *a = zcert_new(), *b = zcert_new();
    zcert_t *mixed = zcert_new_from(zcert_public_key(a), zcert_secret_key(b));
    char mixed_path[200];
    snprintf(mixed_path, sizeof mixed_path, "%s/mixed.key", f->dir);
    assert_int_equal(zcert_save_secret(mixed, mixed_path), 0);
    assert_int_equal(sl_curve_load_pair(mixed_path, &pair, &err), SL_EINVAL);
    assert_non_null(strstr(err.msg, "does not give its public key"));
    zcert_destroy(&a);
    zcert_destroy(&b);
    zcert_destroy(&mixed);

    char junk[200];
    snprintf(junk, sizeof junk, "%s/junk.pub", f->dir);
    write_file(junk, "this is not a certificate\n");
    assert_int_equal(sl_curve_load_public(junk, pub, &err), SL_EINVAL);
    assert_non_null(strstr(err.msg, "not a CURVE certificate"));
    assert_non_null(strstr(err.msg, junk));
}

static void
test_dial_needs_both_keys_or_neither(void **state)
{
    fixture_t *f = *state;
    sl_error_t err = {0};
    bool is_curve = true;
    unsetenv("SLUICE_KEY");
    unsetenv("SLUICE_BROKER_KEY");
    zsock_t *s = zsock_new(ZMQ_DEALER);
    assert_int_equal(sl_curve_dial(s, NULL, NULL, &is_curve, &err), 0);
    assert_false(is_curve);
    assert_int_equal(sl_curve_keygen(f->base, &err), 0);
    assert_int_equal(sl_curve_dial(s, f->key, NULL, &is_curve, &err),
                     SL_EINVAL);
    assert_non_null(strstr(err.msg, "given but not the broker's public key"));
    setenv("SLUICE_BROKER_KEY", f->pub, 1); /* the variable fills the gap */
    assert_int_equal(sl_curve_dial(s, f->key, NULL, &is_curve, &err), 0);
    assert_true(is_curve);
    unsetenv("SLUICE_BROKER_KEY");
    zsock_destroy(&s);
}

/* Answers one ZAP request on zap with status ("200" or "400"). */
static void
answer_zap(zsock_t *zap, const char *status)
{
    zpoller_t *p = zpoller_new(zap, NULL);
    assert_ptr_equal(zpoller_wait(p, 5000), zap);
    zpoller_destroy(&p);
    zmsg_t *req = zmsg_recv(zap);
    assert_int_equal(zmsg_size(req), 7);
    char *version = zmsg_popstr(req);
    zframe_t *id = zmsg_pop(req);
    zmsg_t *rep = zmsg_new();
    zmsg_addstr(rep, version);
    zmsg_append(rep, &id);
    zmsg_addstr(rep, status);
    zmsg_addstr(rep, "");
    zmsg_addstr(rep, "");
    zmsg_addmem(rep, NULL, 0);
    zmsg_send(&rep, zap);
    free(version);
    zmsg_destroy(&req);
}

/* Polls the watch until it reports refused or up, for up to 5 s. */
static bool
wait_watch(sl_curve_watch_t *w, char *why, size_t size)
{
    for (int i = 0; i < 500; i++) {
        if (sl_curve_watch_refused(w, why, size))
            return true;
        if (sl_curve_watch_is_up(w))
            return false;
        zclock_sleep(10);
    }
    fail_msg("the watch saw no handshake in 5 s");
    return false;
}

static void
test_watch_tells_refused_from_accepted(void **state)
{
    fixture_t *f = *state;
    sl_error_t err = {0};
    char server_base[160], server_key[170], server_pub[170], why[300];
    snprintf(server_base, sizeof server_base, "%s/server", f->dir);
    snprintf(server_key, sizeof server_key, "%s.key", server_base);
    snprintf(server_pub, sizeof server_pub, "%s.pub", server_base);
    assert_int_equal(sl_curve_keygen(server_base, &err), 0);
    assert_int_equal(sl_curve_keygen(f->base, &err), 0);
    sl_curve_pair_t pair;
    assert_int_equal(sl_curve_load_pair(server_key, &pair, &err), 0);

    zsock_t *zap = zsock_new(ZMQ_REP);
    assert_int_equal(zsock_bind(zap, "inproc://zeromq.zap.01"), 0);
    zsock_t *server = zsock_new(ZMQ_ROUTER);
    sl_curve_serve(server, &pair, "test");
    int port = zsock_bind(server, "tcp://127.0.0.1:*");
    assert_true(port > 0);
    const char *answers[] = {"400", "200"};
    for (int i = 0; i < 2; i++) {
        bool is_curve = false;
        zsock_t *client = zsock_new(ZMQ_DEALER);
        assert_int_equal(sl_curve_dial(client, f->key, server_pub, &is_curve,
                                       &err),
                         0);
        sl_curve_watch_t *w = sl_curve_watch_new(client, is_curve);
        assert_non_null(w);
        assert_int_equal(zsock_connect(client, "tcp://127.0.0.1:%d", port), 0);
        answer_zap(zap, answers[i]);
        bool is_refused = wait_watch(w, why, sizeof why);
        assert_int_equal(is_refused, i == 0);
        if (is_refused)
            assert_non_null(strstr(why, "refused this key"));
        else
            assert_true(sl_curve_watch_is_up(w));
        sl_curve_watch_destroy(&w);
        assert_null(w);
        zsock_destroy(&client);
    }
    /* a client in the clear is told the broker wants keys */
    zsock_t *plain = zsock_new(ZMQ_DEALER);
    sl_curve_watch_t *w = sl_curve_watch_new(plain, false);
    assert_int_equal(zsock_connect(plain, "tcp://127.0.0.1:%d", port), 0);
    assert_true(wait_watch(w, why, sizeof why));
    assert_non_null(strstr(why, "wants CURVE keys"));
    sl_curve_watch_destroy(&w);
    zsock_destroy(&plain);
    zsock_destroy(&server);
    zsock_destroy(&zap);
}

/* A handshake that times out (a slow or lossy link: here a port that
 * accepts and never speaks) is not a refusal: the watch stays quiet and
 * libzmq connects again by itself. Handshakes broken off are one only
 * when three come in a row. */
static void
test_watch_handshake_timeout_is_not_refusal(void **state)
{
    fixture_t *f = *state;
    sl_error_t err = {0};
    char server_base[160], server_pub[170], why[300];
    snprintf(server_base, sizeof server_base, "%s/server", f->dir);
    snprintf(server_pub, sizeof server_pub, "%s.pub", server_base);
    assert_int_equal(sl_curve_keygen(server_base, &err), 0);
    assert_int_equal(sl_curve_keygen(f->base, &err), 0);
    struct sockaddr_in sa = {.sin_family = AF_INET};
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    socklen_t len = sizeof sa;
    int mute = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    assert_int_equal(bind(mute, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(listen(mute, 8), 0);
    getsockname(mute, (struct sockaddr *)&sa, &len);

    bool is_curve = false;
    zsock_t *client = zsock_new(ZMQ_DEALER);
    assert_int_equal(sl_curve_dial(client, f->key, server_pub, &is_curve, &err),
                     0);
    zsock_set_handshake_ivl(client, 200);
    zsock_set_reconnect_ivl(client, 50);
    sl_curve_watch_t *w = sl_curve_watch_new(client, is_curve);
    assert_int_equal(zsock_connect(client, "tcp://127.0.0.1:%u",
                                   ntohs(sa.sin_port)),
                     0);
    int accepted = 0, held[8];
    for (int i = 0; i < 150 && accepted < 3; i++) {
        int fd = accept(mute, NULL, NULL);
        if (fd >= 0)
            held[accepted++] = fd; /* held open, never answered */
        assert_false(sl_curve_watch_refused(w, why, sizeof why));
        zclock_sleep(10);
    }
    assert_int_equal(accepted, 3); /* dialled again after each timeout */
    assert_false(sl_curve_watch_is_up(w));
    /* connections broken off mid-handshake (what a wrong broker key also
     * gives): a refusal only at the third in a row */
    int broken = 0;
    for (int i = 0; i < 300; i++) {
        int fd = accept(mute, NULL, NULL);
        if (fd >= 0) {
            close(fd);
            broken++;
        }
        zclock_sleep(10);
        if (sl_curve_watch_refused(w, why, sizeof why))
            break;
    }
    assert_true(sl_curve_watch_refused(w, why, sizeof why));
    assert_true(broken >= 3);
    assert_non_null(strstr(why, "is the broker's public key the right one"));
    for (int i = 0; i < accepted; i++)
        close(held[i]);
    sl_curve_watch_destroy(&w);
    zsock_destroy(&client);
    close(mute);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(
            test_keygen_writes_a_pair_and_never_overwrites, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_key_files_are_refused_by_name,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_dial_needs_both_keys_or_neither,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_watch_tells_refused_from_accepted,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(
            test_watch_handshake_timeout_is_not_refusal, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
