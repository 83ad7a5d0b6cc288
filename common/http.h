/* common/http.h: the HTTP port of a broker or worker (/metrics, /healthz,
 * /readyz), served by libmicrohttpd on its own thread. That thread knows
 * nothing: it asks the owning loop for each answer over an inproc PAIR
 * socket, so the loop's state stays on the loop's thread. A loop that does
 * not answer within a second gets its request a 503, which is what
 * /healthz is for. */
#ifndef SL_HTTP_H
#define SL_HTTP_H

#include "buf.h"
#include "error.h"

#include <czmq.h>

typedef struct sl_http sl_http_t;

/* What the loop answers to one GET: status, content type, body. */
typedef struct sl_http_reply {
    int status;               /* 200, 404, 503... */
    const char *content_type; /* borrowed; NULL: text/plain */
    sl_buf_t body;            /* sent, then freed by sl_http_answer */
} sl_http_reply_t;

/* Answers a GET of path (without the query) in reply. */
typedef void (*sl_http_answer_fn)(const char *path, sl_http_reply_t *reply,
                                  void *ctx);

/* Parses "[HOST:]PORT" (PORT 0..65535; HOST an IPv4 address or name,
 * default every address). Returns 0, or SL_EINVAL with err naming it. */
int sl_http_parse_address(const char *text, char *host, size_t host_size,
                          uint16_t *port, sl_error_t *err);

/* Listens on address ("[HOST:]PORT", port 0: any free one) from a new
 * thread. Call from the loop's thread, which then polls sl_http_sock and
 * calls sl_http_answer when it is readable. NULL, with err naming the
 * address and the reason (in use, bad address), if it cannot listen. */
sl_http_t *sl_http_new(const char *address, sl_error_t *err);

/* Stops the HTTP thread and frees everything. NULL-safe; sets *p NULL. */
void sl_http_destroy(sl_http_t **p);

/* The socket the loop polls (borrowed). */
zsock_t *sl_http_sock(sl_http_t *h);

/* The port listened on (the one picked, for port 0). */
uint16_t sl_http_port(const sl_http_t *h);

/* Writes "HOST:PORT" into out: address's host ("*" if none) and the
 * port listened on, for logs and status. */
void sl_http_describe(const sl_http_t *h, const char *address, char *out,
                      size_t size);

/* Renders the /metrics page into out: 0, or an error code (then 500). */
typedef int (*sl_http_metrics_fn)(void *ctx, sl_buf_t *out);

/* The answer every loop gives: /metrics rendered by fn (Prometheus
 * content type), /healthz 200 "ok" (the loop answered), /readyz 200
 * "ready", or 503 saying not_ready when it is not NULL; anything else 404
 * naming the three pages. */
void sl_http_page(const char *path, sl_http_reply_t *reply,
                  sl_http_metrics_fn fn, void *ctx, const char *not_ready);

/* GETs path from the HTTP port at address ("[HOST:]PORT"; no host, "*"
 * or "0.0.0.0": this host) with HTTP/1.0, waiting at most timeout_ms for
 * the whole answer. Sets *status and appends up to 64 KiB of the body to
 * body. 0; SL_EINVAL for a bad address; SL_EIO (refused, reset, not HTTP)
 * or SL_ETIMEDOUT, with err naming the address. For health checks, which
 * must not need curl. */
int sl_http_get(const char *address, const char *path, int timeout_ms,
                int *status, sl_buf_t *body, sl_error_t *err);

/* Takes one request from sl_http_sock, asks fn for the answer and sends
 * it back. */
void sl_http_answer(sl_http_t *h, sl_http_answer_fn fn, void *ctx);

#endif
