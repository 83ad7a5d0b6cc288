/* client/cli.h: the `sluice` command's subcommands, and what they share. */
#ifndef SL_CLI_H
#define SL_CLI_H

#include <sluice/client.h>

#include <stdint.h>
#include <stdio.h>

/* Exit codes of every subcommand. */
enum {
    SL_EXIT_OK = 0,        /* everything succeeded */
    SL_EXIT_FAILED = 1,    /* the run (or the command) failed */
    SL_EXIT_USAGE = 2,     /* bad arguments or a bad flow file */
    SL_EXIT_CONNECT = 3,   /* no broker or no cache to talk to, or the
                              broker refused or cut this client */
    SL_EXIT_CANCELLED = 4, /* the run was cancelled (sluice cancel) */
    SL_EXIT_THRESHOLD = 5  /* sluice load: a --threshold was broken */
};

#define SL_CLI_BROKER "tcp://127.0.0.1:5555"

/* The broker of every command without --broker: $SLUICE_BROKER, else
 * SL_CLI_BROKER. */
const char *sl_cli_broker(void);

#define SL_CLI_TIMEOUT_MS 5000

int sl_cli_run(int argc, char **argv);
int sl_cli_status(int argc, char **argv);
int sl_cli_cancel(int argc, char **argv);
int sl_cli_watch(int argc, char **argv);
int sl_cli_cache(int argc, char **argv);
int sl_cli_bench(int argc, char **argv);
int sl_cli_keygen(int argc, char **argv);
int sl_cli_health(int argc, char **argv);
int sl_cli_logs(int argc, char **argv);
int sl_cli_load(int argc, char **argv);

/* Parses a whole decimal number from min to max for option opt of command
 * cmd into *out; on anything else says so on stderr and returns -1. */
int sl_cli_count(const char *cmd, const char *opt, const char *text,
                 uint64_t min, uint64_t max, uint64_t *out);

/* Parses --timeout (milliseconds, 1 to 3,600,000) of command cmd into
 * *out; on a bad one says so on stderr and returns -1. */
int sl_cli_timeout(const char *cmd, const char *text, int *out);

/* --cache's value, checked (sl_cache_cli_url), into *url; on a refusal
 * says why on stderr and returns -1. */
int sl_cli_cache_url(const char *given, const char **url);

/* Prints v as JSON and a newline. */
void sl_cli_print_json(FILE *out, const sl_value_t *v);

/* A short JSON rendering of v, cut to width with "..." (caller frees). */
char *sl_cli_brief(const sl_value_t *v, size_t width);

/* Integer or string field of a map, for printing. */
long long sl_cli_int(const sl_value_t *map, const char *key);
const char *sl_cli_str(const sl_value_t *map, const char *key);

#endif
