/*
 * wr_papi: the parts of the plugin API table (wr_api_t) that need no
 * session, stream or request: config accessors over wr_conf's tree, clocks
 * and hashing. wr_plugin builds the table from these and its own context
 * functions; the unit-test fake API reuses them, so that a plugin's config
 * is read in tests exactly as in warren.
 *
 * Config errors go to one report (wr_papi_config_err), written on the main
 * thread while plugins' create_conf run; the loader prints it.
 */
#ifndef WR_PAPI_H
#define WR_PAPI_H

#define WR_CORE 1
#include <warren/plugin.h>

#include "wr_conf.h"

/* The last config error a plugin reported (msg "" when none). Main thread. */
extern wr_conf_err_t wr_papi_config_err;

/* wr_config_t is a wr_conf_node_t seen from outside. */
#define WR_PAPI_NODE(c) ((const wr_conf_node_t *)(const void *)(c))
#define WR_PAPI_CFG(n)  ((const wr_config_t *)(const void *)(n))

const wr_config_t *wr_papi_config_get(const wr_config_t *map, const char *key);
int wr_papi_config_kind(const wr_config_t *node);
size_t wr_papi_config_len(const wr_config_t *node);
const char *wr_papi_config_key_at(const wr_config_t *map, size_t i);
const wr_config_t *wr_papi_config_at(const wr_config_t *node, size_t i);
int wr_papi_config_str(const wr_config_t *node, const char **out);
int wr_papi_config_int(const wr_config_t *node, int64_t min, int64_t max, int64_t *out);
int wr_papi_config_bool(const wr_config_t *node, int *out);
int wr_papi_config_size(const wr_config_t *node, uint64_t min, uint64_t max, uint64_t *out);
int wr_papi_config_duration_ms(const wr_config_t *node, uint64_t min, uint64_t max, uint64_t *out);
int wr_papi_config_keys(const wr_config_t *map, const char *const *known);
int wr_papi_config_errorv(const wr_config_t *node, const char *fmt, va_list ap);

/* The API table's entries that are the same in warren and in the unit
 * tests' fake table, as designated initialisers. */
#define WR_PAPI_TABLE_COMMON                                                                       \
    .config_get = wr_papi_config_get, .config_kind = wr_papi_config_kind,                          \
    .config_len = wr_papi_config_len, .config_key_at = wr_papi_config_key_at,                      \
    .config_at = wr_papi_config_at, .config_str = wr_papi_config_str,                              \
    .config_int = wr_papi_config_int, .config_bool = wr_papi_config_bool,                          \
    .config_size = wr_papi_config_size, .config_duration_ms = wr_papi_config_duration_ms,          \
    .config_keys = wr_papi_config_keys, .config_errorv = wr_papi_config_errorv,                    \
    .sha256 = wr_papi_sha256, .equal_ct = wr_papi_equal_ct

/* Clocks and hashing: the plugin API's now_us, time_us, sha256 and
 * equal_ct, and the core's and modules' own, so that a duration or a
 * digest means the same everywhere. Thread-safe; they own no memory. */

/* Microseconds of CLOCK_MONOTONIC: for durations, not for dates. */
uint64_t wr_papi_now_us(void);

/* Microseconds since the Unix epoch (CLOCK_REALTIME): for dates. */
uint64_t wr_papi_time_us(void);

/* The SHA-256 of len bytes at data into out (32 zero bytes when OpenSSL
 * fails: out of memory). */
void wr_papi_sha256(const void *data, size_t len, unsigned char out[32]);

/* The same, for the core's and modules' own checks: 0, or -1 when OpenSSL
 * failed (out is then undefined). A token check takes -1 as "no match":
 * two digests that both failed must not compare equal. */
int wr_sha256_digest(const void *data, size_t len, unsigned char out[32]);

/* 1 when the len bytes at a and b are equal, 0 when not, in a time that
 * depends on len only (for secrets and their digests). */
int wr_papi_equal_ct(const void *a, const void *b, size_t len);

#endif
