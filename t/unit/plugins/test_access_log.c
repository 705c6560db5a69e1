/* Unit tests for plugins/access_log: config, line formats, buffering,
 * flushing, reopening and write errors, through the fake API. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Every write(2) of the plugin goes through wr_test_write, which records it
 * (to count batches) and can fail on demand; unistd.h is included first so
 * that its declaration of write is left alone. */
static ssize_t wr_test_write(int fd, const void *p, size_t n);
#define write(fd, p, n) wr_test_write(fd, p, n)
#include "../../../plugins/access_log/wr_access_log.c"
#undef write

#include "fake_api.h"
#include "wr_test.h"

/* 2026-11-30T20:16:05.123456Z */
#define WR_T0_US 1796069765123456LL

static int wr_test_writes;       /* write(2) calls */
static size_t wr_test_sizes[64]; /* their sizes */
static int wr_test_fail;         /* fail this many writes with ENOSPC */
static char wr_test_stderr[8192];
static size_t wr_test_nstderr;

static ssize_t wr_test_write(int fd, const void *p, size_t n)
{
    if (wr_test_writes < 64)
        wr_test_sizes[wr_test_writes] = n;
    wr_test_writes++;
    if (wr_test_fail > 0) {
        wr_test_fail--;
        errno = ENOSPC;
        return -1;
    }
    if (fd == STDERR_FILENO) {
        /* captured, to keep the test's own output clean */
        if (n > sizeof(wr_test_stderr) - wr_test_nstderr)
            n = sizeof(wr_test_stderr) - wr_test_nstderr;
        memcpy(wr_test_stderr + wr_test_nstderr, p, n);
        wr_test_nstderr += n;
        return (ssize_t)n;
    }
    return write(fd, p, n);
}

static char wr_test_dir[64];
static char wr_test_path[160];

/* One directory for the suite, made and removed by the parent process, so
 * that it goes away even when a test fails in a forked child. */
static void suite_setup(void)
{
    snprintf(wr_test_dir, sizeof(wr_test_dir), "/tmp/wr_access_log.XXXXXX");
    if (mkdtemp(wr_test_dir) == NULL)
        abort();
}

static void suite_teardown(void)
{
    char p[320];
    struct dirent *d;
    DIR *dir = opendir(wr_test_dir);

    while (dir != NULL && (d = readdir(dir)) != NULL) {
        snprintf(p, sizeof(p), "%s/%s", wr_test_dir, d->d_name);
        unlink(p);
    }
    if (dir != NULL)
        closedir(dir);
    rmdir(wr_test_dir);
}

static void setup(void)
{
    static int n;

    wr_plugin.bind(&fake_api);
    wr_test_writes = 0;
    wr_test_fail = 0;
    wr_test_nstderr = 0;
    /* a file of its own per test (forked or not) */
    snprintf(wr_test_path, sizeof(wr_test_path), "%s/access.%d.%d.log", wr_test_dir, (int)getpid(),
             ++n);
}

static void teardown(void)
{
    fake_reset();
}

/* The whole file, NUL-terminated ("" when it does not exist). */
static char *slurp(const char *path)
{
    static char buf[65536];
    ssize_t n = 0, r;
    int fd = open(path, O_RDONLY);

    buf[0] = '\0';
    if (fd < 0)
        return buf;
    while ((r = read(fd, buf + n, sizeof(buf) - 1 - (size_t)n)) > 0)
        n += r;
    close(fd);
    buf[n] = '\0';
    return buf;
}

static wr_al_conf_t *conf_of(const char *yaml)
{
    const wr_config_t *cfg = fake_config(yaml);

    ck_assert_ptr_nonnull(cfg);
    return wr_plugin.create_conf(fake_ctx(WR_PHASE_CONFIG, NULL), cfg);
}

/* create_conf + init + init_worker, for a file log with extra YAML. */
static wr_al_conf_t *start(const char *extra)
{
    char yaml[512];
    wr_al_conf_t *conf;

    snprintf(yaml, sizeof(yaml), "path: %s\n%s", wr_test_path, extra);
    conf = conf_of(yaml);
    ck_assert_ptr_nonnull(conf);
    ck_assert_int_eq(wr_plugin.init(fake_ctx(WR_PHASE_CONFIG, conf)), WR_OK);
    ck_assert_int_eq(wr_plugin.init_worker(fake_ctx(WR_PHASE_WORKER, conf)), WR_OK);
    return conf;
}

static void stop(wr_al_conf_t *conf)
{
    wr_ctx_t *ctx = fake_ctx(WR_PHASE_WORKER, conf);

    wr_plugin.exit_worker(ctx);
    ck_assert_ptr_null(wr_data_get(ctx, WR_SCOPE_WORKER));
    ck_assert_int_eq(fake_timers_pending(), 0);
    wr_plugin.fini(fake_ctx(WR_PHASE_CONFIG, conf));
    wr_plugin.destroy_conf(conf);
}

/* A W3C traceparent, as warren's ingress passes it on. */
#define WR_T_TRACE "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

static wr_ctx_t *http_ctx(wr_al_conf_t *conf)
{
    wr_ctx_t *c = fake_ctx(WR_PHASE_LOG, conf);

    fake_set_str(c, WR_KEY_CLIENT_IP, 0, "203.0.113.7");
    fake_set_str(c, WR_KEY_TOKEN_ID, 0, "alice");
    fake_set_str(c, WR_KEY_TUNNEL, 0, "web");
    fake_set_str(c, WR_KEY_TUNNEL_TYPE, 0, "http");
    fake_set_str(c, WR_KEY_HOSTNAME, 0, "app.example.com");
    fake_set_str(c, WR_KEY_HOST, 0, "app.example.com");
    fake_set_str(c, WR_KEY_METHOD, 0, "GET");
    fake_set_str(c, WR_KEY_PATH, 0, "/index.html?q=1");
    fake_set_num(c, WR_KEY_STATUS, 0, 200);
    fake_set_num(c, WR_KEY_BYTES_IN, 0, 0);
    fake_set_num(c, WR_KEY_BYTES_OUT, 0, 5120);
    fake_set_num(c, WR_KEY_START_TIME_US, 0, WR_T0_US);
    fake_set_num(c, WR_KEY_DURATION_US, 0, 12345);
    fake_set_num(c, WR_KEY_SESSION_ID, 0, 7);
    fake_set_num(c, WR_KEY_STREAM_ID, 0, 3);
    fake_add_header(c, WR_REQUEST, "User-Agent", "curl/8.0");
    fake_add_header(c, WR_REQUEST, "Referer", "https://example.org/");
    fake_add_header(c, WR_REQUEST, "traceparent", WR_T_TRACE);
    return c;
}

static wr_ctx_t *tcp_ctx(wr_al_conf_t *conf)
{
    wr_ctx_t *c = fake_ctx(WR_PHASE_LOG, conf);

    fake_set_str(c, WR_KEY_CLIENT_IP, 0, "198.51.100.2");
    fake_set_str(c, WR_KEY_TUNNEL, 0, "db");
    fake_set_str(c, WR_KEY_TUNNEL_TYPE, 0, "tcp");
    fake_set_str(c, WR_KEY_ERROR, 0, "connection refused");
    fake_set_num(c, WR_KEY_PORT, 0, 20001);
    fake_set_num(c, WR_KEY_STATUS, 0, 502);
    fake_set_num(c, WR_KEY_BYTES_IN, 0, 17);
    fake_set_num(c, WR_KEY_BYTES_OUT, 0, 0);
    fake_set_num(c, WR_KEY_START_TIME_US, 0, WR_T0_US + 2000);
    fake_set_num(c, WR_KEY_DURATION_US, 0, 1000);
    fake_set_num(c, WR_KEY_SESSION_ID, 0, 8);
    fake_set_num(c, WR_KEY_STREAM_ID, 0, 5);
    return c;
}

#define HTTP_COMBINED                                                                              \
    "203.0.113.7 - alice [30/Nov/2026:20:16:05 +0000] \"GET /index.html?q=1 HTTP/1.1\" 200 5120 "  \
    "\"https://example.org/\" \"curl/8.0\" \"" WR_T_TRACE "\"\n"
#define TCP_COMBINED                                                                               \
    "198.51.100.2 - - [30/Nov/2026:20:16:05 +0000] \"TCP db:20001\" 502 0 \"-\" \"-\" \"-\"\n"
#define HTTP_JSON                                                                                  \
    "{\"time\":\"2026-11-30T20:16:05.123Z\",\"client\":\"203.0.113.7\",\"host\":\"app.example."    \
    "com\",\"method\":\"GET\",\"path\":\"/index.html?q=1\",\"status\":200,\"bytes_in\":0,"         \
    "\"bytes_out\":5120,\"duration_ms\":12.345,\"tunnel\":\"web\",\"session\":7,\"stream\":3,"     \
    "\"type\":\"http\",\"traceparent\":\"" WR_T_TRACE "\",\"token_id\":\"alice\"}\n"
#define TCP_JSON                                                                                   \
    "{\"time\":\"2026-11-30T20:16:05.125Z\",\"client\":\"198.51.100.2\",\"host\":null,"            \
    "\"method\":null,\"path\":null,\"status\":502,\"bytes_in\":17,\"bytes_out\":0,"                \
    "\"duration_ms\":1.000,\"tunnel\":\"db\",\"port\":20001,\"session\":8,\"stream\":5,"           \
    "\"type\":\"tcp\",\"traceparent\":null,\"error\":\"connection refused\"}\n"

/* ---- config ------------------------------------------------------------ */

START_TEST(test_access_log__config_defaults)
{
    wr_al_conf_t *conf = conf_of("{}");

    ck_assert_ptr_nonnull(conf);
    ck_assert_ptr_null(conf->path);
    ck_assert_int_eq(conf->format, WR_AL_COMBINED);
    ck_assert_uint_eq(conf->buffer, 65536);
    ck_assert_uint_eq(conf->flush_ms, 1000);
    wr_plugin.destroy_conf(conf);

    /* no config: block at all is the same */
    conf = wr_plugin.create_conf(fake_ctx(WR_PHASE_CONFIG, NULL), NULL);
    ck_assert_ptr_nonnull(conf);
    ck_assert_uint_eq(conf->buffer, 65536);
    wr_plugin.destroy_conf(conf);

    conf = conf_of("path: /var/log/x.log\nformat: json\nbuffer: 8k\nflush: 250ms\n");
    ck_assert_ptr_nonnull(conf);
    ck_assert_str_eq(conf->path, "/var/log/x.log");
    ck_assert_int_eq(conf->format, WR_AL_JSON);
    ck_assert_uint_eq(conf->buffer, 8192);
    ck_assert_uint_eq(conf->flush_ms, 250);
    wr_plugin.destroy_conf(conf);

    conf = conf_of("path: stderr\n");
    ck_assert_ptr_nonnull(conf);
    ck_assert_ptr_null(conf->path);
    wr_plugin.destroy_conf(conf);
    conf = conf_of("path: '-'\nbuffer: 16m\nflush: 60s\n");
    ck_assert_ptr_nonnull(conf);
    ck_assert_ptr_null(conf->path);
    ck_assert_uint_eq(conf->buffer, 16u * 1024 * 1024);
    ck_assert_uint_eq(conf->flush_ms, 60000);
    wr_plugin.destroy_conf(conf);
}
END_TEST

static void bad_config(const char *yaml, const char *error)
{
    ck_assert_ptr_null(conf_of(yaml));
    ck_assert_str_eq(fake_last_error(), error);
}

START_TEST(test_access_log__config_errors)
{
    bad_config("path: /x\nformatt: json\n", "<test>:2:1: unknown key 'formatt'");
    bad_config("format: xml\n", "<test>:1:9: 'format' expects one of: combined, json, got \"xml\"");
    bad_config("path: ''\n",
               "<test>:1:7: 'path' expects a file name, \"-\" or \"stderr\", got \"\"");
    bad_config("path: [a]\n", "<test>:1:7: 'path' expects a string, got a sequence");
    bad_config("buffer: 1k\n", "<test>:1:9: 'buffer' expects a size from 4k to 16m, got \"1k\"");
    bad_config("buffer: lots\n", "<test>:1:9: 'buffer' expects a size (a number of bytes with an "
                                 "optional k, m or g suffix, e.g. 64k), got \"lots\"");
    bad_config("flush: 5ms\n",
               "<test>:1:8: 'flush' expects a duration from 10ms to 1m, got \"5ms\"");
    bad_config("format: json\nflush: 2m\n",
               "<test>:2:8: 'flush' expects a duration from 10ms to 1m, got \"2m\"");
    bad_config("flush: 10\n", "<test>:1:8: 'flush' expects a duration with a unit (us, ms, s, m or "
                              "h, e.g. 30s), got \"10\": a unit is required");
    bad_config("- path\n", "<test>:1:1: the top level expects a map, got a sequence");
}
END_TEST

/* ---- lines ------------------------------------------------------------- */

START_TEST(test_access_log__combined_lines)
{
    wr_al_conf_t *conf = start("");

    ck_assert_int_eq(wr_plugin.log(http_ctx(conf)), WR_OK);
    ck_assert_int_eq(wr_plugin.log(tcp_ctx(conf)), WR_OK);
    /* buffered: nothing reached the file yet */
    ck_assert_int_eq(wr_test_writes, 0);
    ck_assert_str_eq(slurp(wr_test_path), "");
    stop(conf);
    /* exit_worker flushed both in one write */
    ck_assert_int_eq(wr_test_writes, 1);
    ck_assert_str_eq(slurp(wr_test_path), HTTP_COMBINED TCP_COMBINED);
}
END_TEST

START_TEST(test_access_log__json_lines)
{
    wr_al_conf_t *conf = start("format: json\n");

    wr_plugin.log(http_ctx(conf));
    wr_plugin.log(tcp_ctx(conf));
    stop(conf);
    ck_assert_str_eq(slurp(wr_test_path), HTTP_JSON TCP_JSON);
}
END_TEST

/* A field with nothing to say is "-" (combined) or null / left out (json);
 * without a start time, the wall clock is used. */
START_TEST(test_access_log__missing_values)
{
    wr_al_conf_t *conf = start("format: json\n");
    wr_ctx_t *c = fake_ctx(WR_PHASE_LOG, conf);

    fake_set_now_us((uint64_t)WR_T0_US + 1000000);
    fake_set_str(c, WR_KEY_TUNNEL_TYPE, 0, "http");
    fake_set_str(c, WR_KEY_METHOD, 0, "GET");
    wr_plugin.log(c);
    stop(conf);
    ck_assert_str_eq(slurp(wr_test_path),
                     "{\"time\":\"2026-11-30T20:16:06.123Z\",\"client\":null,\"host\":null,"
                     "\"method\":\"GET\",\"path\":null,\"status\":null,\"bytes_in\":null,"
                     "\"bytes_out\":null,\"duration_ms\":null,\"tunnel\":null,\"session\":null,"
                     "\"stream\":null,\"type\":\"http\",\"traceparent\":null}\n");

    unlink(wr_test_path);
    conf = start("");
    c = fake_ctx(WR_PHASE_LOG, conf);
    fake_set_str(c, WR_KEY_TUNNEL_TYPE, 0, "http");
    wr_plugin.log(c);
    stop(conf);
    ck_assert_str_eq(slurp(wr_test_path),
                     "- - - [30/Nov/2026:20:16:06 +0000] \"- - HTTP/1.1\" - - \"-\" \"-\" \"-\"\n");
}
END_TEST

static wr_ctx_t *hostile_ctx(wr_al_conf_t *conf)
{
    wr_ctx_t *c = http_ctx(conf);

    fake_set_str(c, WR_KEY_PATH, 0, "/a\"b\\c\n<script>alert(1)</script>");
    fake_set_str(c, WR_KEY_TOKEN_ID, 0, "bob\" evil");
    fake_set_str(c, WR_KEY_ERROR, 0, "tab\there\r\x01\x7f caf\xc3\xa9");
    fake_add_header(c, WR_REQUEST, "X-Unused", "x");
    return c;
}

START_TEST(test_access_log__json_escaping)
{
    wr_al_conf_t *conf = start("format: json\n");

    wr_plugin.log(hostile_ctx(conf));
    stop(conf);
    ck_assert_str_eq(slurp(wr_test_path),
                     "{\"time\":\"2026-11-30T20:16:05.123Z\",\"client\":\"203.0.113.7\","
                     "\"host\":\"app.example.com\",\"method\":\"GET\","
                     "\"path\":\"/a\\\"b\\\\c\\n<script>alert(1)</script>\",\"status\":200,"
                     "\"bytes_in\":0,\"bytes_out\":5120,\"duration_ms\":12.345,\"tunnel\":\"web\","
                     "\"session\":7,\"stream\":3,\"type\":\"http\","
                     "\"traceparent\":\"" WR_T_TRACE "\","
                     "\"error\":\"tab\\there\\r\\u0001\\u007f caf\xc3\xa9\","
                     "\"token_id\":\"bob\\\" evil\"}\n");
}
END_TEST

START_TEST(test_access_log__combined_escaping)
{
    wr_al_conf_t *conf = start("");
    wr_ctx_t *c = hostile_ctx(conf);

    fake_add_header(c, WR_REQUEST, "User-Agent", "ignored: only the first counts");
    fake_set_str(c, WR_KEY_CLIENT_IP, 0, "::1");
    wr_plugin.log(c);
    stop(conf);
    ck_assert_str_eq(slurp(wr_test_path),
                     "::1 - bob\\x22 evil [30/Nov/2026:20:16:05 +0000] "
                     "\"GET /a\\x22b\\x5Cc\\x0A<script>alert(1)</script> HTTP/1.1\" 200 5120 "
                     "\"https://example.org/\" \"curl/8.0\" \"" WR_T_TRACE "\"\n");
}
END_TEST

/* The traceparent is the request's field as it is: whatever it holds is
 * escaped like every other field. */
START_TEST(test_access_log__traceparent_escaped)
{
    wr_al_conf_t *conf = start("");
    wr_ctx_t *c = fake_ctx(WR_PHASE_LOG, conf);

    fake_set_str(c, WR_KEY_TUNNEL_TYPE, 0, "http");
    fake_set_num(c, WR_KEY_START_TIME_US, 0, WR_T0_US);
    fake_add_header(c, WR_REQUEST, "TraceParent", "x\" \"y\n");
    wr_plugin.log(c);
    stop(conf);
    ck_assert_str_eq(slurp(wr_test_path), "- - - [30/Nov/2026:20:16:05 +0000] \"- - HTTP/1.1\" - - "
                                          "\"-\" \"-\" \"x\\x22 \\x22y\\x0A\"\n");
    unlink(wr_test_path);
    conf = start("format: json\n");
    c = fake_ctx(WR_PHASE_LOG, conf);
    fake_set_str(c, WR_KEY_TUNNEL_TYPE, 0, "http");
    fake_set_num(c, WR_KEY_START_TIME_US, 0, WR_T0_US);
    fake_add_header(c, WR_REQUEST, "TraceParent", "x\" \"y\n");
    wr_plugin.log(c);
    stop(conf);
    ck_assert_ptr_nonnull(strstr(slurp(wr_test_path), ",\"traceparent\":\"x\\\" \\\"y\\n\"}\n"));
}
END_TEST

/* ---- buffering --------------------------------------------------------- */

/* Lines wait until the buffer passes 3/4 of its size; then they all go in
 * one write. */
START_TEST(test_access_log__threshold)
{
    wr_al_conf_t *conf = start("buffer: 4k\nflush: 60s\n");
    size_t line = strlen(HTTP_COMBINED), n, i;
    char *got;

    /* 4096 * 3 / 4 = 3072: the line that takes the buffer past it flushes */
    n = 3072 / line + 1;
    for (i = 1; i < n; i++) {
        wr_plugin.log(http_ctx(conf));
        ck_assert_int_eq(wr_test_writes, 0);
    }
    ck_assert_str_eq(slurp(wr_test_path), "");
    wr_plugin.log(http_ctx(conf));
    ck_assert_int_eq(wr_test_writes, 1);
    ck_assert_uint_eq(wr_test_sizes[0], n * line);
    got = slurp(wr_test_path);
    ck_assert_uint_eq(strlen(got), n * line);
    for (i = 0; i < n; i++)
        ck_assert_int_eq(memcmp(got + i * line, HTTP_COMBINED, line), 0);
    /* and the buffer starts over */
    wr_plugin.log(tcp_ctx(conf));
    ck_assert_int_eq(wr_test_writes, 1);
    stop(conf);
    ck_assert_int_eq(wr_test_writes, 2);
    ck_assert_uint_eq(wr_test_sizes[1], strlen(TCP_COMBINED));
}
END_TEST

/* A line that does not fit behind the buffered ones is written on its own,
 * after them; so is a line longer than the whole buffer. */
START_TEST(test_access_log__long_line)
{
    wr_al_conf_t *conf = start("buffer: 4k\nflush: 60s\n");
    char path[5001], expect[6000];
    wr_ctx_t *c;
    int n;

    memset(path, 'a', sizeof(path) - 1);
    path[0] = '/';
    path[sizeof(path) - 1] = '\0';
    wr_plugin.log(tcp_ctx(conf));
    ck_assert_int_eq(wr_test_writes, 0);
    c = http_ctx(conf);
    fake_set_str(c, WR_KEY_PATH, 0, path);
    wr_plugin.log(c);
    n = snprintf(expect, sizeof(expect),
                 "203.0.113.7 - alice [30/Nov/2026:20:16:05 +0000] \"GET %s HTTP/1.1\" 200 5120 "
                 "\"https://example.org/\" \"curl/8.0\" \"" WR_T_TRACE "\"\n",
                 path);
    ck_assert_int_eq(wr_test_writes, 2);
    ck_assert_uint_eq(wr_test_sizes[0], strlen(TCP_COMBINED));
    ck_assert_uint_eq(wr_test_sizes[1], (size_t)n);
    /* the buffer went back to its size */
    ck_assert_uint_eq(((wr_al_worker_t *)wr_data_get(c, WR_SCOPE_WORKER))->cap, 4096);
    stop(conf);
    ck_assert_int_eq(wr_test_writes, 2);
    ck_assert_uint_eq(strlen(slurp(wr_test_path)), strlen(TCP_COMBINED) + (size_t)n);
    ck_assert_int_eq(strncmp(slurp(wr_test_path), TCP_COMBINED, strlen(TCP_COMBINED)), 0);
    ck_assert_str_eq(slurp(wr_test_path) + strlen(TCP_COMBINED), expect);
}
END_TEST

START_TEST(test_access_log__timer_flush)
{
    wr_al_conf_t *conf = start("flush: 100ms\n");
    uint64_t t0 = fake_now_us();

    ck_assert_int_eq(fake_timers_pending(), 1);
    wr_plugin.log(http_ctx(conf));
    fake_set_now_us(t0 + 99999);
    ck_assert_int_eq(fake_run_timers(), 0);
    ck_assert_str_eq(slurp(wr_test_path), "");
    fake_set_now_us(t0 + 100000);
    ck_assert_int_eq(fake_run_timers(), 1);
    ck_assert_str_eq(slurp(wr_test_path), HTTP_COMBINED);
    ck_assert_int_eq(wr_test_writes, 1);
    /* re-armed; an idle tick writes nothing */
    ck_assert_int_eq(fake_timers_pending(), 1);
    fake_set_now_us(t0 + 200000);
    ck_assert_int_eq(fake_run_timers(), 1);
    ck_assert_int_eq(wr_test_writes, 1);
    wr_plugin.log(tcp_ctx(conf));
    fake_set_now_us(t0 + 300000);
    ck_assert_int_eq(fake_run_timers(), 1);
    ck_assert_int_eq(wr_test_writes, 2);
    ck_assert_str_eq(slurp(wr_test_path), HTTP_COMBINED TCP_COMBINED);
    stop(conf);
    ck_assert_int_eq(wr_test_writes, 2);
}
END_TEST

/* ---- reopen, errors, stderr --------------------------------------------- */

START_TEST(test_access_log__reopen)
{
    wr_al_conf_t *conf = start("flush: 100ms\n");
    uint64_t t0 = fake_now_us();
    char rotated[200], expect[256];
    struct stat st;
    wr_ctx_t *c;
    mode_t um;

    snprintf(rotated, sizeof(rotated), "%s.1", wr_test_path);
    wr_plugin.log(http_ctx(conf));
    fake_set_now_us(t0 + 100000);
    fake_run_timers();
    ck_assert_str_eq(slurp(wr_test_path), HTTP_COMBINED);

    /* logrotate moves the file; lines still go to it until asked */
    ck_assert_int_eq(rename(wr_test_path, rotated), 0);
    wr_plugin.log(http_ctx(conf));
    fake_set_now_us(t0 + 200000);
    fake_run_timers();
    ck_assert_str_eq(slurp(rotated), HTTP_COMBINED HTTP_COMBINED);
    ck_assert_int_eq(access(wr_test_path, F_OK), -1);

    /* then SIGUSR1: the count moves, the next flush opens a new file */
    c = tcp_ctx(conf);
    fake_set_num(c, WR_KEY_REOPEN_COUNT, 0, 1);
    wr_plugin.log(c);
    ck_assert_int_eq(access(wr_test_path, F_OK), -1);
    fake_set_now_us(t0 + 300000);
    fake_run_timers();
    ck_assert_str_eq(slurp(wr_test_path), TCP_COMBINED);
    ck_assert_str_eq(slurp(rotated), HTTP_COMBINED HTTP_COMBINED);
    ck_assert_int_eq(fake_log_count(), 1);
    snprintf(expect, sizeof(expect), "info reopened %s", wr_test_path);
    ck_assert_str_eq(fake_log_line(0), expect);

    /* the same count again: no second reopen */
    c = http_ctx(conf);
    fake_set_num(c, WR_KEY_REOPEN_COUNT, 0, 1);
    wr_plugin.log(c);
    stop(conf);
    ck_assert_str_eq(slurp(wr_test_path), TCP_COMBINED HTTP_COMBINED);
    ck_assert_int_eq(fake_log_count(), 1);
    /* created 0640 (less the umask), as the first one */
    um = umask(0);
    umask(um);
    ck_assert_int_eq(stat(wr_test_path, &st), 0);
    ck_assert_uint_eq(st.st_mode & 0777, 0640 & ~um);
}
END_TEST

/* A failing write drops its batch and is logged once; the plugin goes on,
 * and says so when writing works again. */
START_TEST(test_access_log__write_error)
{
    wr_al_conf_t *conf = start("flush: 100ms\n");
    uint64_t t0 = fake_now_us();
    char expect[256];

    wr_test_fail = 2;
    wr_plugin.log(http_ctx(conf));
    fake_set_now_us(t0 + 100000);
    fake_run_timers();
    wr_plugin.log(http_ctx(conf));
    fake_set_now_us(t0 + 200000);
    fake_run_timers();
    ck_assert_int_eq(wr_test_writes, 2);
    ck_assert_str_eq(slurp(wr_test_path), "");
    ck_assert_int_eq(fake_log_count(), 1);
    snprintf(expect, sizeof(expect),
             "error cannot write to %s: No space left on device; dropping lines until it works",
             wr_test_path);
    ck_assert_str_eq(fake_log_line(0), expect);

    wr_plugin.log(tcp_ctx(conf));
    fake_set_now_us(t0 + 300000);
    fake_run_timers();
    ck_assert_str_eq(slurp(wr_test_path), TCP_COMBINED);
    ck_assert_int_eq(fake_log_count(), 2);
    snprintf(expect, sizeof(expect), "info writing to %s again", wr_test_path);
    ck_assert_str_eq(fake_log_line(1), expect);
    stop(conf);
}
END_TEST

START_TEST(test_access_log__stderr)
{
    wr_al_conf_t *conf = conf_of("path: '-'\nformat: json\n");

    ck_assert_ptr_nonnull(conf);
    ck_assert_int_eq(wr_plugin.init(fake_ctx(WR_PHASE_CONFIG, conf)), WR_OK);
    ck_assert_int_eq(conf->fd, STDERR_FILENO);
    ck_assert_int_eq(wr_plugin.init_worker(fake_ctx(WR_PHASE_WORKER, conf)), WR_OK);
    wr_plugin.log(tcp_ctx(conf));
    ck_assert_uint_eq(wr_test_nstderr, 0);
    stop(conf);
    ck_assert_uint_eq(wr_test_nstderr, strlen(TCP_JSON));
    ck_assert_int_eq(memcmp(wr_test_stderr, TCP_JSON, strlen(TCP_JSON)), 0);
    /* stderr is not ours to close */
    ck_assert_int_ne(fcntl(STDERR_FILENO, F_GETFD), -1);
}
END_TEST

START_TEST(test_access_log__open_fails)
{
    char yaml[256];
    wr_al_conf_t *conf;

    snprintf(yaml, sizeof(yaml), "path: %s/missing/dir/access.log\n", wr_test_dir);
    conf = conf_of(yaml);
    ck_assert_ptr_nonnull(conf);
    ck_assert_int_eq(wr_plugin.init(fake_ctx(WR_PHASE_CONFIG, conf)), WR_ERROR);
    ck_assert_int_eq(fake_log_count(), 1);
    ck_assert_ptr_nonnull(strstr(fake_log_line(0), "error cannot open "));
    ck_assert_ptr_nonnull(strstr(fake_log_line(0), "/missing/dir/access.log: No such file"));
    wr_plugin.destroy_conf(conf);
}
END_TEST

static Suite *access_log_suite(void)
{
    Suite *s = suite_create("access_log");
    TCase *tc = tcase_create("plugins");

    tcase_add_unchecked_fixture(tc, suite_setup, suite_teardown);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_access_log__config_defaults);
    tcase_add_test(tc, test_access_log__config_errors);
    tcase_add_test(tc, test_access_log__combined_lines);
    tcase_add_test(tc, test_access_log__json_lines);
    tcase_add_test(tc, test_access_log__missing_values);
    tcase_add_test(tc, test_access_log__json_escaping);
    tcase_add_test(tc, test_access_log__combined_escaping);
    tcase_add_test(tc, test_access_log__traceparent_escaped);
    tcase_add_test(tc, test_access_log__threshold);
    tcase_add_test(tc, test_access_log__long_line);
    tcase_add_test(tc, test_access_log__timer_flush);
    tcase_add_test(tc, test_access_log__reopen);
    tcase_add_test(tc, test_access_log__write_error);
    tcase_add_test(tc, test_access_log__stderr);
    tcase_add_test(tc, test_access_log__open_fails);
    suite_add_tcase(s, tc);
    return s;
}

WR_TEST_MAIN(access_log_suite)
