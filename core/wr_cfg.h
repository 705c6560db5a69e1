/*
 * wr_cfg: the runtime settings every warren process shares (worker threads,
 * log, multiplexer), read from YAML through wr_conf's schema tables. The
 * server and client configurations embed these keys at their top level.
 *
 *   workers: 0            # worker threads; 0 = one per CPU
 *   log:
 *     level: info         # error | warn | info | debug
 *     file: stderr        # or a path
 *   mux:
 *     max_frame: 65535
 *     stream_window: 256k
 *     session_budget: 16m
 *     max_streams: 4096
 *     accept_backlog: 1024
 *     send_buffer: 256k
 *     ping_interval: 10s
 *     keepalive_timeout: 30s
 */
#ifndef WR_CFG_H
#define WR_CFG_H

#include <stdint.h>

#include "wr_conf.h"
#include "wr_log.h"
#include "wr_mux.h"

typedef struct {
    int64_t workers;
    int log_level;        /* wr_log_level_t */
    const char *log_file; /* NULL or "stderr": stderr; points into the tree */
    wr_mux_config_t mux;
} wr_cfg_t;

/* Defaults: workers 0, level info, stderr, wr_mux_config_default(). */
void wr_cfg_default(wr_cfg_t *cfg);

/* The schema rows for the keys above, for embedding in a larger table (the
 * array ends with a NULL key). */
extern const wr_conf_field_t wr_cfg_fields[];

/* Apply a top-level map that holds only these keys; then cross-check the mux
 * settings. 0, or -1 with err filled (file:line:col). */
int wr_cfg_apply(const wr_conf_node_t *root, wr_cfg_t *cfg, wr_conf_err_t *err);

/* The cross-checks alone, for files that embed these keys among their own
 * (root: the file's top-level map, for error positions; may be NULL). */
int wr_cfg_check(const wr_conf_node_t *root, wr_cfg_t *cfg, wr_conf_err_t *err);

#endif
