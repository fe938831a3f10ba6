/* loadgen.c - a deterministic HTTP/1.1 keep-alive load generator for examples/server.c.
 *
 *   usage: loadgen [--host ADDR] [--port N] [--requests TOTAL] [--connections C]
 *                  [--threads T] [--pipeline D] [--timeout SECONDS] [--quiet]
 *
 * Request i (0 <= i < TOTAL) is fully determined by i, whichever connection sends it:
 *   i % 10 in 0..5  GET /hello                                  (60%)
 *   i % 10 in 6..8  GET /item?id=K, K = splitmix64(i) % 1024     (30%)
 *   i % 10 == 9     POST /login, login number j = i / 10         (10%)
 *       j % 10 == 9  bad login: no Authorization header when (j / 10) is even, a malformed
 *                    one otherwise                    -> expect 401 (the server leaks 34 bytes)
 *       j % 10 == 4  wrong password                   -> expect 403
 *       otherwise    good credentials (alice or bob)  -> expect 200
 * So for TOTAL requests: logins = floor(TOTAL/10), bad logins = floor(TOTAL/100).
 *
 * Connection k (0 <= k < C) sends requests k, k+C, k+2C, ...; connections are spread over T
 * threads, each running its own epoll loop. With --pipeline D a connection keeps up to D
 * requests in flight. Every response is checked (status, framing, /item body). The exit
 * status is 0 only if every request got its expected response.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_RESPONSE_HEADER 8192
#define MAX_RESPONSE_BODY (4 * 1024 * 1024)
#define ITEM_ID_RANGE 1024
#define LOGIN_CONTENT_TYPE "application/x-www-form-urlencoded"

enum kind { K_HELLO, K_ITEM, K_LOGIN_OK, K_LOGIN_WRONG_PASSWORD, K_LOGIN_BAD };

struct options {
    const char *host;
    int port;
    uint64_t requests;
    int connections;
    int threads;
    int pipeline;
    int timeout_s;
    bool quiet;
};

struct counters {
    uint64_t completed, errors;
    uint64_t hello, item, login_ok, login_wrong_password, login_bad;
};

struct lconn {
    int fd;
    int index;                  /* k: sends requests k, k + C, ... */
    uint64_t next_send;         /* next request index to send */
    uint64_t next_recv;         /* oldest request index awaiting its response */
    int inflight;
    bool done;
    char *out;
    size_t out_len, out_off, out_cap;
    char *in;
    size_t in_len, in_cap;
    uint32_t events;
};

struct worker {
    pthread_t thread;
    const struct options *opt;
    struct sockaddr_storage addr;
    socklen_t addrlen;
    char host_header[80];
    struct lconn *conns;
    int nconns;
    int active;
    int epfd;
    struct counters n;
    char first_error[256];
};

static uint64_t splitmix64(uint64_t x)
{
    x += 0x9E3779B97F4A7C15ULL;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
    return x ^ (x >> 31);
}

static enum kind request_kind(uint64_t i)
{
    unsigned r = (unsigned)(i % 10);
    if (r <= 5)
        return K_HELLO;
    if (r <= 8)
        return K_ITEM;
    uint64_t j = i / 10;
    if (j % 10 == 9)
        return K_LOGIN_BAD;
    if (j % 10 == 4)
        return K_LOGIN_WRONG_PASSWORD;
    return K_LOGIN_OK;
}

static unsigned long item_id(uint64_t i) { return (unsigned long)(splitmix64(i) % ITEM_ID_RANGE); }

static int expected_status(enum kind k)
{
    switch (k) {
    case K_LOGIN_BAD: return 401;
    case K_LOGIN_WRONG_PASSWORD: return 403;
    default: return 200;
    }
}

static void base64_encode(const char *in, char *out)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t n = strlen(in), o = 0;
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned char)in[i] << 16;
        if (i + 1 < n)
            v |= (unsigned)(unsigned char)in[i + 1] << 8;
        if (i + 2 < n)
            v |= (unsigned char)in[i + 2];
        out[o++] = tab[v >> 18 & 63];
        out[o++] = tab[v >> 12 & 63];
        out[o++] = i + 1 < n ? tab[v >> 6 & 63] : '=';
        out[o++] = i + 2 < n ? tab[v & 63] : '=';
    }
    out[o] = '\0';
}

__attribute__((format(printf, 2, 3))) static void record_error(struct worker *w,
                                                              const char *fmt, ...)
{
    if (w->first_error[0])
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w->first_error, sizeof w->first_error, fmt, ap);
    va_end(ap);
}

static bool out_append(struct lconn *c, const char *s, size_t n)
{
    if (c->out_cap - c->out_len < n) {
        size_t cap = c->out_cap ? c->out_cap : 4096;
        while (cap - c->out_len < n)
            cap *= 2;
        char *p = realloc(c->out, cap);
        if (!p)
            return false;
        c->out = p;
        c->out_cap = cap;
    }
    memcpy(c->out + c->out_len, s, n);
    c->out_len += n;
    return true;
}

/* Appends request i to the connection's output. */
static bool build_request(struct worker *w, struct lconn *c, uint64_t i)
{
    char buf[1024];
    int n;
    enum kind k = request_kind(i);
    const char *common = "User-Agent: leakshim-loadgen/1.0\r\n";
    if (k == K_HELLO) {
        n = snprintf(buf, sizeof buf, "GET /hello HTTP/1.1\r\nHost: %s\r\n%s\r\n",
                     w->host_header, common);
    } else if (k == K_ITEM) {
        n = snprintf(buf, sizeof buf,
                     "GET /item?id=%lu HTTP/1.1\r\nHost: %s\r\n%sAccept: application/json\r\n\r\n",
                     item_id(i), w->host_header, common);
    } else {
        uint64_t j = i / 10;
        const char *user = j % 2 ? "bob" : "alice";
        char auth[200] = "";
        if (k == K_LOGIN_OK || k == K_LOGIN_WRONG_PASSWORD) {
            char cred[64], b64[100];
            snprintf(cred, sizeof cred, "%s:%s", user,
                     k == K_LOGIN_WRONG_PASSWORD ? "guess"
                     : j % 2                     ? "builder"
                                                 : "wonderland");
            base64_encode(cred, b64);
            snprintf(auth, sizeof auth, "Authorization: Basic %s\r\n", b64);
        } else if ((j / 10) % 2 == 1) {
            snprintf(auth, sizeof auth, "Authorization: Basic %%%%not-base64%%%%\r\n");
        }
        char form[64];
        int flen = snprintf(form, sizeof form, "user=%s&remember=%d", user, (int)(j % 2));
        n = snprintf(buf, sizeof buf,
                     "POST /login HTTP/1.1\r\nHost: %s\r\n%sContent-Type: %s\r\n%s"
                     "Content-Length: %d\r\n\r\n%s",
                     w->host_header, common, LOGIN_CONTENT_TYPE, auth, flen, form);
    }
    if (n < 0 || (size_t)n >= sizeof buf)
        return false;
    return out_append(c, buf, (size_t)n);
}

static void conn_drop(struct worker *w, struct lconn *c)
{
    if (c->fd >= 0) {
        epoll_ctl(w->epfd, EPOLL_CTL_DEL, c->fd, NULL);
        close(c->fd);
        c->fd = -1;
    }
    c->out_len = c->out_off = 0;
    c->in_len = 0;
    c->events = 0;
}

static void conn_finish(struct worker *w, struct lconn *c)
{
    conn_drop(w, c);
    if (!c->done) {
        c->done = true;
        w->active--;
    }
}

static int conn_open(struct worker *w, struct lconn *c)
{
    int fd = socket(w->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fd, (struct sockaddr *)&w->addr, w->addrlen) < 0 ||
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0) {
        close(fd);
        return -1;
    }
    struct epoll_event e = {.events = EPOLLIN, .data.ptr = c};
    if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &e) < 0) {
        close(fd);
        return -1;
    }
    c->fd = fd;
    c->events = EPOLLIN;
    return 0;
}

static uint64_t remaining_for(const struct worker *w, const struct lconn *c)
{
    uint64_t total = w->opt->requests, stride = (uint64_t)w->opt->connections;
    return c->next_send >= total ? 0 : (total - c->next_send + stride - 1) / stride;
}

/* The connection broke: its in-flight requests failed. Reconnect and carry on with the
 * remaining ones, or give them all up if the server cannot be reached. */
static int conn_send(struct worker *w, struct lconn *c);

/* The connection broke: its in-flight requests failed. Reconnect and carry on with the
 * remaining ones, or give them all up if the server cannot be reached. */
static void conn_fail(struct worker *w, struct lconn *c, const char *why)
{
    if (c->inflight > 0)
        record_error(w, "connection %d, request %llu: %s (%d in flight)", c->index,
                     (unsigned long long)c->next_recv, why, c->inflight);
    w->n.errors += (uint64_t)c->inflight;
    c->inflight = 0;
    c->next_recv = c->next_send;
    conn_drop(w, c);
    if (remaining_for(w, c) == 0) {
        conn_finish(w, c);
        return;
    }
    if (conn_open(w, c) < 0 || conn_send(w, c) < 0) {
        record_error(w, "connection %d: cannot reconnect and send: %s", c->index,
                     strerror(errno));
        w->n.errors += (uint64_t)c->inflight + remaining_for(w, c);
        c->inflight = 0;
        c->next_send = c->next_recv = w->opt->requests;
        conn_finish(w, c);
    }
}

struct response {
    int status;
    const char *body;
    size_t body_len;
    size_t consumed;
    bool close;
};

/* 1: a whole response; 0: need more bytes; -1: malformed. */
static int parse_response(const char *buf, size_t len, struct response *r)
{
    size_t scan = len < MAX_RESPONSE_HEADER ? len : MAX_RESPONSE_HEADER;
    const char *end = memmem(buf, scan, "\r\n\r\n", 4);
    if (!end)
        return len >= MAX_RESPONSE_HEADER ? -1 : 0;
    size_t hdr_len = (size_t)(end - buf) + 4;
    if (hdr_len < 17 || memcmp(buf, "HTTP/1.", 7) != 0 || buf[8] != ' ' || buf[12] != ' ' ||
        buf[9] < '1' || buf[9] > '5' || buf[10] < '0' || buf[10] > '9' || buf[11] < '0' ||
        buf[11] > '9')
        return -1;
    r->status = (buf[9] - '0') * 100 + (buf[10] - '0') * 10 + (buf[11] - '0');
    r->close = false;
    long long length = -1;
    const char *p = memchr(buf, '\n', hdr_len) + 1;
    while (p < end) {
        const char *eol = memchr(p, '\r', (size_t)(end + 2 - p));
        size_t n = (size_t)(eol - p);
        if (n > 15 && strncasecmp(p, "Content-Length:", 15) == 0) {
            char *e;
            length = strtoll(p + 15, &e, 10);
            if (e == p + 15 || length < 0 || length > MAX_RESPONSE_BODY)
                return -1;
        } else if (n > 11 && strncasecmp(p, "Connection:", 11) == 0) {
            for (size_t i = 11; i + 5 <= n; i++)
                if (strncasecmp(p + i, "close", 5) == 0)
                    r->close = true;
        } else if (n > 18 && strncasecmp(p, "Transfer-Encoding:", 18) == 0) {
            return -1;   /* the example server never chunks */
        }
        p = eol + 2;
    }
    if (length < 0)
        return -1;
    if (len - hdr_len < (size_t)length)
        return 0;
    r->body = buf + hdr_len;
    r->body_len = (size_t)length;
    r->consumed = hdr_len + (size_t)length;
    return 1;
}

static bool check_response(struct worker *w, uint64_t i, const struct response *r)
{
    enum kind k = request_kind(i);
    if (r->status != expected_status(k)) {
        record_error(w, "request %llu: status %d, expected %d", (unsigned long long)i, r->status,
                     expected_status(k));
        return false;
    }
    if (k == K_ITEM) {
        char prefix[40];
        int n = snprintf(prefix, sizeof prefix, "{\"id\":%lu,", item_id(i));
        if (r->body_len < (size_t)n || memcmp(r->body, prefix, (size_t)n) != 0) {
            record_error(w, "request %llu: wrong /item body for id %lu", (unsigned long long)i,
                     item_id(i));
            return false;
        }
    }
    switch (k) {
    case K_HELLO: w->n.hello++; break;
    case K_ITEM: w->n.item++; break;
    case K_LOGIN_OK: w->n.login_ok++; break;
    case K_LOGIN_WRONG_PASSWORD: w->n.login_wrong_password++; break;
    case K_LOGIN_BAD: w->n.login_bad++; break;
    }
    w->n.completed++;
    return true;
}

/* Tops the pipeline up, then sends what the socket takes. Returns -1 on a socket error. */
static int conn_send(struct worker *w, struct lconn *c)
{
    uint64_t stride = (uint64_t)w->opt->connections;
    while (c->inflight < w->opt->pipeline && c->next_send < w->opt->requests) {
        if (!build_request(w, c, c->next_send))
            return -1;
        c->next_send += stride;
        c->inflight++;
    }
    while (c->out_off < c->out_len) {
        ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
        if (n > 0)
            c->out_off += (size_t)n;
        else if (n < 0 && errno == EINTR)
            continue;
        else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        else
            return -1;
    }
    if (c->out_off == c->out_len)
        c->out_off = c->out_len = 0;
    uint32_t ev = EPOLLIN | (c->out_len > 0 ? EPOLLOUT : 0);
    if (ev != c->events) {
        struct epoll_event e = {.events = ev, .data.ptr = c};
        if (epoll_ctl(w->epfd, EPOLL_CTL_MOD, c->fd, &e) < 0)
            return -1;
        c->events = ev;
    }
    return 0;
}

/* Reads and checks responses. Returns the number of responses consumed, or -1 when the
 * connection must be dropped (with the reason recorded). */
static int conn_receive(struct worker *w, struct lconn *c)
{
    int got = 0;
    for (;;) {
        if (c->in_cap - c->in_len < 4096) {
            size_t cap = c->in_cap ? c->in_cap * 2 : 16384;
            if (cap > MAX_RESPONSE_HEADER + MAX_RESPONSE_BODY + 16384) {
                conn_fail(w, c, "response too large");
                return -1;
            }
            char *p = realloc(c->in, cap);
            if (!p) {
                conn_fail(w, c, "out of memory");
                return -1;
            }
            c->in = p;
            c->in_cap = cap;
        }
        ssize_t n = recv(c->fd, c->in + c->in_len, c->in_cap - c->in_len, 0);
        if (n > 0) {
            c->in_len += (size_t)n;
        } else if (n == 0) {
            conn_fail(w, c, "server closed the connection");
            return -1;
        } else if (errno == EINTR) {
            continue;
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            break;
        } else {
            conn_fail(w, c, "receive error");
            return -1;
        }
    }
    size_t off = 0;
    bool must_close = false;
    while (off < c->in_len) {
        struct response r;
        int pr = parse_response(c->in + off, c->in_len - off, &r);
        if (pr == 0)
            break;
        if (pr < 0 || c->inflight == 0) {
            conn_fail(w, c, "malformed or unsolicited response");
            return -1;
        }
        if (!check_response(w, c->next_recv, &r))
            w->n.errors++;
        c->next_recv += (uint64_t)w->opt->connections;
        c->inflight--;
        got++;
        off += r.consumed;
        if (r.close) {
            must_close = true;
            break;
        }
    }
    memmove(c->in, c->in + off, c->in_len - off);
    c->in_len -= off;
    if (must_close) {
        /* the server will not answer anything after this: reconnect */
        conn_fail(w, c, "server sent Connection: close");
        return -1;
    }
    return got;
}

static double now_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct epoll_event events[64];
    for (int k = 0; k < w->nconns; k++) {
        struct lconn *c = &w->conns[k];
        if (remaining_for(w, c) == 0) {
            conn_finish(w, c);
            continue;
        }
        if (conn_open(w, c) < 0 || conn_send(w, c) < 0)
            conn_fail(w, c, "cannot connect or send");
    }
    double last_progress = now_seconds();
    while (w->active > 0) {
        int n = epoll_wait(w->epfd, events, 64, 500);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            record_error(w, "epoll_wait: %s", strerror(errno));
            break;
        }
        for (int e = 0; e < n; e++) {
            struct lconn *c = events[e].data.ptr;
            if (c->done || c->fd < 0)
                continue;
            if (events[e].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) {
                int got = conn_receive(w, c);
                if (got > 0)
                    last_progress = now_seconds();
                if (got < 0 || c->done)
                    continue;
            }
            if (c->inflight == 0 && c->next_send >= w->opt->requests) {
                conn_finish(w, c);
                continue;
            }
            if (conn_send(w, c) < 0)
                conn_fail(w, c, "send error");
        }
        if (n == 0 && now_seconds() - last_progress > w->opt->timeout_s) {
            record_error(w, "no response for %d seconds", w->opt->timeout_s);
            for (int k = 0; k < w->nconns; k++) {
                struct lconn *c = &w->conns[k];
                if (c->done)
                    continue;
                w->n.errors += (uint64_t)c->inflight + remaining_for(w, c);
                c->inflight = 0;
                c->next_send = w->opt->requests;
                conn_finish(w, c);
            }
        }
    }
    /* connections that ended early (epoll failure) still account for their requests */
    for (int k = 0; k < w->nconns; k++) {
        struct lconn *c = &w->conns[k];
        if (!c->done) {
            w->n.errors += (uint64_t)c->inflight + remaining_for(w, c);
            conn_finish(w, c);
        }
    }
    return NULL;
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: loadgen [--host ADDR] [--port N] [--requests TOTAL] [--connections C]\n"
            "               [--threads T] [--pipeline D] [--timeout SECONDS] [--quiet]\n"
            "  --host ADDR       numeric server address (default 127.0.0.1)\n"
            "  --port N          server port (default 8089)\n"
            "  --requests TOTAL  requests to send in all (default 10000)\n"
            "  --connections C   keep-alive connections (default 8)\n"
            "  --threads T       threads, each with its own epoll loop (default 1)\n"
            "  --pipeline D      requests in flight per connection (default 1)\n"
            "  --timeout S       give up after S seconds without a response (default 10)\n"
            "  --quiet           print the summary only\n"
            "Mix: 60%% GET /hello, 30%% GET /item?id=0..1023, 10%% POST /login; every 10th\n"
            "login is bad (401), so TOTAL requests make floor(TOTAL/100) bad logins.\n");
}

static bool parse_number(const char *s, long long min, long long max, long long *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < min || v > max)
        return false;
    *out = v;
    return true;
}

int main(int argc, char **argv)
{
    struct options opt = {
        .host = "127.0.0.1", .port = 8089, .requests = 10000, .connections = 8,
        .threads = 1, .pipeline = 1, .timeout_s = 10, .quiet = false,
    };
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *val = NULL;
        char name[32];
        const char *eq = strchr(a, '=');
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        }
        if (strcmp(a, "--quiet") == 0) {
            opt.quiet = true;
            continue;
        }
        if (strncmp(a, "--", 2) != 0) {
            usage(stderr);
            return 2;
        }
        if (eq) {
            snprintf(name, sizeof name, "%.*s", (int)(eq - a), a);
            val = eq + 1;
        } else {
            snprintf(name, sizeof name, "%s", a);
            if (i + 1 >= argc) {
                fprintf(stderr, "loadgen: %s needs a value\n", a);
                return 2;
            }
            val = argv[++i];
        }
        long long v = 0;
        bool ok = true;
        if (strcmp(name, "--host") == 0)
            opt.host = val;
        else if (strcmp(name, "--port") == 0 && (ok = parse_number(val, 1, 65535, &v)))
            opt.port = (int)v;
        else if (strcmp(name, "--requests") == 0 && (ok = parse_number(val, 0, 1LL << 40, &v)))
            opt.requests = (uint64_t)v;
        else if (strcmp(name, "--connections") == 0 && (ok = parse_number(val, 1, 10000, &v)))
            opt.connections = (int)v;
        else if (strcmp(name, "--threads") == 0 && (ok = parse_number(val, 1, 256, &v)))
            opt.threads = (int)v;
        else if (strcmp(name, "--pipeline") == 0 && (ok = parse_number(val, 1, 1024, &v)))
            opt.pipeline = (int)v;
        else if (strcmp(name, "--timeout") == 0 && (ok = parse_number(val, 1, 3600, &v)))
            opt.timeout_s = (int)v;
        else if (ok) {
            fprintf(stderr, "loadgen: unknown option %s\n", name);
            usage(stderr);
            return 2;
        }
        if (!ok) {
            fprintf(stderr, "loadgen: bad value for %s: %s\n", name, val);
            return 2;
        }
    }
    if (opt.threads > opt.connections)
        opt.threads = opt.connections;

    struct sockaddr_storage addr;
    socklen_t addrlen;
    char host_header[80];
    memset(&addr, 0, sizeof addr);
    struct sockaddr_in *sin = (struct sockaddr_in *)&addr;
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&addr;
    if (inet_pton(AF_INET, opt.host, &sin->sin_addr) == 1) {
        sin->sin_family = AF_INET;
        sin->sin_port = htons((uint16_t)opt.port);
        addrlen = sizeof *sin;
        snprintf(host_header, sizeof host_header, "%s:%d", opt.host, opt.port);
    } else if (inet_pton(AF_INET6, opt.host, &sin6->sin6_addr) == 1) {
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons((uint16_t)opt.port);
        addrlen = sizeof *sin6;
        snprintf(host_header, sizeof host_header, "[%s]:%d", opt.host, opt.port);
    } else {
        fprintf(stderr, "loadgen: --host must be a numeric IPv4 or IPv6 address: %s\n",
                opt.host);
        return 2;
    }

    struct lconn *conns = calloc((size_t)opt.connections, sizeof *conns);
    struct worker *workers = calloc((size_t)opt.threads, sizeof *workers);
    if (!conns || !workers) {
        fprintf(stderr, "loadgen: out of memory\n");
        return 1;
    }
    /* worker t owns the contiguous block of connections [t*C/T, (t+1)*C/T) */
    for (int k = 0; k < opt.connections; k++) {
        conns[k].fd = -1;
        conns[k].index = k;
        conns[k].next_send = conns[k].next_recv = (uint64_t)k;
    }
    for (int t = 0; t < opt.threads; t++) {
        struct worker *w = &workers[t];
        int first = t * opt.connections / opt.threads;
        int last = (t + 1) * opt.connections / opt.threads;
        w->opt = &opt;
        w->addr = addr;
        w->addrlen = addrlen;
        snprintf(w->host_header, sizeof w->host_header, "%s", host_header);
        w->conns = conns + first;
        w->nconns = last - first;
        w->active = w->nconns;
        w->epfd = epoll_create1(EPOLL_CLOEXEC);
        if (w->epfd < 0) {
            perror("loadgen: epoll_create1");
            return 1;
        }
    }

    if (!opt.quiet)
        printf("loadgen: %s, %llu requests, %d connections, %d threads, pipeline %d\n",
               host_header, (unsigned long long)opt.requests, opt.connections, opt.threads,
               opt.pipeline);
    fflush(stdout);

    double t0 = now_seconds();
    for (int t = 0; t < opt.threads; t++) {
        int rc = pthread_create(&workers[t].thread, NULL, worker_main, &workers[t]);
        if (rc != 0) {
            fprintf(stderr, "loadgen: pthread_create: %s\n", strerror(rc));
            return 1;
        }
    }
    struct counters sum = {0};
    const char *first_error = NULL;
    for (int t = 0; t < opt.threads; t++) {
        struct worker *w = &workers[t];
        pthread_join(w->thread, NULL);
        sum.completed += w->n.completed;
        sum.errors += w->n.errors;
        sum.hello += w->n.hello;
        sum.item += w->n.item;
        sum.login_ok += w->n.login_ok;
        sum.login_wrong_password += w->n.login_wrong_password;
        sum.login_bad += w->n.login_bad;
        if (!first_error && w->first_error[0])
            first_error = w->first_error;
    }
    double elapsed = now_seconds() - t0;

    /* every request is either completed as expected or counted as an error */
    if (sum.completed + sum.errors != opt.requests) {
        fprintf(stderr, "loadgen: internal accounting error: %llu + %llu != %llu\n",
                (unsigned long long)sum.completed, (unsigned long long)sum.errors,
                (unsigned long long)opt.requests);
        sum.errors = opt.requests - (sum.completed < opt.requests ? sum.completed : 0);
    }
    printf("requests:             %llu\n", (unsigned long long)opt.requests);
    printf("completed:            %llu\n", (unsigned long long)sum.completed);
    printf("errors:               %llu\n", (unsigned long long)sum.errors);
    printf("hello:                %llu\n", (unsigned long long)sum.hello);
    printf("item:                 %llu\n", (unsigned long long)sum.item);
    printf("login_ok:             %llu\n", (unsigned long long)sum.login_ok);
    printf("login_wrong_password: %llu\n", (unsigned long long)sum.login_wrong_password);
    printf("bad_logins:           %llu\n", (unsigned long long)sum.login_bad);
    printf("elapsed_seconds:      %.3f\n", elapsed);
    printf("requests_per_second:  %.0f\n", elapsed > 0 ? (double)sum.completed / elapsed : 0.0);
    fflush(stdout);
    if (first_error)
        fprintf(stderr, "loadgen: first error: %s\n", first_error);

    for (int t = 0; t < opt.threads; t++)
        close(workers[t].epfd);
    for (int k = 0; k < opt.connections; k++) {
        free(conns[k].in);
        free(conns[k].out);
    }
    free(conns);
    free(workers);
    return sum.errors == 0 && sum.completed == opt.requests ? 0 : 1;
}
