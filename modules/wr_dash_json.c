/*
 * wr_dash_json: captured requests as JSON and HAR (see wr_dash_json.h).
 */
#include "wr_dash_json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <event2/http.h>

#include "wr_http.h"
#include "wr_json.h"

static const char *wr_dash_state_name(int state)
{
    return state == WR_CAP_LIVE ? "live" : state == WR_CAP_DONE ? "done" : "error";
}

static void wr_dash_ms(struct evbuffer *out, uint64_t us)
{
    evbuffer_add_printf(out, "%llu.%03u", (unsigned long long)(us / 1000u), (unsigned)(us % 1000u));
}

/* The fields of the summary, without the braces. */
static void wr_dash_summary_fields(struct evbuffer *out, const wr_cap_entry_t *e)
{
    const wr_cap_hdr_t *ct = e->resp_hdrs ? wr_cap_header(e, WR_CAP_RESP, "content-type") : NULL;
    char when[40];

    wr_json_time_text(when, sizeof(when), e->wall_us);
    evbuffer_add_printf(out, "\"id\":%llu,\"replay_of\":", (unsigned long long)e->id);
    if (e->replay_of)
        evbuffer_add_printf(out, "%llu", (unsigned long long)e->replay_of);
    else
        wr_json_lit(out, "null");
    evbuffer_add_printf(out, ",\"time\":\"%s\",\"tunnel\":", when);
    wr_json_cstr(out, e->tunnel);
    wr_json_lit(out, ",\"peer\":");
    wr_json_cstr(out, e->peer);
    wr_json_lit(out, ",\"method\":");
    wr_json_cstr(out, e->method);
    wr_json_lit(out, ",\"host\":");
    wr_json_cstr(out, e->host);
    wr_json_lit(out, ",\"path\":");
    wr_json_cstr(out, e->target);
    wr_json_lit(out, ",\"status\":");
    if (e->status)
        evbuffer_add_printf(out, "%u", e->status);
    else
        wr_json_lit(out, "null");
    evbuffer_add_printf(out, ",\"state\":\"%s\",\"error\":", wr_dash_state_name(e->state));
    wr_json_cstr(out, e->error[0] ? e->error : NULL);
    wr_json_lit(out, ",\"duration_ms\":");
    if (e->state != WR_CAP_LIVE)
        wr_dash_ms(out, e->dur_us);
    else
        wr_json_lit(out, "null");
    evbuffer_add_printf(out,
                        ",\"bytes_in\":%llu,\"bytes_out\":%llu,\"request_size\":%llu,"
                        "\"response_size\":%llu,\"content_type\":",
                        (unsigned long long)e->bytes_in, (unsigned long long)e->bytes_out,
                        (unsigned long long)e->body[WR_CAP_REQ].size,
                        (unsigned long long)e->body[WR_CAP_RESP].size);
    wr_json_cstr(out, ct ? ct->value : NULL);
}

int wr_dash_json_summary(struct evbuffer *out, const wr_cap_entry_t *e)
{
    wr_json_lit(out, "{");
    wr_dash_summary_fields(out, e);
    return wr_json_lit(out, "}");
}

/* How much of a body's kept bytes is text to show as is: all of them when
 * they are UTF-8 text (a sequence cut by truncation is left out), else -1.
 * A body with a Content-Encoding (gzip...) is never text. */
static long wr_dash_text_len(const wr_cap_entry_t *e, int dir)
{
    const wr_cap_body_t *b = &e->body[dir];
    const wr_cap_hdr_t *ce = wr_cap_header(e, dir, "content-encoding");
    size_t n = b->len;

    if (ce != NULL && strcasecmp(ce->value, "identity") != 0)
        return -1;
    if (!wr_json_is_text(b->data, n, b->truncated))
        return -1;
    /* drop a sequence cut off at the end */
    for (int k = 0; k < 3 && n > 0 && !wr_json_is_text(b->data, n, 0); k++)
        n--;
    return (long)n;
}

static void wr_dash_headers_json(struct evbuffer *out, const wr_cap_hdr_t *hs, size_t n, int har)
{
    wr_json_lit(out, "[");
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            wr_json_lit(out, ",");
        wr_json_cstr_raw(out, har ? "{\"name\":" : "[");
        wr_json_str(out, hs[i].name, hs[i].name_len);
        wr_json_cstr_raw(out, har ? ",\"value\":" : ",");
        wr_json_str(out, hs[i].value, hs[i].value_len);
        wr_json_cstr_raw(out, har ? "}" : "]");
    }
    wr_json_lit(out, "]");
}

static void wr_dash_body_json(struct evbuffer *out, const wr_cap_entry_t *e, int dir)
{
    const wr_cap_body_t *b = &e->body[dir];
    long text = wr_dash_text_len(e, dir);

    evbuffer_add_printf(out,
                        "{\"size\":%llu,\"captured\":%zu,\"truncated\":%s,\"binary\":%s,"
                        "\"encoding\":\"%s\",\"data\":",
                        (unsigned long long)b->size, b->len, b->truncated ? "true" : "false",
                        text < 0 ? "true" : "false", text < 0 ? "base64" : "utf-8");
    if (text >= 0)
        wr_json_str(out, b->data, (size_t)text);
    else
        wr_json_base64(out, b->data, b->len);
    wr_json_lit(out, "}");
}

int wr_dash_json_detail(struct evbuffer *out, const wr_cap_entry_t *e)
{
    wr_json_lit(out, "{");
    wr_dash_summary_fields(out, e);
    evbuffer_add_printf(out, ",\"http_version\":\"HTTP/%u.%u\",\"ttfb_ms\":", e->major, e->minor);
    if (e->resp_hdrs != NULL)
        wr_dash_ms(out, e->ttfb_us);
    else
        wr_json_lit(out, "null");
    wr_json_lit(out, ",\"request\":{\"headers\":");
    wr_dash_headers_json(out, e->req_hdrs, e->nreq_hdrs, 0);
    wr_json_lit(out, ",\"body\":");
    wr_dash_body_json(out, e, WR_CAP_REQ);
    wr_json_lit(out, "},\"response\":");
    if (e->resp_hdrs == NULL && e->status == 0) {
        wr_json_lit(out, "null");
    } else {
        wr_json_lit(out, "{\"status\":");
        evbuffer_add_printf(out, "%u,\"reason\":", e->status);
        wr_json_cstr(out, e->reason ? e->reason : wr_http_status_reason(e->status));
        wr_json_lit(out, ",\"headers\":");
        wr_dash_headers_json(out, e->resp_hdrs, e->nresp_hdrs, 0);
        wr_json_lit(out, ",\"body\":");
        wr_dash_body_json(out, e, WR_CAP_RESP);
        wr_json_lit(out, "}");
    }
    return wr_json_lit(out, "}");
}

/* HAR's content/postData: mimeType, text and, for binary, encoding. */
static void wr_dash_har_text(struct evbuffer *out, const wr_cap_entry_t *e, int dir)
{
    const wr_cap_body_t *b = &e->body[dir];
    const wr_cap_hdr_t *ct = wr_cap_header(e, dir, "content-type");
    long text = wr_dash_text_len(e, dir);

    wr_json_lit(out, "\"mimeType\":");
    wr_json_cstr(out, ct ? ct->value : "");
    wr_json_lit(out, ",\"text\":");
    if (text >= 0) {
        wr_json_str(out, b->data, (size_t)text);
    } else {
        wr_json_base64(out, b->data, b->len);
        wr_json_lit(out, ",\"encoding\":\"base64\"");
    }
    if (b->truncated)
        evbuffer_add_printf(out, ",\"comment\":\"truncated: %zu of %llu bytes captured\"", b->len,
                            (unsigned long long)b->size);
}

/* queryString: the target's parameters, percent-decoded. */
static void wr_dash_har_query(struct evbuffer *out, const char *target)
{
    const char *q = strchr(target, '?');
    int first = 1;

    wr_json_lit(out, "[");
    while (q != NULL && *q != '\0') {
        const char *start = q + 1, *end = strchr(start, '&'), *eq;
        size_t len = end ? (size_t)(end - start) : strlen(start);
        char *part = malloc(len + 1), *name, *value;

        q = end;
        if (part == NULL)
            break;
        memcpy(part, start, len);
        part[len] = '\0';
        if (len == 0) {
            free(part);
            continue;
        }
        eq = strchr(part, '=');
        if (eq != NULL)
            part[eq - part] = '\0';
        name = evhttp_uridecode(part, 1, NULL);
        value = evhttp_uridecode(eq ? part + (eq - part) + 1 : "", 1, NULL);
        if (name != NULL && value != NULL) {
            wr_json_cstr_raw(out, first ? "{\"name\":" : ",{\"name\":");
            wr_json_cstr(out, name);
            wr_json_lit(out, ",\"value\":");
            wr_json_cstr(out, value);
            wr_json_lit(out, "}");
            first = 0;
        }
        free(name);
        free(value);
        free(part);
    }
    wr_json_lit(out, "]");
}

int wr_dash_json_har_entry(struct evbuffer *out, const wr_cap_entry_t *e)
{
    const wr_cap_hdr_t *proto = wr_cap_header(e, WR_CAP_REQ, "x-forwarded-proto");
    const char *scheme = proto && strcmp(proto->value, "https") == 0 ? "https" : "http";
    const wr_cap_body_t *qb = &e->body[WR_CAP_REQ], *sb = &e->body[WR_CAP_RESP];
    uint64_t wait = e->resp_hdrs ? e->ttfb_us : e->dur_us;
    uint64_t receive = e->dur_us > wait ? e->dur_us - wait : 0;
    char when[40], *url;
    size_t ulen;

    wr_json_time_text(when, sizeof(when), e->wall_us);
    evbuffer_add_printf(out, "{\"startedDateTime\":\"%s\",\"time\":", when);
    wr_dash_ms(out, e->dur_us);
    wr_json_lit(out, ",\"request\":{\"method\":");
    wr_json_cstr(out, e->method);
    wr_json_lit(out, ",\"url\":");
    ulen = strlen(scheme) + strlen(e->host) + strlen(e->target) + 8;
    url = malloc(ulen);
    if (url != NULL) {
        snprintf(url, ulen, "%s://%s%s", scheme, e->host, e->target);
        wr_json_cstr(out, url);
        free(url);
    } else {
        wr_json_cstr(out, e->target);
    }
    evbuffer_add_printf(
        out, ",\"httpVersion\":\"HTTP/%u.%u\",\"cookies\":[],\"headers\":", e->major, e->minor);
    wr_dash_headers_json(out, e->req_hdrs, e->nreq_hdrs, 1);
    wr_json_lit(out, ",\"queryString\":");
    wr_dash_har_query(out, e->target);
    evbuffer_add_printf(out, ",\"headersSize\":-1,\"bodySize\":%llu", (unsigned long long)qb->size);
    if (qb->size > 0) {
        wr_json_lit(out, ",\"postData\":{");
        wr_dash_har_text(out, e, WR_CAP_REQ);
        wr_json_lit(out, "}");
    }
    evbuffer_add_printf(out, "},\"response\":{\"status\":%u,\"statusText\":", e->status);
    wr_json_cstr(out, e->reason ? e->reason : "");
    /* No response head came (the service failed): no version to tell. */
    if (e->resp_major != 0)
        evbuffer_add_printf(out, ",\"httpVersion\":\"HTTP/%u.%u\"", e->resp_major, e->resp_minor);
    else
        wr_json_lit(out, ",\"httpVersion\":\"\"");
    wr_json_lit(out, ",\"cookies\":[],\"headers\":");
    wr_dash_headers_json(out, e->resp_hdrs, e->nresp_hdrs, 1);
    evbuffer_add_printf(out, ",\"content\":{\"size\":%llu,", (unsigned long long)sb->size);
    wr_dash_har_text(out, e, WR_CAP_RESP);
    evbuffer_add_printf(out,
                        "},\"redirectURL\":\"\",\"headersSize\":-1,\"bodySize\":%llu},"
                        "\"cache\":{},\"timings\":{\"send\":0,\"wait\":",
                        (unsigned long long)sb->size);
    wr_dash_ms(out, wait);
    wr_json_lit(out, ",\"receive\":");
    wr_dash_ms(out, receive);
    evbuffer_add_printf(out, "},\"_warren\":{\"id\":%llu,\"tunnel\":", (unsigned long long)e->id);
    wr_json_cstr(out, e->tunnel);
    wr_json_lit(out, ",\"replay_of\":");
    if (e->replay_of)
        evbuffer_add_printf(out, "%llu", (unsigned long long)e->replay_of);
    else
        wr_json_lit(out, "null");
    wr_json_lit(out, ",\"error\":");
    wr_json_cstr(out, e->error[0] ? e->error : NULL);
    return wr_json_lit(out, "}}");
}

/* Case-insensitive substring. */
static int wr_dash_has(const char *hay, const char *needle)
{
    size_t n = strlen(needle);

    for (; *hay != '\0'; hay++) {
        if (strncasecmp(hay, needle, n) == 0)
            return 1;
    }
    return n == 0;
}

int wr_dash_json_match(const wr_cap_entry_t *e, const char *text, int status_class)
{
    if (status_class >= 1 && status_class <= 5 && e->status / 100 != (unsigned)status_class)
        return 0;
    if (status_class == 6 && e->state != WR_CAP_ERROR)
        return 0;
    if (text != NULL && text[0] != '\0') {
        char status[16];
        snprintf(status, sizeof(status), "%u", e->status);
        return wr_dash_has(e->method, text) || wr_dash_has(e->host, text) ||
               wr_dash_has(e->target, text) || wr_dash_has(e->tunnel, text) ||
               (e->status != 0 && wr_dash_has(status, text));
    }
    return 1;
}
