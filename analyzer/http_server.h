/* A minimal HTTP/1.1 server for leakshim watch's /metrics, run in the watch's own thread: the
 * follow loop calls http_server_serve instead of sleeping between two looks at the trace, and
 * it returns by its timeout whatever the clients do. So nothing is shared between threads and
 * no lock is needed; the figures served are those of the last record applied.
 *
 * Every socket is non-blocking. A request is read up to its blank line, at most
 * HTTP_REQUEST_MAX bytes (longer: 431 and close); GET and HEAD are served (others: 405); the
 * response is made at once by the handler, then written as the socket takes it, and the
 * connection closes after it (Connection: close). At most HTTP_CLIENTS_MAX connections are
 * open at once (more wait in the listen queue), and one that stays idle HTTP_IDLE_MS is
 * closed. */
#ifndef LEAKSHIM_HTTP_SERVER_H
#define LEAKSHIM_HTTP_SERVER_H

#include <stddef.h>
#include <stdio.h>

#define HTTP_REQUEST_MAX 8192
#define HTTP_CLIENTS_MAX 16
#define HTTP_IDLE_MS 5000

struct http_server;

/* Writes the body for `path` (without its query) to `body`, sets *content_type, and returns
 * the status: 200, or 404 for an unknown path (the server then writes its own body). */
typedef int (*http_handler)(void *ctx, const char *path, FILE *body, const char **content_type);

/* Listens on `spec`: "PORT" (127.0.0.1:PORT), "HOST:PORT" or "[IPV6]:PORT" with a numeric
 * host; port 0 takes a free one. Returns the server, or NULL with `error` set. */
struct http_server *http_server_open(const char *spec, char *error, size_t error_len);

/* The address listened on, as "127.0.0.1:9464" or "[::1]:9464". */
const char *http_server_address(const struct http_server *s);

/* Waits up to timeout_ms for the sockets, and serves what can be served without blocking. */
void http_server_serve(struct http_server *s, int timeout_ms, http_handler handler, void *ctx);

void http_server_close(struct http_server *s);

#endif
