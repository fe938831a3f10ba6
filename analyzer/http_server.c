/* The /metrics server; see http_server.h. Each client goes through two states: reading its
 * request (into `request`), then writing its response (from `response`). */
#include "http_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct client {
    int fd;               /* -1: free slot */
    char request[HTTP_REQUEST_MAX + 1];
    size_t request_len;
    char *response;       /* NULL while reading the request */
    size_t response_len, response_sent;
    int64_t last_activity_ms;
};

struct http_server {
    int fd;
    char address[80];
    struct client clients[HTTP_CLIENTS_MAX];
};

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Splits "PORT", "HOST:PORT" or "[HOST]:PORT" into host and port; -1 if malformed. */
static int split_spec(const char *spec, char *host, size_t host_len, char *port, size_t port_len)
{
    const char *colon = strrchr(spec, ':');
    const char *h = spec, *h_end = colon;
    if (!colon) {
        snprintf(host, host_len, "127.0.0.1");
        h = h_end = NULL;
        colon = spec - 1;
    } else if (spec[0] == '[') {
        if (colon == spec || colon[-1] != ']')
            return -1;
        h = spec + 1;
        h_end = colon - 1;
    }
    if (h) {
        if (h_end == h || (size_t)(h_end - h) >= host_len)
            return -1;
        memcpy(host, h, (size_t)(h_end - h));
        host[h_end - h] = 0;
    }
    const char *p = colon + 1;
    if (!*p || strlen(p) >= port_len || strspn(p, "0123456789") != strlen(p) || atol(p) > 65535)
        return -1;
    snprintf(port, port_len, "%s", p);
    return 0;
}

static int listen_on(struct http_server *s, const char *spec, char *error, size_t error_len)
{
    char host[64], port[8];
    if (split_spec(spec, host, sizeof host, port, sizeof port) < 0) {
        snprintf(error, error_len, "--listen takes PORT, HOST:PORT or [HOST]:PORT, not '%s'", spec);
        return -1;
    }
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV};
    struct addrinfo *ai;
    int rc = getaddrinfo(host, port, &hints, &ai);
    if (rc != 0) {
        snprintf(error, error_len, "--listen %s: %s (give a numeric address)", spec, gai_strerror(rc));
        return -1;
    }
    s->fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    int one = 1;
    if (s->fd < 0 || setsockopt(s->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
        bind(s->fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(s->fd, 64) < 0) {
        snprintf(error, error_len, "cannot listen on %s: %s", spec, strerror(errno));
        freeaddrinfo(ai);
        return -1;
    }
    freeaddrinfo(ai);
    struct sockaddr_storage bound;
    socklen_t len = sizeof bound;
    char name[INET6_ADDRSTRLEN] = "?";
    getsockname(s->fd, (struct sockaddr *)&bound, &len);
    if (bound.ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&bound;
        inet_ntop(AF_INET6, &a->sin6_addr, name, sizeof name);
        snprintf(s->address, sizeof s->address, "[%s]:%u", name, ntohs(a->sin6_port));
    } else {
        const struct sockaddr_in *a = (const struct sockaddr_in *)&bound;
        inet_ntop(AF_INET, &a->sin_addr, name, sizeof name);
        snprintf(s->address, sizeof s->address, "%s:%u", name, ntohs(a->sin_port));
    }
    return 0;
}

struct http_server *http_server_open(const char *spec, char *error, size_t error_len)
{
    struct http_server *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(error, error_len, "out of memory");
        return NULL;
    }
    s->fd = -1;
    for (int i = 0; i < HTTP_CLIENTS_MAX; i++)
        s->clients[i].fd = -1;
    if (listen_on(s, spec, error, error_len) < 0) {
        if (s->fd >= 0)
            close(s->fd);
        free(s);
        return NULL;
    }
    return s;
}

const char *http_server_address(const struct http_server *s)
{
    return s->address;
}

static void drop_client(struct client *c)
{
    close(c->fd);
    free(c->response);
    c->fd = -1;
    c->response = NULL;
    c->request_len = c->response_len = c->response_sent = 0;
}

static const char *reason(int status)
{
    switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 431: return "Request Header Fields Too Large";
    default: return "Internal Server Error";
    }
}

/* Makes the whole response of `status` (the handler's body for 200) ready to write. */
static void respond(struct client *c, int status, int head_only, const char *path,
                    http_handler handler, void *ctx)
{
    char *body = NULL;
    size_t body_len = 0;
    const char *type = "text/plain; charset=utf-8";
    FILE *out = open_memstream(&body, &body_len);
    if (!out) {
        drop_client(c);
        return;
    }
    if (status == 200)
        status = handler(ctx, path, out, &type);
    if (status != 200) {
        type = "text/plain; charset=utf-8";
        fprintf(out, "%d %s\n", status, reason(status));
    }
    if (fclose(out) != 0) {
        free(body);
        drop_client(c);
        return;
    }
    FILE *whole = open_memstream(&c->response, &c->response_len);
    if (!whole) {
        free(body);
        drop_client(c);
        return;
    }
    fprintf(whole, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                   "Connection: close\r\n\r\n", status, reason(status), type, body_len);
    if (!head_only)
        fwrite(body, 1, body_len, whole);
    free(body);
    if (fclose(whole) != 0)
        drop_client(c);
}

/* The request is whole (up to its blank line): decides the response. */
static void handle_request(struct client *c, http_handler handler, void *ctx)
{
    char method[16], target[1024], version[16];
    c->request[c->request_len] = 0;
    if (sscanf(c->request, "%15s %1023s %15s", method, target, version) != 3 ||
        strncmp(version, "HTTP/1.", 7) != 0 || target[0] != '/') {
        respond(c, 400, 0, NULL, handler, ctx);
        return;
    }
    int head = strcmp(method, "HEAD") == 0;
    if (!head && strcmp(method, "GET") != 0) {
        respond(c, 405, 0, NULL, handler, ctx);
        return;
    }
    target[strcspn(target, "?#")] = 0;
    respond(c, 200, head, target, handler, ctx);
}

static void read_request(struct client *c, http_handler handler, void *ctx)
{
    for (;;) {
        if (c->request_len == HTTP_REQUEST_MAX) {
            respond(c, 431, 0, NULL, handler, ctx);
            return;
        }
        ssize_t got = recv(c->fd, c->request + c->request_len, HTTP_REQUEST_MAX - c->request_len, 0);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (got <= 0) {
            drop_client(c);
            return;
        }
        c->request_len += (size_t)got;
        c->request[c->request_len] = 0;
        if (strstr(c->request, "\r\n\r\n") || strstr(c->request, "\n\n")) {
            handle_request(c, handler, ctx);
            return;
        }
    }
}

static void write_response(struct client *c)
{
    while (c->response_sent < c->response_len) {
        ssize_t n = send(c->fd, c->response + c->response_sent, c->response_len - c->response_sent,
                         MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (n <= 0)
            break;
        c->response_sent += (size_t)n;
    }
    drop_client(c); /* all sent, or the peer went away */
}

static void accept_clients(struct http_server *s)
{
    for (int i = 0; i < HTTP_CLIENTS_MAX; i++) {
        struct client *c = &s->clients[i];
        if (c->fd >= 0)
            continue;
        c->fd = accept4(s->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (c->fd < 0)
            return;
        c->last_activity_ms = now_ms();
    }
}

void http_server_serve(struct http_server *s, int timeout_ms, http_handler handler, void *ctx)
{
    struct pollfd fds[HTTP_CLIENTS_MAX + 1];
    int slot[HTTP_CLIENTS_MAX + 1];
    nfds_t n = 0;
    int room = 0;
    int64_t now = now_ms();
    for (int i = 0; i < HTTP_CLIENTS_MAX; i++) {
        struct client *c = &s->clients[i];
        if (c->fd >= 0 && now - c->last_activity_ms > HTTP_IDLE_MS)
            drop_client(c);
        if (c->fd < 0) {
            room = 1;
            continue;
        }
        fds[n] = (struct pollfd){c->fd, c->response ? POLLOUT : POLLIN, 0};
        slot[n++] = i;
    }
    if (room) { /* a full house leaves new connections in the listen queue */
        fds[n] = (struct pollfd){s->fd, POLLIN, 0};
        slot[n++] = -1;
    }
    if (poll(fds, n, timeout_ms) <= 0)
        return;
    for (nfds_t i = 0; i < n; i++) {
        if (!fds[i].revents)
            continue;
        if (slot[i] < 0) {
            accept_clients(s);
            continue;
        }
        struct client *c = &s->clients[slot[i]];
        c->last_activity_ms = now_ms();
        if (!c->response)
            read_request(c, handler, ctx);
        if (c->fd >= 0 && c->response)
            write_response(c);
    }
}

void http_server_close(struct http_server *s)
{
    if (!s)
        return;
    for (int i = 0; i < HTTP_CLIENTS_MAX; i++)
        if (s->clients[i].fd >= 0)
            drop_client(&s->clients[i]);
    close(s->fd);
    free(s);
}
