/*
 * wr_dash_json: captured requests as the dashboard's JSON (docs/dashboard.md):
 * the summary of an entry (the list, events), its detail (headers and
 * bodies), and HAR 1.2 entries. Pure functions over wr_cap entries.
 */
#ifndef WR_DASH_JSON_H
#define WR_DASH_JSON_H

#include <stdint.h>

#include <event2/buffer.h>

#include "wr_cap.h"

/* The entry's summary object: id, replay_of, tunnel, time, method, host,
 * path, status, state, error, duration_ms, bytes, sizes, content_type. */
int wr_dash_json_summary(struct evbuffer *out, const wr_cap_entry_t *e);

/* The entry's detail: the summary's fields, then request and response with
 * their headers and bodies. */
int wr_dash_json_detail(struct evbuffer *out, const wr_cap_entry_t *e);

/* One HAR 1.2 entry object (log.entries[i]). */
int wr_dash_json_har_entry(struct evbuffer *out, const wr_cap_entry_t *e);

/* 1 when the entry matches the list filters: text (case-insensitive, in
 * method, host, path, tunnel or status; NULL or "": any) and status class
 * (1..5 for 1xx..5xx, 6 for failed requests, 0: any). */
int wr_dash_json_match(const wr_cap_entry_t *e, const char *text, int status_class);

#endif
