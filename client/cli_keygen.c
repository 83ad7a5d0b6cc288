/* client/cli_keygen.c: `sluice keygen NAME...`: a CURVE key pair for each
 * name, as NAME.key (secret, mode 0600) and NAME.pub (public); with
 * --sign, an Ed25519 signing key pair for cache entries, as NAME.sign.key
 * and NAME.sign.pub. */
#include "cli.h"
#include "curve.h"
#include "dirs.h"
#include "sign.h"

#include <errno.h>
#include <string.h>

static void
usage(FILE *out)
{
    fprintf(out, "usage: sluice keygen [--sign] NAME...\n  Writes a CURVE key "
                 "pair for each NAME (a path without extension):\n  NAME.key  "
                 "both keys, mode 0600: stays on the host that uses it\n       "
                 "     (sluice-broker --key, sluice-worker --key, "
                 "$SLUICE_KEY)\n  NAME.pub  the public key: into the broker's "
                 "--allow-clients or\n            --allow-workers folder, or, "
                 "for the broker's own, to\n            workers and clients "
                 "(--broker-key, $SLUICE_BROKER_KEY)\n  --sign: an Ed25519 key "
                 "pair that signs cache entries instead:\n  NAME.sign.key  "
                 "mode 0600, for one worker (sluice-worker --sign-key)\n  "
                 "NAME.sign.pub  into every reader's --trust folder\n  Folders "
                 "in NAME are made (mode 0700). An existing file is never\n  "
                 "overwritten.\n");
}

int
sl_cli_keygen(int argc, char **argv)
{
    bool is_sign = argc > 1 && !strcmp(argv[1], "--sign");
    int first = is_sign ? 2 : 1;
    if (argc <= first) {
        usage(stderr);
        return SL_EXIT_USAGE;
    }
    for (int i = first; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return SL_EXIT_OK;
        }
        if (argv[i][0] == '-') {
            fprintf(stderr, "sluice keygen: unknown option '%s'\n", argv[i]);
            usage(stderr);
            return SL_EXIT_USAGE;
        }
    }
    for (int i = first; i < argc; i++) {
        sl_error_t err = {0};
        if (sl_dirs_make(argv[i], true) < 0) {
            fprintf(stderr,
                    "sluice keygen: cannot make the folder of '%s': %s\n",
                    argv[i], strerror(errno));
            return SL_EXIT_FAILED;
        }
        int rc = is_sign ? sl_sign_keygen(argv[i], &err)
                         : sl_curve_keygen(argv[i], &err);
        if (rc < 0) {
            fprintf(stderr, "sluice %s\n", err.msg);
            return SL_EXIT_FAILED;
        }
        if (is_sign)
            printf("%s.sign.key %s.sign.pub\n", argv[i], argv[i]);
        else
            printf("%s.key %s.pub\n", argv[i], argv[i]);
    }
    return SL_EXIT_OK;
}
