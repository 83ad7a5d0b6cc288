/* client/cli_health.c: `sluice health [--ready] [HOST:]PORT`: asks a
 * broker's or worker's HTTP port for /healthz (or /readyz) and exits 0 only
 * on a 200. What a container's HEALTHCHECK or an exec probe runs: it needs
 * no curl in the image. */
#include "cli.h"
#include "http.h"

#include <stdlib.h>
#include <string.h>

static void
usage(FILE *out)
{
    fprintf(out, "usage: sluice health [--ready] [--timeout-ms MS] "
                 "[HOST:]PORT\n  Asks the --http port of a sluice-broker or "
                 "sluice-worker\n  (default $SLUICE_HTTP; no HOST: this host) "
                 "for /healthz:\n  exit 0 if it answered 200, 1 if it answered "
                 "anything else,\n  3 if nothing answered within --timeout-ms "
                 "(default 2000).\n  --ready  ask /readyz instead: connected "
                 "and not draining\n");
}

int
sl_cli_health(int argc, char **argv)
{
    const char *address = getenv("SLUICE_HTTP"), *path = "/healthz";
    uint64_t timeout_ms = 2000;
    bool has_address = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return SL_EXIT_OK;
        } else if (!strcmp(argv[i], "--ready")) {
            path = "/readyz";
        } else if (!strcmp(argv[i], "--timeout-ms")) {
            if (i + 1 == argc) {
                fprintf(stderr, "sluice health: --timeout-ms needs a number of "
                                "milliseconds\n");
                return SL_EXIT_USAGE;
            }
            if (sl_cli_count("health", "--timeout-ms", argv[++i], 1, 600000,
                             &timeout_ms) < 0)
                return SL_EXIT_USAGE;
        } else if (argv[i][0] == '-' || has_address) {
            fprintf(stderr, "sluice health: unexpected argument '%s'\n",
                    argv[i]);
            usage(stderr);
            return SL_EXIT_USAGE;
        } else {
            address = argv[i];
            has_address = true;
        }
    }
    if (!address || !*address) {
        fprintf(stderr, "sluice health: give the HTTP port to ask "
                        "([HOST:]PORT, or $SLUICE_HTTP)\n");
        return SL_EXIT_USAGE;
    }
    sl_error_t err = {0};
    sl_buf_t body = {0};
    int status = 0;
    int rc = sl_http_get(address, path, (int)timeout_ms, &status, &body, &err);
    if (rc == SL_EINVAL) {
        fprintf(stderr, "sluice health: %s\n", err.msg);
        return SL_EXIT_USAGE;
    }
    if (rc < 0) {
        fprintf(stderr, "sluice health: %s\n", err.msg);
        return SL_EXIT_CONNECT;
    }
    /* the page's own words: "ok", "ready" or why not */
    size_t len = body.size;
    while (len && (body.data[len - 1] == '\n' || body.data[len - 1] == '\r'))
        len--;
    FILE *out = status == 200 ? stdout : stderr;
    fprintf(out, "%s%s: %d %.*s\n", address, path, status, (int)len,
            body.data ? body.data : "");
    sl_buf_fini(&body);
    return status == 200 ? SL_EXIT_OK : SL_EXIT_FAILED;
}
