/* server.c - a small epoll-based HTTP/1.1 server: the demo target for leakshim.
 *
 * Single process, single thread, non-blocking sockets, level-triggered epoll. Supports
 * keep-alive, pipelining, partial reads and writes, Content-Length request bodies, and
 * rejects malformed requests with 400 (and closes the connection, since framing is lost).
 *
 *   usage: server [--port N] [--host ADDR]     (defaults: 127.0.0.1, port 8089; 0 = any)
 *
 * On start it prints exactly one line, "listening on ADDR:PORT", to stdout.
 *
 * Endpoints:
 *   GET  /hello        per-request malloc'd response buffer, freed: no leak
 *   GET  /item?id=N    bounded LRU cache of rendered items (ITEM_CACHE_CAPACITY entries,
 *                      a few hundred bytes each); memory plateaus, eviction frees: no leak
 *   POST /login        Basic auth; copies headers per request. THE ONE INTENTIONAL LEAK is
 *                      on its error path, see handle_login() and LOGIN_LEAK below.
 *   GET  /stats        counters as text
 *
 * SIGTERM / SIGINT arrive through a signalfd in the epoll set (no work in a handler): the
 * loop ends, every connection, buffer and cache entry is freed and main returns 0. At exit
 * the only outstanding allocations are the leaked login copies (plus whatever libc keeps;
 * stdout uses a static buffer so that it keeps nothing on our behalf).
 *
 * Functions a leak tracer will show in stacks are marked NOINLINE so their names survive -O2.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#if defined(__clang__)
#define NOINLINE __attribute__((noinline))
#else
#define NOINLINE __attribute__((noinline, noclone))
#endif

#define DEFAULT_PORT 8089
#define MAX_HEADER_BYTES 8192          /* request line + headers + final CRLF CRLF */
#define MAX_HEADERS 64
#define MAX_BODY_BYTES (1024 * 1024)
#define INBUF_INITIAL 2048             /* grows with realloc, up to INBUF_MAX */
#define INBUF_MAX (MAX_HEADER_BYTES + MAX_BODY_BYTES + 4096)
#define OUTBUF_INITIAL 4096
#define BUF_SHRINK_ABOVE (64 * 1024)   /* an idle connection gives back a large buffer */
#define READ_MIN_SPACE 1024
#define OUT_HIGH_WATER (256 * 1024)    /* stop parsing pipelined requests above this */
#define MAX_EVENTS 256

#define ITEM_CACHE_CAPACITY 256
#define ITEM_CACHE_BUCKETS 512         /* power of two */
#define ITEM_ID_MAX 999999999UL

/* ---------------------------------------------------------------------------------------- */
/* Data structures                                                                          */

struct slice {
    const char *p;
    size_t n;
};

struct header {
    struct slice name;
    struct slice value;
};

/* A parsed request. Every slice points into the connection's input buffer and is valid only
 * while the request is being handled. */
struct request {
    struct slice method;
    struct slice target;
    struct slice path;
    struct slice query;
    int minor_version;      /* HTTP/1.<minor> */
    const char *body;
    size_t body_len;
    bool keep_alive;
    bool is_head;
    size_t nheaders;
    struct header headers[MAX_HEADERS];   /* last: only [0, nheaders) is ever initialised */
};

struct conn {
    int fd;
    uint32_t events;        /* currently registered with epoll */
    char *in;               /* received bytes; [in_off, in_len) not yet parsed */
    size_t in_len, in_cap, in_off;
    char *out;              /* bytes to send; [out_off, out_len) not yet sent */
    size_t out_len, out_cap, out_off;
    bool close_after_flush; /* no more requests: close once out is drained */
    bool peer_eof;          /* the client shut down its side */
    bool failed;            /* out of memory on this connection: drop it */
    unsigned long requests;
    struct conn *prev, *next;
};

struct item_entry {
    unsigned long id;
    char *text;             /* rendered item, malloc'd */
    size_t len;
    struct item_entry *lru_prev, *lru_next; /* most recently used at lru.lru_next */
    struct item_entry *hash_next;
};

struct item_cache {
    struct item_entry **buckets;
    struct item_entry lru;  /* sentinel of a circular list */
    size_t count, capacity;
    unsigned long hits, misses, evictions;
};

struct server_stats {
    unsigned long connections_accepted;
    unsigned long requests;
    unsigned long hello, item, login, stats;
    unsigned long login_ok, login_unauthorized, login_forbidden;
    unsigned long status_2xx, status_4xx, status_5xx;
    unsigned long bad_requests;
    unsigned long long bytes_in, bytes_out;
};

struct server {
    int epfd, listen_fd, sig_fd;
    struct conn *conns;
    size_t nconns;
    bool stopping;
    int stop_signal;
    struct timespec started;
    struct item_cache cache;
    struct server_stats stats;
};

/* epoll data.ptr for the two non-connection descriptors */
static char listen_marker, signal_marker;

/* ---------------------------------------------------------------------------------------- */
/* Small helpers                                                                            */

static bool slice_eq(struct slice s, const char *lit)
{
    size_t n = strlen(lit);
    return s.n == n && memcmp(s.p, lit, n) == 0;
}

static bool slice_caseeq(struct slice s, const char *lit)
{
    size_t n = strlen(lit);
    return s.n == n && strncasecmp(s.p, lit, n) == 0;
}

static bool is_tchar(unsigned char ch)
{
    if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9'))
        return true;
    return ch != 0 && strchr("!#$%&'*+-.^_`|~", ch) != NULL;
}

/* Strict decimal: digits only, no sign, no spaces, no overflow past max. */
static bool parse_decimal(struct slice s, unsigned long max, unsigned long *out)
{
    unsigned long v = 0;
    if (s.n == 0 || s.n > 19)
        return false;
    for (size_t i = 0; i < s.n; i++) {
        unsigned char ch = (unsigned char)s.p[i];
        if (ch < '0' || ch > '9')
            return false;
        v = v * 10 + (unsigned long)(ch - '0');
        if (v > max)
            return false;
    }
    *out = v;
    return true;
}

static const char *reason_phrase(int status)
{
    switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 413: return "Content Too Large";
    case 415: return "Unsupported Media Type";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 505: return "HTTP Version Not Supported";
    default: return "Unknown";
    }
}

static double elapsed_since(const struct timespec *t0)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - t0->tv_sec) + (double)(now.tv_nsec - t0->tv_nsec) / 1e9;
}

/* ---------------------------------------------------------------------------------------- */
/* HTTP request parsing                                                                     */

enum { PARSE_ERROR = -1, PARSE_INCOMPLETE = 0, PARSE_OK = 1 };

/* Finds the end of the header block (just past CRLF CRLF). Rejects bare LF, bare CR, NUL,
 * and a request line with control or non-ASCII bytes as soon as they are seen, so that a
 * client sending binary (e.g. a TLS handshake) or never sending CRLF CRLF is not waited for. */
static int find_header_end(const char *buf, size_t len, size_t *hdr_len, int *status)
{
    size_t limit = len < MAX_HEADER_BYTES ? len : MAX_HEADER_BYTES;
    bool request_line = true;
    for (size_t i = 0; i < limit; i++) {
        char ch = buf[i];
        if (request_line && ch != '\r' && ((unsigned char)ch < 0x20 || (unsigned char)ch >= 0x7f)) {
            *status = 400;
            return PARSE_ERROR;
        }
        if (ch == '\n') {
            if (i == 0 || buf[i - 1] != '\r') {
                *status = 400;
                return PARSE_ERROR;
            }
            if (i >= 3 && buf[i - 2] == '\n' && buf[i - 3] == '\r') {
                *hdr_len = i + 1;
                return PARSE_OK;
            }
        } else if (ch == '\r') {
            request_line = false;
            if (i + 1 < len && buf[i + 1] != '\n') {
                *status = 400;
                return PARSE_ERROR;
            }
        } else if (ch == '\0') {
            *status = 400;
            return PARSE_ERROR;
        }
    }
    if (len >= MAX_HEADER_BYTES) {
        *status = 431;
        return PARSE_ERROR;
    }
    return PARSE_INCOMPLETE;
}

/* method SP request-target SP HTTP-version (the line has no CRLF) */
static int parse_request_line(const char *line, size_t n, struct request *req, int *status)
{
    *status = 400;
    const char *end = line + n;
    const char *sp1 = memchr(line, ' ', n);
    if (!sp1 || sp1 == line)
        return PARSE_ERROR;
    for (const char *p = line; p < sp1; p++)
        if (!is_tchar((unsigned char)*p))
            return PARSE_ERROR;
    req->method = (struct slice){line, (size_t)(sp1 - line)};

    const char *target = sp1 + 1;
    const char *sp2 = memchr(target, ' ', (size_t)(end - target));
    if (!sp2 || sp2 == target)
        return PARSE_ERROR;
    for (const char *p = target; p < sp2; p++)
        if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
            return PARSE_ERROR;
    if (*target != '/')     /* origin-form only */
        return PARSE_ERROR;
    req->target = (struct slice){target, (size_t)(sp2 - target)};

    const char *v = sp2 + 1;
    if (end - v != 8 || memcmp(v, "HTTP/", 5) != 0 || v[6] != '.' || v[5] < '0' || v[5] > '9' ||
        v[7] < '0' || v[7] > '9')
        return PARSE_ERROR;
    if (v[5] != '1') {
        *status = 505;
        return PARSE_ERROR;
    }
    req->minor_version = v[7] == '0' ? 0 : 1;

    const char *q = memchr(req->target.p, '?', req->target.n);
    if (q) {
        req->path = (struct slice){req->target.p, (size_t)(q - req->target.p)};
        req->query = (struct slice){q + 1, req->target.n - req->path.n - 1};
    } else {
        req->path = req->target;
        req->query = (struct slice){q, 0};
    }
    return PARSE_OK;
}

/* field-name ":" OWS field-value OWS, one per line, no obs-fold */
static int parse_header_lines(const char *p, const char *end, struct request *req, int *status)
{
    *status = 400;
    while (p < end) {
        const char *eol = memchr(p, '\r', (size_t)(end - p));
        if (!eol)
            return PARSE_ERROR;
        if (*p == ' ' || *p == '\t')
            return PARSE_ERROR;
        const char *colon = memchr(p, ':', (size_t)(eol - p));
        if (!colon || colon == p)
            return PARSE_ERROR;
        for (const char *c = p; c < colon; c++)
            if (!is_tchar((unsigned char)*c))
                return PARSE_ERROR;
        const char *vs = colon + 1, *ve = eol;
        while (vs < ve && (*vs == ' ' || *vs == '\t'))
            vs++;
        while (ve > vs && (ve[-1] == ' ' || ve[-1] == '\t'))
            ve--;
        for (const char *c = vs; c < ve; c++) {
            unsigned char ch = (unsigned char)*c;
            if (ch != '\t' && (ch < 0x20 || ch == 0x7f))
                return PARSE_ERROR;
        }
        if (req->nheaders == MAX_HEADERS) {
            *status = 431;
            return PARSE_ERROR;
        }
        req->headers[req->nheaders].name = (struct slice){p, (size_t)(colon - p)};
        req->headers[req->nheaders].value = (struct slice){vs, (size_t)(ve - vs)};
        req->nheaders++;
        p = eol + 2;
    }
    return PARSE_OK;
}

/* Connection: a comma-separated list of tokens */
static void apply_connection_header(struct slice v, struct request *req)
{
    const char *p = v.p, *end = v.p + v.n;
    while (p < end) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        const char *te = comma ? comma : end;
        const char *ts = p;
        while (ts < te && (*ts == ' ' || *ts == '\t'))
            ts++;
        while (te > ts && (te[-1] == ' ' || te[-1] == '\t'))
            te--;
        struct slice tok = {ts, (size_t)(te - ts)};
        if (slice_caseeq(tok, "close"))
            req->keep_alive = false;
        else if (slice_caseeq(tok, "keep-alive") && req->minor_version == 0)
            req->keep_alive = true;
        p = comma ? comma + 1 : end;
    }
}

/* Parses one request from buf. PARSE_OK: *req filled and *consumed bytes make it up.
 * PARSE_INCOMPLETE: more bytes are needed. PARSE_ERROR: *status is the HTTP status to send. */
static int parse_request(const char *buf, size_t len, struct request *req, size_t *consumed,
                         int *status)
{
    size_t hdr_len;
    int r = find_header_end(buf, len, &hdr_len, status);
    if (r != PARSE_OK)
        return r;

    memset(req, 0, offsetof(struct request, headers));

    const char *line_end = memchr(buf, '\r', hdr_len);   /* found: hdr_len >= 4 */
    if (parse_request_line(buf, (size_t)(line_end - buf), req, status) != PARSE_OK)
        return PARSE_ERROR;
    if (parse_header_lines(line_end + 2, buf + hdr_len - 2, req, status) != PARSE_OK)
        return PARSE_ERROR;

    req->keep_alive = req->minor_version >= 1;
    req->is_head = slice_eq(req->method, "HEAD");
    bool have_length = false;
    unsigned long length = 0;
    for (size_t i = 0; i < req->nheaders; i++) {
        const struct header *h = &req->headers[i];
        if (slice_caseeq(h->name, "Content-Length")) {
            unsigned long v;
            if (!parse_decimal(h->value, 999999999999UL, &v) || (have_length && v != length)) {
                *status = 400;
                return PARSE_ERROR;
            }
            have_length = true;
            length = v;
        } else if (slice_caseeq(h->name, "Transfer-Encoding")) {
            *status = 501;   /* chunked bodies are not supported by this small server */
            return PARSE_ERROR;
        } else if (slice_caseeq(h->name, "Connection")) {
            apply_connection_header(h->value, req);
        }
    }
    if (length > MAX_BODY_BYTES) {
        *status = 413;
        return PARSE_ERROR;
    }
    if (len - hdr_len < length)
        return PARSE_INCOMPLETE;
    req->body = buf + hdr_len;
    req->body_len = length;
    *consumed = hdr_len + length;
    return PARSE_OK;
}

static const struct header *find_header(const struct request *req, const char *name)
{
    for (size_t i = 0; i < req->nheaders; i++)
        if (slice_caseeq(req->headers[i].name, name))
            return &req->headers[i];
    return NULL;
}

/* Finds key=value in an application/x-www-form-urlencoded style query (no decoding). */
static bool find_query_param(struct slice query, const char *key, struct slice *value)
{
    size_t klen = strlen(key);
    const char *p = query.p, *end = query.p + query.n;
    while (p && p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *pe = amp ? amp : end;
        if ((size_t)(pe - p) > klen && memcmp(p, key, klen) == 0 && p[klen] == '=') {
            *value = (struct slice){p + klen + 1, (size_t)(pe - p - (ptrdiff_t)klen - 1)};
            return true;
        }
        p = amp ? amp + 1 : end;
    }
    return false;
}

/* ---------------------------------------------------------------------------------------- */
/* Connection output                                                                        */

static size_t conn_pending(const struct conn *c) { return c->out_len - c->out_off; }

static bool conn_out_append(struct conn *c, const char *data, size_t n)
{
    if (c->out_cap - c->out_len < n) {
        if (c->out_off > 0) {   /* slide unsent bytes to the front first */
            memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
            c->out_len -= c->out_off;
            c->out_off = 0;
        }
        if (c->out_cap - c->out_len < n) {
            size_t cap = c->out_cap ? c->out_cap : OUTBUF_INITIAL;
            while (cap - c->out_len < n)
                cap *= 2;
            char *p = realloc(c->out, cap);
            if (!p) {
                c->failed = true;
                return false;
            }
            c->out = p;
            c->out_cap = cap;
        }
    }
    memcpy(c->out + c->out_len, data, n);
    c->out_len += n;
    return true;
}

static void count_status(struct server *srv, int status)
{
    if (status < 300)
        srv->stats.status_2xx++;
    else if (status < 500)
        srv->stats.status_4xx++;
    else
        srv->stats.status_5xx++;
}

/* Queues a complete response. A HEAD request gets the headers only. */
static void send_response(struct server *srv, struct conn *c, const struct request *req,
                          int status, const char *content_type, const char *extra_headers,
                          const char *body, size_t body_len)
{
    bool keep_alive = req->keep_alive && status < 500;
    char head[512];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 %d %s\r\n"
                     "Server: leakshim-example/1.0\r\n"
                     "Content-Type: %s\r\n"
                     "Content-Length: %zu\r\n"
                     "%s"
                     "Connection: %s\r\n"
                     "\r\n",
                     status, reason_phrase(status), content_type, body_len,
                     extra_headers ? extra_headers : "", keep_alive ? "keep-alive" : "close");
    if (n < 0 || (size_t)n >= sizeof head) {
        c->failed = true;
        return;
    }
    count_status(srv, status);
    if (!keep_alive)
        c->close_after_flush = true;
    if (conn_out_append(c, head, (size_t)n) && !req->is_head && body_len > 0)
        conn_out_append(c, body, body_len);
}

static void send_text(struct server *srv, struct conn *c, const struct request *req, int status,
                      const char *extra_headers, const char *text)
{
    send_response(srv, c, req, status, "text/plain; charset=utf-8", extra_headers, text,
                  strlen(text));
}

/* For requests that could not be parsed: always closes the connection afterwards. */
static void send_error(struct server *srv, struct conn *c, int status)
{
    struct request none;
    memset(&none, 0, offsetof(struct request, headers));
    char body[96];
    snprintf(body, sizeof body, "%d %s\n", status, reason_phrase(status));
    srv->stats.bad_requests++;
    send_text(srv, c, &none, status, NULL, body);
    c->close_after_flush = true;
}

/* ---------------------------------------------------------------------------------------- */
/* GET /hello: a per-request response buffer, allocated and freed (no leak)                 */

NOINLINE static char *render_hello(const struct conn *c, size_t *len)
{
    size_t cap = 128;
    char *buf = malloc(cap);
    if (!buf)
        return NULL;
    int n = snprintf(buf, cap, "Hello, world! (request %lu on this connection)\n", c->requests);
    if (n < 0 || (size_t)n >= cap) {
        free(buf);
        return NULL;
    }
    *len = (size_t)n;
    return buf;
}

NOINLINE static void handle_hello(struct server *srv, struct conn *c, const struct request *req)
{
    srv->stats.hello++;
    size_t len;
    char *body = render_hello(c, &len);
    if (!body) {
        send_text(srv, c, req, 500, NULL, "out of memory\n");
        return;
    }
    send_response(srv, c, req, 200, "text/plain; charset=utf-8", NULL, body, len);
    free(body);
}

/* ---------------------------------------------------------------------------------------- */
/* GET /item?id=N: a bounded LRU cache of rendered items (memory plateaus, no leak)         */

static size_t item_bucket(unsigned long id)
{
    return (size_t)((id * 0x9E3779B97F4A7C15ULL) >> 32) & (ITEM_CACHE_BUCKETS - 1);
}

static bool item_cache_init(struct item_cache *cache, size_t capacity)
{
    memset(cache, 0, sizeof *cache);
    cache->buckets = calloc(ITEM_CACHE_BUCKETS, sizeof *cache->buckets);
    if (!cache->buckets)
        return false;
    cache->lru.lru_next = cache->lru.lru_prev = &cache->lru;
    cache->capacity = capacity;
    return true;
}

static void lru_unlink(struct item_entry *e)
{
    e->lru_prev->lru_next = e->lru_next;
    e->lru_next->lru_prev = e->lru_prev;
}

static void lru_push_front(struct item_cache *cache, struct item_entry *e)
{
    e->lru_next = cache->lru.lru_next;
    e->lru_prev = &cache->lru;
    cache->lru.lru_next->lru_prev = e;
    cache->lru.lru_next = e;
}

static void item_entry_free(struct item_entry *e)
{
    free(e->text);
    free(e);
}

static struct item_entry *item_cache_lookup(struct item_cache *cache, unsigned long id)
{
    for (struct item_entry *e = cache->buckets[item_bucket(id)]; e; e = e->hash_next) {
        if (e->id == id) {
            lru_unlink(e);
            lru_push_front(cache, e);
            cache->hits++;
            return e;
        }
    }
    cache->misses++;
    return NULL;
}

NOINLINE static void item_cache_evict_oldest(struct item_cache *cache)
{
    struct item_entry *victim = cache->lru.lru_prev;
    if (victim == &cache->lru)
        return;
    lru_unlink(victim);
    struct item_entry **pp = &cache->buckets[item_bucket(victim->id)];
    while (*pp != victim)
        pp = &(*pp)->hash_next;
    *pp = victim->hash_next;
    cache->count--;
    cache->evictions++;
    item_entry_free(victim);
}

/* Takes ownership of text. Returns NULL (and frees text) when out of memory. */
NOINLINE static struct item_entry *item_cache_insert(struct item_cache *cache, unsigned long id,
                                                      char *text, size_t len)
{
    struct item_entry *e = malloc(sizeof *e);
    if (!e) {
        free(text);
        return NULL;
    }
    while (cache->count >= cache->capacity)
        item_cache_evict_oldest(cache);
    e->id = id;
    e->text = text;
    e->len = len;
    size_t b = item_bucket(id);
    e->hash_next = cache->buckets[b];
    cache->buckets[b] = e;
    lru_push_front(cache, e);
    cache->count++;
    return e;
}

static void item_cache_destroy(struct item_cache *cache)
{
    struct item_entry *e = cache->lru.lru_next;
    while (e != &cache->lru) {
        struct item_entry *next = e->lru_next;
        item_entry_free(e);
        e = next;
    }
    free(cache->buckets);
    memset(cache, 0, sizeof *cache);
}

/* Renders the JSON document of one item into a new malloc'd string (~330 bytes). */
NOINLINE static char *render_item(unsigned long id, size_t *len)
{
    static const char *const colors[] = {"red", "green", "blue", "amber", "violet", "slate"};
    const char *color = colors[id % (sizeof colors / sizeof colors[0])];
    unsigned long price = 199 + (id * 7919) % 100000;
    unsigned long stock = (id * 104729) % 1000;
    const char *fmt = "{\"id\":%lu,\"sku\":\"SKU-%08lu\",\"name\":\"Widget %lu\","
                      "\"color\":\"%s\",\"price_cents\":%lu,\"stock\":%lu,"
                      "\"description\":\"The %s widget number %lu: machined from a single "
                      "block, tested twice, shipped in recycled packaging. Fits all standard "
                      "mounts.\",\"tags\":[\"demo\",\"leakshim\",\"lru-cache\"]}\n";
    int n = snprintf(NULL, 0, fmt, id, id, id, color, price, stock, color, id);
    if (n < 0)
        return NULL;
    char *text = malloc((size_t)n + 1);
    if (!text)
        return NULL;
    snprintf(text, (size_t)n + 1, fmt, id, id, id, color, price, stock, color, id);
    *len = (size_t)n;
    return text;
}

NOINLINE static void handle_item(struct server *srv, struct conn *c, const struct request *req)
{
    srv->stats.item++;
    struct slice v;
    unsigned long id;
    if (!find_query_param(req->query, "id", &v) || !parse_decimal(v, ITEM_ID_MAX, &id)) {
        send_text(srv, c, req, 400, NULL, "expected /item?id=N with 0 <= N <= 999999999\n");
        return;
    }
    struct item_entry *e = item_cache_lookup(&srv->cache, id);
    if (!e) {
        size_t len;
        char *text = render_item(id, &len);
        if (text)
            e = item_cache_insert(&srv->cache, id, text, len);
        if (!e) {
            send_text(srv, c, req, 500, NULL, "out of memory\n");
            return;
        }
    }
    send_response(srv, c, req, 200, "application/json", NULL, e->text, e->len);
}

/* ---------------------------------------------------------------------------------------- */
/* POST /login: HTTP Basic credentials. Contains the one intentional leak.                  */

/* LOGIN_LEAK: handle_login() first copies the Content-Type header with copy_header_value().
 * When the Authorization header is then missing, or is not a well-formed
 * "Basic base64(user:password)", handle_login() answers 401 and returns WITHOUT freeing that
 * copy. Each such request leaks exactly one block of strlen(Content-Type value) + 1 bytes,
 * allocated by malloc() in copy_header_value() called from handle_login().
 *
 * loadgen always sends "Content-Type: application/x-www-form-urlencoded" (33 characters),
 * so every bad login leaks exactly LOGIN_LEAK_BYTES = 34 bytes in 1 block. loadgen makes
 * every 10th login bad, i.e. floor(requests / 100) bad logins for a run of --requests
 * requests, leaking 34 * floor(requests / 100) bytes in floor(requests / 100) blocks.
 *
 * Nothing else leaks: a wrong password (403), a wrong or missing Content-Type (415) and a
 * successful login (200) free every copy. */
#define LOGIN_CONTENT_TYPE "application/x-www-form-urlencoded"
#define LOGIN_LEAK_BYTES (sizeof LOGIN_CONTENT_TYPE)   /* 34, including the terminator */
_Static_assert(LOGIN_LEAK_BYTES == 34, "the demo and its documentation expect 34 bytes");

struct credential {
    const char *user;
    const char *password;
};

static const struct credential known_users[] = {
    {"alice", "wonderland"},
    {"bob", "builder"},
    {"carol", "c4r0l!"},
};

/* Returns a malloc'd, NUL-terminated copy of the named header's value, or NULL when the
 * header is absent (or memory is short). The caller owns the copy. */
NOINLINE static char *copy_header_value(const struct request *req, const char *name)
{
    const struct header *h = find_header(req, name);
    if (!h)
        return NULL;
    char *copy = malloc(h->value.n + 1);
    if (!copy)
        return NULL;
    memcpy(copy, h->value.p, h->value.n);
    copy[h->value.n] = '\0';
    return copy;
}

static int base64_value(unsigned char ch)
{
    if (ch >= 'A' && ch <= 'Z') return ch - 'A';
    if (ch >= 'a' && ch <= 'z') return ch - 'a' + 26;
    if (ch >= '0' && ch <= '9') return ch - '0' + 52;
    if (ch == '+') return 62;
    if (ch == '/') return 63;
    return -1;
}

/* Strict RFC 4648 decoding with padding. Returns the decoded length or -1. */
static long decode_base64(const char *in, char *out, size_t out_cap)
{
    size_t n = strlen(in), o = 0;
    if (n == 0 || n % 4 != 0)
        return -1;
    for (size_t i = 0; i < n; i += 4) {
        int v[4];
        int pad = 0;
        for (int k = 0; k < 4; k++) {
            unsigned char ch = (unsigned char)in[i + (size_t)k];
            if (ch == '=' && i + 4 == n && k >= 2) {
                v[k] = 0;
                pad++;
            } else if (pad > 0 || (v[k] = base64_value(ch)) < 0) {
                return -1;
            }
        }
        unsigned triple = (unsigned)v[0] << 18 | (unsigned)v[1] << 12 | (unsigned)v[2] << 6 |
                          (unsigned)v[3];
        if (o + (size_t)(3 - pad) > out_cap)
            return -1;
        out[o++] = (char)(triple >> 16);
        if (pad < 2)
            out[o++] = (char)(triple >> 8 & 0xff);
        if (pad < 1)
            out[o++] = (char)(triple & 0xff);
    }
    return (long)o;
}

/* "Basic <base64(user:password)>" -> user, password. */
static bool parse_basic_credentials(const char *auth, char *user, size_t user_cap,
                                    char *password, size_t password_cap)
{
    if (strncasecmp(auth, "Basic ", 6) != 0)
        return false;
    const char *token = auth + 6;
    while (*token == ' ')
        token++;
    char decoded[256];
    long n = decode_base64(token, decoded, sizeof decoded - 1);
    if (n < 0)
        return false;
    decoded[n] = '\0';
    if (memchr(decoded, '\0', (size_t)n))
        return false;
    char *colon = strchr(decoded, ':');
    if (!colon)
        return false;
    size_t ulen = (size_t)(colon - decoded), plen = strlen(colon + 1);
    if (ulen == 0 || ulen >= user_cap || plen >= password_cap)
        return false;
    memcpy(user, decoded, ulen);
    user[ulen] = '\0';
    memcpy(password, colon + 1, plen + 1);
    return true;
}

static bool check_credentials(const char *user, const char *password)
{
    for (size_t i = 0; i < sizeof known_users / sizeof known_users[0]; i++)
        if (strcmp(known_users[i].user, user) == 0)
            return strcmp(known_users[i].password, password) == 0;
    return false;
}

static unsigned long long session_token(const char *user, unsigned long counter)
{
    unsigned long long h = 1469598103934665603ULL;   /* FNV-1a */
    for (const char *p = user; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    return h ^ (counter * 0x9E3779B97F4A7C15ULL);
}

NOINLINE static void handle_login(struct server *srv, struct conn *c, const struct request *req)
{
    static const char challenge[] = "WWW-Authenticate: Basic realm=\"leakshim-demo\"\r\n";
    srv->stats.login++;

    char *content_type = copy_header_value(req, "Content-Type");
    if (!content_type || strcasecmp(content_type, LOGIN_CONTENT_TYPE) != 0) {
        free(content_type);
        send_text(srv, c, req, 415, NULL, "expected " LOGIN_CONTENT_TYPE "\n");
        return;
    }

    char *authorization = copy_header_value(req, "Authorization");
    if (!authorization) {
        srv->stats.login_unauthorized++;
        send_text(srv, c, req, 401, challenge, "missing Authorization header\n");
        return;   /* BUG (intentional): content_type leaks, see LOGIN_LEAK */
    }

    char user[64], password[128];
    if (!parse_basic_credentials(authorization, user, sizeof user, password, sizeof password)) {
        free(authorization);
        srv->stats.login_unauthorized++;
        send_text(srv, c, req, 401, challenge, "malformed Authorization header\n");
        return;   /* BUG (intentional): content_type leaks, see LOGIN_LEAK */
    }
    free(authorization);
    free(content_type);

    if (!check_credentials(user, password)) {
        srv->stats.login_forbidden++;
        send_text(srv, c, req, 403, NULL, "invalid user or password\n");
        return;
    }
    srv->stats.login_ok++;
    char body[160];
    snprintf(body, sizeof body, "welcome %s\nsession=%016llx\nform_bytes=%zu\n", user,
             session_token(user, srv->stats.login_ok), req->body_len);
    send_text(srv, c, req, 200, NULL, body);
}

/* ---------------------------------------------------------------------------------------- */
/* GET /stats                                                                               */

NOINLINE static void handle_stats(struct server *srv, struct conn *c, const struct request *req)
{
    srv->stats.stats++;
    const struct server_stats *s = &srv->stats;
    const struct item_cache *ic = &srv->cache;
    size_t cap = 2048;
    char *body = malloc(cap);
    if (!body) {
        send_text(srv, c, req, 500, NULL, "out of memory\n");
        return;
    }
    int n = snprintf(body, cap,
                     "uptime_seconds %.3f\n"
                     "connections_accepted %lu\n"
                     "connections_open %zu\n"
                     "requests_total %lu\n"
                     "requests_hello %lu\n"
                     "requests_item %lu\n"
                     "requests_login %lu\n"
                     "requests_stats %lu\n"
                     "login_ok %lu\n"
                     "login_unauthorized %lu\n"
                     "login_forbidden %lu\n"
                     "responses_2xx %lu\n"
                     "responses_4xx %lu\n"
                     "responses_5xx %lu\n"
                     "bad_requests %lu\n"
                     "item_cache_entries %zu\n"
                     "item_cache_capacity %zu\n"
                     "item_cache_hits %lu\n"
                     "item_cache_misses %lu\n"
                     "item_cache_evictions %lu\n"
                     "bytes_in %llu\n"
                     "bytes_out %llu\n",
                     elapsed_since(&srv->started), s->connections_accepted, srv->nconns,
                     s->requests, s->hello, s->item, s->login, s->stats, s->login_ok,
                     s->login_unauthorized, s->login_forbidden, s->status_2xx, s->status_4xx,
                     s->status_5xx, s->bad_requests, ic->count, ic->capacity, ic->hits,
                     ic->misses, ic->evictions, s->bytes_in, s->bytes_out);
    if (n < 0 || (size_t)n >= cap) {
        free(body);
        send_text(srv, c, req, 500, NULL, "stats overflow\n");
        return;
    }
    send_response(srv, c, req, 200, "text/plain; charset=utf-8", NULL, body, (size_t)n);
    free(body);
}

/* ---------------------------------------------------------------------------------------- */
/* Routing                                                                                  */

static bool method_is(const struct request *req, const char *m) { return slice_eq(req->method, m); }

NOINLINE static void dispatch_request(struct server *srv, struct conn *c,
                                      const struct request *req)
{
    c->requests++;
    bool get = method_is(req, "GET") || method_is(req, "HEAD");
    if (slice_eq(req->path, "/hello")) {
        if (get)
            handle_hello(srv, c, req);
        else
            send_text(srv, c, req, 405, "Allow: GET, HEAD\r\n", "method not allowed\n");
    } else if (slice_eq(req->path, "/item")) {
        if (get)
            handle_item(srv, c, req);
        else
            send_text(srv, c, req, 405, "Allow: GET, HEAD\r\n", "method not allowed\n");
    } else if (slice_eq(req->path, "/login")) {
        if (method_is(req, "POST"))
            handle_login(srv, c, req);
        else
            send_text(srv, c, req, 405, "Allow: POST\r\n", "method not allowed\n");
    } else if (slice_eq(req->path, "/stats")) {
        if (get)
            handle_stats(srv, c, req);
        else
            send_text(srv, c, req, 405, "Allow: GET, HEAD\r\n", "method not allowed\n");
    } else {
        send_text(srv, c, req, 404, NULL, "not found\n");
    }
    /* Counted once the handler is done; this also means no handler is a tail call, so
     * dispatch_request stays visible in the stacks a leak tracer records. */
    srv->stats.requests++;
}

/* ---------------------------------------------------------------------------------------- */
/* Connections                                                                              */

NOINLINE static struct conn *conn_new(struct server *srv, int fd)
{
    struct conn *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->in = malloc(INBUF_INITIAL);
    if (!c->in) {
        free(c);
        return NULL;
    }
    c->in_cap = INBUF_INITIAL;
    c->fd = fd;
    c->next = srv->conns;
    if (srv->conns)
        srv->conns->prev = c;
    srv->conns = c;
    srv->nconns++;
    return c;
}

static void conn_close(struct server *srv, struct conn *c)
{
    epoll_ctl(srv->epfd, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    if (c->prev)
        c->prev->next = c->next;
    else
        srv->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    srv->nconns--;
    free(c->in);
    free(c->out);
    free(c);
}

/* Closing a socket that still has unread input makes the kernel send a RST, which can
 * destroy the response (e.g. a 400) before the client reads it. So: send FIN first, discard
 * what the client has already sent, then close. */
static void conn_close_gently(struct server *srv, struct conn *c)
{
    shutdown(c->fd, SHUT_WR);
    char sink[4096];
    for (int i = 0; i < 16 && recv(c->fd, sink, sizeof sink, 0) > 0; i++)
        ;
    conn_close(srv, c);
}

/* Makes room for at least READ_MIN_SPACE more bytes: slides unparsed bytes to the front, then
 * grows the buffer with realloc. Returns false when the buffer is at its maximum. */
NOINLINE static bool conn_grow_input(struct conn *c)
{
    if (c->in_off > 0) {
        memmove(c->in, c->in + c->in_off, c->in_len - c->in_off);
        c->in_len -= c->in_off;
        c->in_off = 0;
    }
    if (c->in_cap - c->in_len >= READ_MIN_SPACE)
        return true;
    if (c->in_cap >= INBUF_MAX)
        return c->in_len < c->in_cap;
    size_t cap = c->in_cap * 2;
    if (cap > INBUF_MAX)
        cap = INBUF_MAX;
    char *p = realloc(c->in, cap);
    if (!p) {
        c->failed = true;
        return false;
    }
    c->in = p;
    c->in_cap = cap;
    return true;
}

/* An idle connection with big buffers gives the memory back. */
static void conn_shrink_buffers(struct conn *c)
{
    if (c->in_len == c->in_off && c->in_cap > BUF_SHRINK_ABOVE) {
        char *p = realloc(c->in, INBUF_INITIAL);
        if (p) {
            c->in = p;
            c->in_cap = INBUF_INITIAL;
            c->in_len = c->in_off = 0;
        }
    }
    if (c->out_len == 0 && c->out_cap > BUF_SHRINK_ABOVE) {
        free(c->out);
        c->out = NULL;
        c->out_cap = 0;
    }
}

static bool conn_wants_read(const struct conn *c)
{
    return !c->close_after_flush && !c->peer_eof && !c->failed &&
           conn_pending(c) < OUT_HIGH_WATER &&
           (c->in_cap < INBUF_MAX || c->in_len < c->in_cap || c->in_off > 0);
}

/* Reads what is available (bounded, for fairness). Returns -1 on a fatal socket error. */
static int conn_read(struct server *srv, struct conn *c)
{
    for (int round = 0; round < 8; round++) {
        if (c->in_off == c->in_len)
            c->in_off = c->in_len = 0;
        if (c->in_cap - c->in_len < READ_MIN_SPACE && !conn_grow_input(c))
            return c->failed ? -1 : 0;
        size_t space = c->in_cap - c->in_len;
        ssize_t n = recv(c->fd, c->in + c->in_len, space, 0);
        if (n > 0) {
            c->in_len += (size_t)n;
            srv->stats.bytes_in += (unsigned long long)n;
            if ((size_t)n < space)
                return 0;
        } else if (n == 0) {
            c->peer_eof = true;
            return 0;
        } else if (errno == EINTR) {
            continue;
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            return 0;
        } else {
            return -1;
        }
    }
    return 0;
}

/* Sends what the socket takes. Returns -1 on a fatal socket error. */
static int conn_flush(struct server *srv, struct conn *c)
{
    while (c->out_off < c->out_len) {
        ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
        if (n > 0) {
            c->out_off += (size_t)n;
            srv->stats.bytes_out += (unsigned long long)n;
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            return 0;
        } else {
            return -1;
        }
    }
    c->out_off = c->out_len = 0;
    return 0;
}

/* Parses and handles every complete request in the input buffer (pipelining), until the
 * input runs out, the output backs up, or the connection is to be closed. Returns whether
 * any request was handled. */
NOINLINE static bool conn_process_requests(struct server *srv, struct conn *c)
{
    bool progressed = false;
    while (!c->close_after_flush && !c->failed && conn_pending(c) < OUT_HIGH_WATER) {
        /* RFC 9112 2.2: ignore empty lines before a request-line */
        while (c->in_len - c->in_off >= 2 && c->in[c->in_off] == '\r' &&
               c->in[c->in_off + 1] == '\n')
            c->in_off += 2;
        size_t avail = c->in_len - c->in_off;
        if (avail == 0)
            break;
        struct request req;
        size_t consumed = 0;
        int status = 0;
        int r = parse_request(c->in + c->in_off, avail, &req, &consumed, &status);
        if (r == PARSE_INCOMPLETE)
            break;
        progressed = true;
        if (r == PARSE_ERROR) {
            send_error(srv, c, status);
            c->in_off = c->in_len;   /* framing is lost: discard the rest */
            break;
        }
        dispatch_request(srv, c, &req);
        c->in_off += consumed;
    }
    if (c->in_off == c->in_len)
        c->in_off = c->in_len = 0;
    return progressed;
}

static void conn_update_events(struct server *srv, struct conn *c)
{
    uint32_t ev = 0;
    if (conn_wants_read(c))
        ev |= EPOLLIN;
    if (conn_pending(c) > 0)
        ev |= EPOLLOUT;
    if (ev == c->events)
        return;
    struct epoll_event e = {.events = ev, .data.ptr = c};
    if (epoll_ctl(srv->epfd, EPOLL_CTL_MOD, c->fd, &e) == 0)
        c->events = ev;
}

NOINLINE static void on_conn_event(struct server *srv, struct conn *c, uint32_t events)
{
    if (events & EPOLLERR) {
        conn_close(srv, c);
        return;
    }
    if ((events & (EPOLLIN | EPOLLHUP)) && conn_wants_read(c) && conn_read(srv, c) < 0) {
        conn_close(srv, c);
        return;
    }
    for (;;) {
        bool progressed = conn_process_requests(srv, c);
        if (c->failed || conn_flush(srv, c) < 0) {
            conn_close(srv, c);
            return;
        }
        if (conn_pending(c) > 0 || !progressed)
            break;
    }
    if (conn_pending(c) == 0) {
        if (c->close_after_flush || c->peer_eof) {
            conn_close_gently(srv, c);
            return;
        }
        conn_shrink_buffers(c);
    } else if ((events & EPOLLHUP) && !(events & EPOLLOUT)) {
        conn_close(srv, c);   /* the peer is gone and nothing can be sent */
        return;
    }
    conn_update_events(srv, c);
}

static void on_accept(struct server *srv)
{
    for (;;) {
        int fd = accept4(srv->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                fprintf(stderr, "server: accept: %s\n", strerror(errno));
            return;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        struct conn *c = conn_new(srv, fd);
        if (!c) {
            close(fd);
            continue;
        }
        struct epoll_event e = {.events = EPOLLIN, .data.ptr = c};
        if (epoll_ctl(srv->epfd, EPOLL_CTL_ADD, fd, &e) < 0) {
            fprintf(stderr, "server: epoll_ctl: %s\n", strerror(errno));
            conn_close(srv, c);
            continue;
        }
        c->events = EPOLLIN;
        srv->stats.connections_accepted++;
    }
}

static void on_signal(struct server *srv)
{
    struct signalfd_siginfo si;
    ssize_t n;
    while ((n = read(srv->sig_fd, &si, sizeof si)) == (ssize_t)sizeof si) {
        srv->stopping = true;
        srv->stop_signal = (int)si.ssi_signo;
    }
}

/* ---------------------------------------------------------------------------------------- */
/* Setup, main loop, shutdown                                                               */

static void usage(FILE *f)
{
    fprintf(f, "usage: server [--port N] [--host ADDR]\n"
               "  --port N     TCP port (default %d; 0 picks a free port)\n"
               "  --host ADDR  numeric IPv4 or IPv6 address to bind (default 127.0.0.1)\n",
            DEFAULT_PORT);
}

static int open_listener(const char *host, int port, char *shown, size_t shown_cap)
{
    struct sockaddr_storage ss;
    socklen_t sslen;
    memset(&ss, 0, sizeof ss);
    struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
        sin->sin_family = AF_INET;
        sin->sin_port = htons((uint16_t)port);
        sslen = sizeof *sin;
    } else if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
        sin6->sin6_family = AF_INET6;
        sin6->sin6_port = htons((uint16_t)port);
        sslen = sizeof *sin6;
    } else {
        fprintf(stderr, "server: --host must be a numeric IPv4 or IPv6 address: %s\n", host);
        return -1;
    }
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        fprintf(stderr, "server: socket: %s\n", strerror(errno));
        return -1;
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(fd, (struct sockaddr *)&ss, sslen) < 0 || listen(fd, SOMAXCONN) < 0) {
        fprintf(stderr, "server: cannot listen on %s:%d: %s\n", host, port, strerror(errno));
        close(fd);
        return -1;
    }
    sslen = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &sslen) < 0) {
        fprintf(stderr, "server: getsockname: %s\n", strerror(errno));
        close(fd);
        return -1;
    }
    int bound = ntohs(ss.ss_family == AF_INET ? sin->sin_port : sin6->sin6_port);
    if (ss.ss_family == AF_INET6)
        snprintf(shown, shown_cap, "[%s]:%d", host, bound);
    else
        snprintf(shown, shown_cap, "%s:%d", host, bound);
    return fd;
}

static void server_shutdown(struct server *srv)
{
    while (srv->conns) {
        struct conn *c = srv->conns;
        conn_flush(srv, c);   /* best effort: responses already queued */
        conn_close(srv, c);
    }
    item_cache_destroy(&srv->cache);
    if (srv->listen_fd >= 0)
        close(srv->listen_fd);
    if (srv->sig_fd >= 0)
        close(srv->sig_fd);
    if (srv->epfd >= 0)
        close(srv->epfd);
}

int main(int argc, char **argv)
{
    /* stdout gets a static buffer: stdio would otherwise malloc one and keep it to exit,
     * which a leak tracer would (rightly) show as outstanding. */
    static char stdout_buf[1024];
    setvbuf(stdout, stdout_buf, _IOLBF, sizeof stdout_buf);

    /* Block the stop signals before anything else so that none is lost: they are read
     * from a signalfd in the event loop. */
    sigset_t stop_signals;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGINT);
    if (sigprocmask(SIG_BLOCK, &stop_signals, NULL) < 0) {
        perror("server: sigprocmask");
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);

    const char *host = "127.0.0.1";
    long port = DEFAULT_PORT;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *val = NULL;
        if ((strcmp(a, "--port") == 0 || strcmp(a, "--host") == 0) && i + 1 < argc)
            val = argv[++i];
        else if (strncmp(a, "--port=", 7) == 0 || strncmp(a, "--host=", 7) == 0)
            val = a + 7;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (val && strncmp(a, "--port", 6) == 0) {
            char *end;
            errno = 0;
            port = strtol(val, &end, 10);
            if (errno || *end || end == val || port < 0 || port > 65535) {
                fprintf(stderr, "server: bad port: %s\n", val);
                return 2;
            }
        } else if (val && strncmp(a, "--host", 6) == 0) {
            host = val;
        } else {
            usage(stderr);
            return 2;
        }
    }

    struct server srv;
    memset(&srv, 0, sizeof srv);
    srv.epfd = srv.listen_fd = srv.sig_fd = -1;
    clock_gettime(CLOCK_MONOTONIC, &srv.started);
    if (!item_cache_init(&srv.cache, ITEM_CACHE_CAPACITY)) {
        fprintf(stderr, "server: out of memory\n");
        return 1;
    }

    char shown[96];
    srv.listen_fd = open_listener(host, (int)port, shown, sizeof shown);
    srv.sig_fd = signalfd(-1, &stop_signals, SFD_NONBLOCK | SFD_CLOEXEC);
    srv.epfd = epoll_create1(EPOLL_CLOEXEC);
    if (srv.listen_fd < 0 || srv.sig_fd < 0 || srv.epfd < 0) {
        if (srv.sig_fd < 0 || srv.epfd < 0)
            perror("server: signalfd/epoll_create1");
        server_shutdown(&srv);
        return 1;
    }
    struct epoll_event le = {.events = EPOLLIN, .data.ptr = &listen_marker};
    struct epoll_event se = {.events = EPOLLIN, .data.ptr = &signal_marker};
    if (epoll_ctl(srv.epfd, EPOLL_CTL_ADD, srv.listen_fd, &le) < 0 ||
        epoll_ctl(srv.epfd, EPOLL_CTL_ADD, srv.sig_fd, &se) < 0) {
        perror("server: epoll_ctl");
        server_shutdown(&srv);
        return 1;
    }

    printf("listening on %s\n", shown);
    fflush(stdout);

    struct epoll_event events[MAX_EVENTS];
    while (!srv.stopping) {
        int n = epoll_wait(srv.epfd, events, MAX_EVENTS, -1);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            perror("server: epoll_wait");
            break;
        }
        /* Each descriptor appears at most once per batch, and a connection is only closed
         * while handling its own event, so no event refers to a freed connection. */
        for (int i = 0; i < n; i++) {
            void *p = events[i].data.ptr;
            if (p == &listen_marker)
                on_accept(&srv);
            else if (p == &signal_marker)
                on_signal(&srv);
            else
                on_conn_event(&srv, p, events[i].events);
        }
    }

    fprintf(stderr, "server: %s: stopping; %lu requests on %lu connections, %lu logins "
                    "rejected with 401\n",
            !srv.stopping ? "error" : srv.stop_signal == SIGINT ? "SIGINT" : "SIGTERM",
            srv.stats.requests,
            srv.stats.connections_accepted, srv.stats.login_unauthorized);
    server_shutdown(&srv);
    return srv.stopping ? 0 : 1;
}
