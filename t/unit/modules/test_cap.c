/* Unit tests for modules/wr_cap.c: the dashboard's bounded capture store. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wr_cap.h"
#include "wr_http.h"
#include "wr_test.h"

/* A parsed head (request or response) from text; the parser is kept in
 * *pp for the head's lifetime. */
static const wr_http_head_t *head_of(wr_http_parser_t **pp, int response, const char *text)
{
    struct evbuffer *in = evbuffer_new();
    wr_http_parser_t *p = wr_http_parser_new(response, 0);

    ck_assert_ptr_nonnull(in);
    ck_assert_ptr_nonnull(p);
    evbuffer_add(in, text, strlen(text));
    ck_assert_int_eq(wr_http_read_head(p, in), WR_HTTP_HEAD);
    evbuffer_free(in);
    *pp = p;
    return wr_http_parser_head(p);
}

/* Feed the body bytes at data to e in pieces of `piece` bytes. */
static void feed(wr_cap_entry_t *e, int dir, const void *data, size_t len, size_t piece)
{
    struct evbuffer *b = evbuffer_new();

    for (size_t off = 0; off < len; off += piece) {
        size_t n = len - off < piece ? len - off : piece;
        /* two adds, so that a piece may span evbuffer chains */
        evbuffer_add(b, (const char *)data + off, n / 2);
        evbuffer_add(b, (const char *)data + off + n / 2, n - n / 2);
        wr_cap_body(e, dir, b, n);
        ck_assert_uint_eq(evbuffer_get_length(b), n); /* copied, never drained */
        evbuffer_drain(b, n);
    }
    evbuffer_free(b);
}

/* "GET path" with an X-Big field of n bytes of fill, into buf. */
static const char *big_head(char *buf, size_t len, const char *path, char fill, size_t n)
{
    int k = snprintf(buf, len, "GET %s HTTP/1.1\r\nHost: h\r\nX-Big: ", path);

    ck_assert_uint_lt((size_t)k + n + 5, len);
    memset(buf + k, fill, n);
    memcpy(buf + k + n, "\r\n\r\n", 5);
    return buf;
}

static int events[8];
static wr_cap_entry_t *last_event_entry;

static void listener(void *arg, wr_cap_entry_t *e, int what)
{
    events[what]++;
    last_event_entry = e;
}

START_TEST(test_cap__request_response)
{
    wr_cap_conf_t conf;
    wr_cap_t *cap;
    wr_http_parser_t *qp, *sp;
    const wr_http_head_t *q, *s;
    wr_cap_entry_t *e;
    const wr_cap_hdr_t *h;
    wr_cap_stats_t st;

    wr_cap_conf_default(&conf);
    cap = wr_cap_new(&conf);
    ck_assert_ptr_nonnull(cap);
    memset(events, 0, sizeof(events));
    wr_cap_set_listener(cap, listener, NULL);
    q = head_of(&qp, 0,
                "POST /api/x?q=1 HTTP/1.1\r\nHost: app.example.test:8080\r\n"
                "Content-Length: 5\r\nX-Test: <b>\r\n\r\n");
    e = wr_cap_request(cap, "web", "127.0.0.1:5555", q, (void *)cap);
    ck_assert_ptr_nonnull(e);
    ck_assert_int_eq(events[WR_CAP_EV_NEW], 1);
    ck_assert_ptr_eq(last_event_entry, e);
    ck_assert_ptr_eq(e->origin, cap);
    ck_assert_uint_eq(e->id, 1);
    ck_assert_str_eq(e->method, "POST");
    ck_assert_str_eq(e->host, "app.example.test:8080");
    ck_assert_str_eq(e->target, "/api/x?q=1");
    ck_assert_str_eq(e->tunnel, "web");
    ck_assert_str_eq(e->peer, "127.0.0.1:5555");
    ck_assert_int_eq(e->state, WR_CAP_LIVE);
    ck_assert_uint_eq(e->nreq_hdrs, 3);
    h = wr_cap_header(e, WR_CAP_REQ, "x-test");
    ck_assert_ptr_nonnull(h);
    ck_assert_str_eq(h->value, "<b>");
    wr_http_parser_free(qp); /* the entry keeps copies */
    feed(e, WR_CAP_REQ, "hello", 5, 5);
    s = head_of(&sp, 1,
                "HTTP/1.1 201 Created\r\nContent-Type: text/plain\r\nContent-Length: 3\r\n\r\n");
    wr_cap_response(e, s);
    wr_http_parser_free(sp);
    ck_assert_int_eq(events[WR_CAP_EV_UPDATE], 1);
    feed(e, WR_CAP_RESP, "ok\n", 3, 1);
    wr_cap_end(e, 201);
    ck_assert_int_eq(events[WR_CAP_EV_END], 1);
    ck_assert_int_eq(e->state, WR_CAP_DONE);
    ck_assert_uint_eq(e->status, 201);
    ck_assert_str_eq(e->reason, "Created");
    ck_assert_str_eq(wr_cap_header(e, WR_CAP_RESP, "Content-Type")->value, "text/plain");
    ck_assert_uint_eq(e->body[WR_CAP_REQ].len, 5);
    ck_assert_int_eq(memcmp(e->body[WR_CAP_REQ].data, "hello", 5), 0);
    ck_assert_uint_eq(e->body[WR_CAP_RESP].size, 3);
    ck_assert_int_eq(memcmp(e->body[WR_CAP_RESP].data, "ok\n", 3), 0);
    ck_assert_int_eq(e->body[WR_CAP_RESP].truncated, 0);
    ck_assert_uint_eq(e->bytes_in, 5);
    ck_assert_uint_eq(e->bytes_out, 3);
    ck_assert_ptr_eq(wr_cap_find(cap, 1), e);
    ck_assert_ptr_null(wr_cap_find(cap, 2));
    wr_cap_stats(cap, &st);
    ck_assert_uint_eq(st.entries, 1);
    ck_assert_uint_eq(st.last_id, 1);
    ck_assert_uint_gt(st.bytes, 0);
    wr_cap_clear(cap);
    ck_assert_int_eq(events[WR_CAP_EV_CLEAR], 1);
    wr_cap_stats(cap, &st);
    ck_assert_uint_eq(st.entries, 0);
    ck_assert_uint_eq(st.bytes, 0);
    wr_cap_free(cap);
}
END_TEST

/* A body past max_body: the first max_body bytes, the real size, the flag. */
START_TEST(test_cap__body_cap)
{
    wr_cap_conf_t conf;
    wr_cap_t *cap;
    wr_http_parser_t *qp;
    wr_cap_entry_t *e;
    unsigned char data[10000];

    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = (unsigned char)(i * 7);
    wr_cap_conf_default(&conf);
    conf.max_body = 4500;
    cap = wr_cap_new(&conf);
    e = wr_cap_request(
        cap, "t", "p",
        head_of(&qp, 0, "PUT /up HTTP/1.1\r\nHost: h\r\nContent-Length: 10000\r\n\r\n"), NULL);
    wr_http_parser_free(qp);
    feed(e, WR_CAP_REQ, data, sizeof(data), 1000);
    ck_assert_uint_eq(e->body[0].len, 4500);
    ck_assert_uint_eq(e->body[0].size, 10000);
    ck_assert_uint_le(e->body[0].alloc, 4500);
    ck_assert_int_eq(e->body[0].truncated, 1);
    ck_assert_int_eq(memcmp(e->body[0].data, data, 4500), 0);
    ck_assert_uint_eq(e->bytes_in, 10000);
    wr_cap_end(e, 200);
    wr_cap_free(cap);
}
END_TEST

/* Chunked bodies are stored decoded, whatever the pieces they come in. */
START_TEST(test_cap__chunked)
{
    static const char wire[] =
        "5\r\nhello\r\n1;ext=1\r\n,\r\n0006\r\n world\r\n0\r\nX-T: 1\r\n\r\n";
    wr_cap_conf_t conf;
    wr_cap_t *cap;
    wr_http_parser_t *qp;

    wr_cap_conf_default(&conf);
    cap = wr_cap_new(&conf);
    for (size_t piece = 1; piece <= sizeof(wire); piece++) {
        wr_cap_entry_t *e = wr_cap_request(
            cap, "t", "p",
            head_of(&qp, 0, "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"),
            NULL);
        wr_http_parser_free(qp);
        feed(e, WR_CAP_REQ, wire, sizeof(wire) - 1, piece);
        ck_assert_uint_eq(e->body[0].size, 12);
        ck_assert_uint_eq(e->body[0].len, 12);
        ck_assert_int_eq(memcmp(e->body[0].data, "hello, world", 12), 0);
        ck_assert_uint_eq(e->bytes_in, sizeof(wire) - 1);
        wr_cap_end(e, 200);
    }
    wr_cap_free(cap);
}
END_TEST

/* At most max_entries are kept, the oldest dropped first. */
START_TEST(test_cap__max_entries)
{
    wr_cap_conf_t conf;
    wr_cap_t *cap;
    wr_http_parser_t *qp;
    wr_cap_stats_t st;
    uint64_t want = 10;

    wr_cap_conf_default(&conf);
    conf.max_entries = 3;
    cap = wr_cap_new(&conf);
    for (int i = 0; i < 10; i++) {
        wr_cap_entry_t *e = wr_cap_request(
            cap, "t", "p", head_of(&qp, 0, "GET / HTTP/1.1\r\nHost: h\r\n\r\n"), NULL);
        wr_http_parser_free(qp);
        ck_assert_ptr_nonnull(e);
        wr_cap_end(e, 200);
    }
    wr_cap_stats(cap, &st);
    ck_assert_uint_eq(st.entries, 3);
    ck_assert_uint_eq(st.dropped, 7);
    ck_assert_uint_eq(st.captured, 10);
    for (wr_cap_entry_t *e = wr_cap_newest(cap); e != NULL; e = wr_cap_older(e))
        ck_assert_uint_eq(e->id, want--);
    ck_assert_uint_eq(want, 7);
    ck_assert_uint_eq(wr_cap_oldest(cap)->id, 8);
    ck_assert_uint_eq(wr_cap_newer(wr_cap_oldest(cap))->id, 9);
    ck_assert_ptr_null(wr_cap_find(cap, 7));
    wr_cap_free(cap);
}
END_TEST

/* Many large bodies: the bytes held never pass max_total. */
START_TEST(test_cap__max_total)
{
    wr_cap_conf_t conf;
    wr_cap_t *cap;
    wr_http_parser_t *qp;
    wr_cap_stats_t st;
    unsigned char *data = malloc(300000);

    ck_assert_ptr_nonnull(data);
    memset(data, 'x', 300000);
    wr_cap_conf_default(&conf);
    conf.max_body = 256 * 1024;
    conf.max_total = 1024 * 1024;
    cap = wr_cap_new(&conf);
    for (int i = 0; i < 50; i++) {
        wr_cap_entry_t *e = wr_cap_request(
            cap, "t", "p",
            head_of(&qp, 0, "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 300000\r\n\r\n"), NULL);
        wr_http_parser_free(qp);
        ck_assert_ptr_nonnull(e);
        feed(e, WR_CAP_REQ, data, 300000, 16384);
        wr_cap_stats(cap, &st);
        ck_assert_uint_le(st.bytes, conf.max_total);
        ck_assert_uint_eq(e->body[0].len, 256 * 1024);
        wr_cap_end(e, 200);
    }
    wr_cap_stats(cap, &st);
    ck_assert_uint_le(st.bytes, conf.max_total);
    ck_assert_uint_ge(st.entries, 2);
    ck_assert_uint_le(st.entries, 4);
    free(data);
    wr_cap_free(cap);
}
END_TEST

/* A head larger than the whole store is not captured, and costs the
 * entries already there nothing. */
START_TEST(test_cap__head_too_large_for_the_store)
{
    wr_cap_conf_t conf;
    wr_cap_t *cap;
    wr_http_parser_t *qp;
    wr_cap_stats_t st;
    char big[8192];

    wr_cap_conf_default(&conf);
    conf.max_total = 4096;
    cap = wr_cap_new(&conf);
    for (int i = 0; i < 2; i++) {
        wr_cap_entry_t *e = wr_cap_request(
            cap, "t", "p", head_of(&qp, 0, "GET / HTTP/1.1\r\nHost: h\r\n\r\n"), NULL);
        wr_http_parser_free(qp);
        ck_assert_ptr_nonnull(e);
        wr_cap_end(e, 200);
    }
    big_head(big, sizeof(big), "/", 'b', 6000);
    ck_assert_ptr_null(wr_cap_request(cap, "t", "p", head_of(&qp, 0, big), NULL));
    wr_http_parser_free(qp);
    wr_cap_stats(cap, &st);
    ck_assert_uint_eq(st.entries, 2);
    wr_cap_free(cap);
}
END_TEST

/* A head with room enough in the store, but not beside the requests in
 * flight: even dropping every finished entry would not make room, so none
 * is dropped; once the live one has ended, the same head is captured. */
START_TEST(test_cap__head_blocked_by_live)
{
    wr_cap_conf_t conf;
    wr_cap_t *cap;
    wr_http_parser_t *qp;
    wr_cap_stats_t st;
    wr_cap_entry_t *live, *e;
    char big[8192];

    wr_cap_conf_default(&conf);
    conf.max_total = 8192;
    cap = wr_cap_new(&conf);
    for (int i = 0; i < 2; i++) {
        e = wr_cap_request(cap, "t", "p", head_of(&qp, 0, "GET / HTTP/1.1\r\nHost: h\r\n\r\n"),
                           NULL);
        wr_http_parser_free(qp);
        ck_assert_ptr_nonnull(e);
        wr_cap_end(e, 200);
    }
    live = wr_cap_request(cap, "t", "p",
                          head_of(&qp, 0, big_head(big, sizeof(big), "/live", 'l', 4500)), NULL);
    wr_http_parser_free(qp);
    ck_assert_ptr_nonnull(live);
    ck_assert_uint_gt(live->mem, 4500);
    wr_cap_stats(cap, &st);
    ck_assert_uint_eq(st.entries, 3);
    ck_assert_uint_eq(st.dropped, 0);

    /* Over 4000 bytes: fits in the store, not beside the live 4500. */
    big_head(big, sizeof(big), "/next", 'n', 4000);
    ck_assert_ptr_null(wr_cap_request(cap, "t", "p", head_of(&qp, 0, big), NULL));
    wr_http_parser_free(qp);
    wr_cap_stats(cap, &st);
    ck_assert_uint_eq(st.entries, 3);
    ck_assert_uint_eq(st.dropped, 1); /* the refused request only */
    ck_assert_uint_eq(wr_cap_oldest(cap)->id, 1);
    ck_assert_ptr_nonnull(wr_cap_find(cap, 2));

    /* The live one ends: now the finished ones make room for it. */
    wr_cap_end(live, 200);
    e = wr_cap_request(cap, "t", "p", head_of(&qp, 0, big), NULL);
    wr_http_parser_free(qp);
    ck_assert_ptr_nonnull(e);
    wr_cap_end(e, 200);
    wr_cap_stats(cap, &st);
    ck_assert_uint_le(st.bytes, conf.max_total);
    ck_assert_ptr_eq(wr_cap_newest(cap), e);
    wr_cap_free(cap);
}
END_TEST

/* Requests in flight hold their memory: with max_total taken by them,
 * new body bytes are not kept, new requests are not captured, and the cap
 * still holds. */
START_TEST(test_cap__live_hold_the_total)
{
    wr_cap_conf_t conf;
    wr_cap_t *cap;
    wr_http_parser_t *qp;
    wr_cap_stats_t st;
    wr_cap_entry_t *live[3];
    unsigned char data[100000];

    memset(data, 'y', sizeof(data));
    wr_cap_conf_default(&conf);
    conf.max_body = 100000;
    conf.max_total = 250000;
    cap = wr_cap_new(&conf);
    for (int i = 0; i < 3; i++) {
        live[i] = wr_cap_request(
            cap, "t", "p",
            head_of(&qp, 0, "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 100000\r\n\r\n"), NULL);
        wr_http_parser_free(qp);
        ck_assert_ptr_nonnull(live[i]);
        feed(live[i], WR_CAP_REQ, data, sizeof(data), 7000);
        wr_cap_stats(cap, &st);
        ck_assert_uint_le(st.bytes, conf.max_total);
    }
    ck_assert_uint_eq(live[0]->body[0].len, 100000);
    ck_assert_int_eq(live[0]->body[0].truncated, 0);
    ck_assert_int_eq(live[2]->body[0].truncated, 1);
    ck_assert_uint_lt(live[2]->body[0].len, 100000);
    ck_assert_uint_eq(live[2]->body[0].size, 100000);
    /* No room for even a head: the request goes on uncaptured. */
    ck_assert_ptr_null(
        wr_cap_request(cap, "t", "p", head_of(&qp, 0, "GET / HTTP/1.1\r\nHost: h\r\n\r\n"), NULL));
    wr_http_parser_free(qp);
    /* Clearing leaves the live ones to their requests... */
    wr_cap_clear(cap);
    wr_cap_stats(cap, &st);
    ck_assert_uint_eq(st.entries, 0);
    ck_assert_uint_gt(st.bytes, 0);
    /* ...which may still add to them, and end them. */
    feed(live[1], WR_CAP_RESP, "abc", 3, 3);
    for (int i = 0; i < 3; i++)
        wr_cap_end(live[i], 200);
    wr_cap_stats(cap, &st);
    ck_assert_uint_eq(st.bytes, 0);
    wr_cap_free(cap);
}
END_TEST

/* The store freed with a request in flight (the dashboard stops first):
 * the live entry stays the request's and keeps recording, the listener
 * (the dashboard, gone) hears nothing more, and the store holds on to
 * exactly that entry until its end frees both (ASan checks the frees). */
START_TEST(test_cap__free_while_live)
{
    wr_cap_t *cap = wr_cap_new(NULL);
    wr_http_parser_t *qp;
    wr_cap_entry_t *e;
    wr_cap_stats_t st;
    void *reuse;
    int heard;

    memset(events, 0, sizeof(events));
    wr_cap_set_listener(cap, listener, NULL);
    e = wr_cap_request(cap, "t", "p", head_of(&qp, 0, "GET / HTTP/1.1\r\nHost: h\r\n\r\n"), NULL);
    wr_http_parser_free(qp);
    ck_assert_ptr_nonnull(e);
    heard = events[WR_CAP_EV_NEW];
    ck_assert_int_eq(heard, 1);
    wr_cap_free(cap);

    /* Had the entry been freed with the store, this block of its size
     * would most likely be its memory, scribbled over. */
    reuse = malloc(sizeof(*e));
    ck_assert_ptr_nonnull(reuse);
    memset(reuse, 0x5a, sizeof(*e));
    ck_assert_uint_eq(e->id, 1);
    ck_assert_int_eq(e->state, WR_CAP_LIVE);
    ck_assert_int_eq(e->listed, 0);
    ck_assert_str_eq(e->method, "GET");
    wr_cap_stats(cap, &st);
    ck_assert_uint_eq(st.entries, 0);
    ck_assert_uint_eq(st.bytes, e->mem);

    feed(e, WR_CAP_RESP, "late", 4, 4);
    ck_assert_uint_eq(e->body[WR_CAP_RESP].len, 4);
    ck_assert_int_eq(memcmp(e->body[WR_CAP_RESP].data, "late", 4), 0);
    wr_cap_error(e, "the service closed the connection");
    ck_assert_str_eq(e->error, "the service closed the connection");
    ck_assert_int_eq(e->state, WR_CAP_LIVE);
    wr_cap_end(e, 502);
    ck_assert_int_eq(events[WR_CAP_EV_NEW] + events[WR_CAP_EV_UPDATE] + events[WR_CAP_EV_END] +
                         events[WR_CAP_EV_CLEAR],
                     heard);
    free(reuse);
}
END_TEST

/* Off: nothing captured, and every call takes NULL. */
START_TEST(test_cap__disabled)
{
    wr_cap_t *cap = wr_cap_new(NULL);
    wr_http_parser_t *qp;
    wr_cap_entry_t *e;

    wr_cap_enable(cap, 0);
    ck_assert_int_eq(wr_cap_enabled(cap), 0);
    e = wr_cap_request(cap, "t", "p", head_of(&qp, 0, "GET / HTTP/1.1\r\nHost: h\r\n\r\n"), NULL);
    wr_http_parser_free(qp);
    ck_assert_ptr_null(e);
    wr_cap_body(NULL, WR_CAP_REQ, NULL, 10);
    wr_cap_response(NULL, NULL);
    wr_cap_error(NULL, "x");
    wr_cap_end(NULL, 200);
    wr_cap_enable(cap, 1);
    e = wr_cap_request(cap, "t", "p", head_of(&qp, 0, "GET / HTTP/1.1\r\nHost: h\r\n\r\n"), NULL);
    wr_http_parser_free(qp);
    ck_assert_ptr_nonnull(e);
    wr_cap_error(e, "first");
    wr_cap_error(e, "second");
    wr_cap_end(e, 0);
    ck_assert_int_eq(e->state, WR_CAP_ERROR);
    ck_assert_str_eq(e->error, "first");
    wr_cap_free(cap);
}
END_TEST

static Suite *cap_suite(void)
{
    Suite *s = suite_create("cap");
    TCase *tc = tcase_create("modules");

    tcase_add_test(tc, test_cap__request_response);
    tcase_add_test(tc, test_cap__body_cap);
    tcase_add_test(tc, test_cap__chunked);
    tcase_add_test(tc, test_cap__max_entries);
    tcase_add_test(tc, test_cap__max_total);
    tcase_add_test(tc, test_cap__head_too_large_for_the_store);
    tcase_add_test(tc, test_cap__head_blocked_by_live);
    tcase_add_test(tc, test_cap__live_hold_the_total);
    tcase_add_test(tc, test_cap__free_while_live);
    tcase_add_test(tc, test_cap__disabled);
    suite_add_tcase(s, tc);
    return s;
}

WR_TEST_MAIN(cap_suite)
