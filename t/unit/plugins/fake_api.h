/*
 * fake_api: a wr_api_t with no warren behind it, for unit tests of plugins.
 * A test compiles the plugin's source into its own binary, binds it with
 * wr_plugin.bind(&fake_api), then builds contexts by hand, runs hooks and
 * reads back what the plugin did (verdict details, headers, logs, config
 * errors). The clock is the test's: it moves only with fake_set_now_us().
 *
 * Everything allocated here is freed by fake_reset().
 */
#ifndef FAKE_API_H
#define FAKE_API_H

#include <stdint.h>

#include <warren/plugin.h>

extern const wr_api_t fake_api;

/* Free every ctx, config, timer and log line; worker slots are cleaned up
 * (their cleanup callbacks run). The clock goes back to 1,000,000,000 us. */
void fake_reset(void);

/* A new context in phase (WR_PHASE_*), for instance conf (what wr_conf()
 * returns), on worker 0 of 1, server side, with its own session and stream
 * slots. */
wr_ctx_t *fake_ctx(int phase, void *conf);
/* Move ctx to another phase (same session, stream and values), as warren
 * does for one request going from request_headers to response_headers to
 * log. */
void fake_ctx_phase(wr_ctx_t *ctx, int phase);
/* A new ctx sharing ctx's session slots (a second stream of the session). */
wr_ctx_t *fake_ctx_stream(wr_ctx_t *ctx, int phase);
/* End the stream / session scope: runs the slot cleanups. */
void fake_end_stream(wr_ctx_t *ctx);
void fake_end_session(wr_ctx_t *ctx);

/* Values wr_str()/wr_num() return (i: tunnel index in session_auth, else
 * 0). Strings are copied. */
void fake_set_str(wr_ctx_t *ctx, int key, int i, const char *value);
void fake_set_num(wr_ctx_t *ctx, int key, int i, int64_t value);
/* Add a header field to the request or response the ctx sees. */
void fake_add_header(wr_ctx_t *ctx, int which, const char *name, const char *value);

/* What the plugin did: status/reason of its last wr_reject() (0/NULL if
 * none); the verdict given to wr_resume() (-100 if none); the string it set
 * for WR_KEY_TOKEN_ID (through wr_set_str; also what wr_str then returns). */
int fake_reject_status(const wr_ctx_t *ctx);
const char *fake_reject_reason(const wr_ctx_t *ctx);
int fake_resumed(const wr_ctx_t *ctx);

/* The clock (both wr_now_us and wr_time_us). */
void fake_set_now_us(uint64_t us);
uint64_t fake_now_us(void);

/* Run the timers due at the current fake time (in due order); returns how
 * many ran. Timers added by the callbacks wait for the next call. */
int fake_run_timers(void);
/* Timers pending. */
int fake_timers_pending(void);

/* Parse YAML text into a config tree (the value a plugin's create_conf gets
 * as `config:`). NULL on a YAML error (see fake_last_error()). */
const wr_config_t *fake_config(const char *yaml);
/* The last error reported through wr_config_*() ("<test>:3:7: ..."), or
 * "" when none since fake_reset(). */
const char *fake_last_error(void);

/* Bind plugin pl to the fake table and run its create_conf on yaml (the
 * instance's `config:`): the config, destroyed by fake_reset(), or NULL
 * when create_conf refused it (fake_last_error() says why). */
void *fake_load(const wr_plugin_t *pl, const char *yaml);

/* In a Check test: create_conf of pl must refuse yaml, with an error that
 * starts with prefix ("<test>:2:7: ") and names key. */
#define FAKE_LOAD_FAILS(pl, yaml, prefix, key)                                                     \
    do {                                                                                           \
        const char *err_ = fake_load((pl), (yaml)) == NULL ? fake_last_error() : NULL;             \
        ck_assert_msg(err_ != NULL, "create_conf accepted:\n%s", (yaml));                          \
        ck_assert_msg(strncmp(err_, (prefix), strlen(prefix)) == 0,                                \
                      "error \"%s\" does not start with %s", err_, (prefix));                      \
        ck_assert_msg(strstr(err_, (key)) != NULL, "error \"%s\" does not name %s", err_, (key));  \
    } while (0)

/* Log lines the plugin wrote with wr_log(), as "LEVEL message" ("info
 * circuit open"): how many, and the n-th (0-based; NULL past the end). */
int fake_log_count(void);
const char *fake_log_line(int n);

#endif
