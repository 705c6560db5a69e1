/*
 * hello: the plugin of docs/plugin-guide.md, and the third-party plugin of
 * the ABI tests. It is built only against <warren/plugin.h>, outside the
 * tree's own rules, exactly as anyone would build a plugin:
 *
 *   cc -std=c11 -O2 -Wall -Wextra -fPIC -shared -fvisibility=hidden \
 *      $(pkg-config --cflags warren-plugin) -Wl,-z,defs -o hello.so hello.c
 *
 * and it must export one symbol, wr_plugin (nm -D --defined-only hello.so).
 *
 *   plugins:
 *     - plugin: hello
 *       config:
 *         header: X-Hello   # the response header it sets (default X-Hello)
 *         value: warren     # and its value (default warren)
 *
 * What it does: counts sessions (all workers, an atomic counter in the
 * instance's config) and requests (per worker, in the worker slot); logs
 * sessions, TCP connections and HTTP requests; adds X-Hello-Request: 1 to
 * every request sent to the tunnel's service, and <header>: <value> and
 * X-Hello-Sessions: <sessions opened so far> to every response.
 */
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <warren/plugin.h>

/* The instance's config: made by create_conf on the main thread, then read
 * by every worker. Only the counter changes afterwards, atomically. */
typedef struct {
    char *header;
    char *value;
    atomic_ullong sessions; /* sessions opened so far */
} hello_conf_t;

/* One per worker, in the WR_SCOPE_WORKER slot: only its worker touches it,
 * so it needs no lock. */
typedef struct {
    unsigned long long requests;
} hello_worker_t;

/* ---- config ------------------------------------------------------------- */

/* strdup is POSIX, hidden by -std=c11. */
static char *hello_strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = malloc(n);

    if (p != NULL)
        memcpy(p, s, n);
    return p;
}

/* An HTTP field name: RFC 9110 token characters. */
static int hello_valid_name(const char *s)
{
    const unsigned char *p;

    if (*s == '\0')
        return 0;
    for (p = (const unsigned char *)s; *p; p++)
        if (*p <= 0x20 || *p >= 0x7f || strchr("\"(),/:;<=>?@[\\]{}", *p) != NULL)
            return 0;
    return 1;
}

/* A field value: no control characters, no leading or trailing blank. */
static int hello_valid_value(const char *s)
{
    const unsigned char *p;
    size_t n = strlen(s);

    for (p = (const unsigned char *)s; *p; p++)
        if ((*p < 0x20 && *p != '\t') || *p == 0x7f)
            return 0;
    return n == 0 || (s[0] != ' ' && s[0] != '\t' && s[n - 1] != ' ' && s[n - 1] != '\t');
}

static void hello_destroy_conf(void *data)
{
    hello_conf_t *c = data;

    free(c->header);
    free(c->value);
    free(c);
}

/* A string setting: *out is left alone when key is absent. WR_OK, or
 * WR_ERROR once warren has reported the error at the value's file:line:col. */
static int hello_config_str(const wr_config_t *config, const char *key, const char **out)
{
    const wr_config_t *node = wr_config_get(config, key);

    if (node == NULL)
        return WR_OK;
    return wr_config_str(node, out);
}

static void *hello_create_conf(wr_ctx_t *ctx, const wr_config_t *config)
{
    static const char *const known[] = {"header", "value", NULL};
    const char *header = "X-Hello", *value = "warren";
    hello_conf_t *c;

    (void)ctx;
    if (wr_config_keys(config, known) != WR_OK ||
        hello_config_str(config, "header", &header) != WR_OK ||
        hello_config_str(config, "value", &value) != WR_OK)
        return NULL;
    if (!hello_valid_name(header)) {
        wr_config_error(wr_config_get(config, "header"),
                        "'header' expects a header name such as X-Hello, got \"%.64s\"", header);
        return NULL;
    }
    if (!hello_valid_value(value)) {
        wr_config_error(wr_config_get(config, "value"),
                        "'value' expects printable text without leading or trailing blanks");
        return NULL;
    }
    c = calloc(1, sizeof(*c));
    if (c == NULL)
        return NULL;
    /* The strings belong to the config tree, which does not outlive
     * create_conf: keep copies. */
    c->header = hello_strdup(header);
    c->value = hello_strdup(value);
    atomic_init(&c->sessions, 0);
    if (c->header == NULL || c->value == NULL) {
        hello_destroy_conf(c);
        return NULL;
    }
    return c;
}

/* ---- workers ------------------------------------------------------------ */

static int hello_init_worker(wr_ctx_t *ctx)
{
    hello_worker_t *w = calloc(1, sizeof(*w));

    if (w == NULL)
        return WR_ERROR;
    /* warren calls free(w) when the worker stops, after exit_worker. */
    if (wr_data_set(ctx, WR_SCOPE_WORKER, w, free) != WR_OK) {
        free(w);
        return WR_ERROR;
    }
    return WR_OK;
}

static void hello_exit_worker(wr_ctx_t *ctx)
{
    hello_worker_t *w = wr_data_get(ctx, WR_SCOPE_WORKER);

    if (w != NULL)
        wr_log(ctx, WR_LEVEL_DEBUG, "worker %lld: %llu requests",
               (long long)wr_num(ctx, WR_KEY_WORKER, 0), w->requests);
}

/* ---- hooks -------------------------------------------------------------- */

static int hello_session_open(wr_ctx_t *ctx)
{
    hello_conf_t *c = wr_conf(ctx);
    unsigned long long n = atomic_fetch_add_explicit(&c->sessions, 1, memory_order_relaxed) + 1;
    const char *peer = wr_str(ctx, WR_KEY_PEER, 0);

    wr_log(ctx, WR_LEVEL_INFO, "session %llu opened, from %s", n, peer != NULL ? peer : "?");
    return WR_OK;
}

static int hello_session_close(wr_ctx_t *ctx)
{
    wr_log(ctx, WR_LEVEL_INFO, "session closed");
    return WR_OK;
}

/* Stream phases run for HTTP requests too (each request is a stream): the
 * tunnel type tells a TCP connection apart. */
static int hello_is_tcp(wr_ctx_t *ctx)
{
    const char *type = wr_str(ctx, WR_KEY_TUNNEL_TYPE, 0);

    return type != NULL && strcmp(type, "tcp") == 0;
}

static int hello_stream_open(wr_ctx_t *ctx)
{
    const char *peer = wr_str(ctx, WR_KEY_PEER, 0);
    const char *tunnel = wr_str(ctx, WR_KEY_TUNNEL, 0);

    if (hello_is_tcp(ctx))
        wr_log(ctx, WR_LEVEL_INFO, "tcp connection from %s to tunnel %s (port %lld)",
               peer != NULL ? peer : "?", tunnel != NULL ? tunnel : "?",
               (long long)wr_num(ctx, WR_KEY_PORT, 0));
    return WR_OK;
}

static int hello_stream_close(wr_ctx_t *ctx)
{
    const char *peer = wr_str(ctx, WR_KEY_PEER, 0);

    if (hello_is_tcp(ctx))
        wr_log(ctx, WR_LEVEL_INFO, "tcp connection from %s closed", peer != NULL ? peer : "?");
    return WR_OK;
}

static int hello_request_headers(wr_ctx_t *ctx)
{
    if (wr_header_add(ctx, WR_REQUEST, "X-Hello-Request", "1") != WR_OK)
        wr_log(ctx, WR_LEVEL_WARN, "cannot add X-Hello-Request");
    return WR_OK;
}

static int hello_response_headers(wr_ctx_t *ctx)
{
    hello_conf_t *c = wr_conf(ctx);
    char n[24];

    snprintf(n, sizeof(n), "%llu", atomic_load_explicit(&c->sessions, memory_order_relaxed));
    if (wr_header_set(ctx, WR_RESPONSE, c->header, c->value) != WR_OK ||
        wr_header_set(ctx, WR_RESPONSE, "X-Hello-Sessions", n) != WR_OK)
        wr_log(ctx, WR_LEVEL_WARN, "cannot set %s or X-Hello-Sessions", c->header);
    return WR_OK;
}

/* After every HTTP request (and TCP connection: no method then). */
static int hello_log(wr_ctx_t *ctx)
{
    hello_worker_t *w = wr_data_get(ctx, WR_SCOPE_WORKER);
    const char *method = wr_str(ctx, WR_KEY_METHOD, 0);
    const char *path = wr_str(ctx, WR_KEY_PATH, 0);

    if (method == NULL)
        return WR_OK;
    if (w != NULL)
        w->requests++;
    wr_log(ctx, WR_LEVEL_INFO, "%s %s: %lld (request %llu on this worker)", method,
           path != NULL ? path : "-", (long long)wr_num(ctx, WR_KEY_STATUS, 0),
           w != NULL ? w->requests : 0ull);
    return WR_OK;
}

WR_PLUGIN_DEFINE(hello, "1.0.0", .create_conf = hello_create_conf,
                 .destroy_conf = hello_destroy_conf, .init_worker = hello_init_worker,
                 .exit_worker = hello_exit_worker, .session_open = hello_session_open,
                 .session_close = hello_session_close, .stream_open = hello_stream_open,
                 .stream_close = hello_stream_close, .request_headers = hello_request_headers,
                 .response_headers = hello_response_headers, .log = hello_log);
