/*
 * wr_cfg: schema and defaults of the shared runtime settings (wr_cfg.h).
 */
#include "wr_cfg.h"

#include <stddef.h>
#include <stdio.h>

static const char *const wr_cfg_level_names[] = {"error", "warn", "info", "debug", NULL};

/* Size fields land in uint32_t members of wr_mux_config_t, so they go
 * through this handler rather than straight into a uint64_t. */
static int wr_cfg_u32_size(const wr_conf_node_t *node, void *dst, const wr_conf_field_t *f,
                           wr_conf_err_t *err)
{
    uint64_t v;

    if (wr_conf_node_size(node, (uint64_t)f->min, (uint64_t)f->max, &v, err) != 0)
        return -1;
    *(uint32_t *)dst = (uint32_t)v;
    return 0;
}

static int wr_cfg_u32_int(const wr_conf_node_t *node, void *dst, const wr_conf_field_t *f,
                          wr_conf_err_t *err)
{
    int64_t v;

    if (wr_conf_node_int(node, f->min, f->max, &v, err) != 0)
        return -1;
    *(uint32_t *)dst = (uint32_t)v;
    return 0;
}

static int wr_cfg_u32_ms(const wr_conf_node_t *node, void *dst, const wr_conf_field_t *f,
                         wr_conf_err_t *err)
{
    uint64_t v;
    const char *text = wr_conf_node_scalar(node);

    /* "0" alone (no unit) turns a timer off; anything else needs a unit. */
    if (text != NULL && text[0] == '0' && text[1] == '\0') {
        *(uint32_t *)dst = 0;
        return 0;
    }
    if (wr_conf_node_duration_ms(node, (uint64_t)f->min, (uint64_t)f->max, &v, err) != 0)
        return -1;
    *(uint32_t *)dst = (uint32_t)v;
    return 0;
}

#define WR_MUX_OFF(m) (offsetof(wr_cfg_t, mux) + offsetof(wr_mux_config_t, m))

static const wr_conf_field_t wr_cfg_log_fields[] = {
    {.key = "level",
     .kind = WR_CONF_ENUM,
     .offset = offsetof(wr_cfg_t, log_level),
     .enum_names = wr_cfg_level_names},
    {.key = "file", .kind = WR_CONF_STRING, .offset = offsetof(wr_cfg_t, log_file)},
    {.key = NULL},
};

static const wr_conf_field_t wr_cfg_mux_fields[] = {
    {.key = "max_frame",
     .kind = WR_CONF_CUSTOM,
     .offset = WR_MUX_OFF(max_frame),
     .min = 1024,
     .max = 65535,
     .handler = wr_cfg_u32_size},
    {.key = "stream_window",
     .kind = WR_CONF_CUSTOM,
     .offset = WR_MUX_OFF(stream_window),
     .min = 1024,
     .max = 0x7fffffff,
     .handler = wr_cfg_u32_size},
    {.key = "session_budget",
     .kind = WR_CONF_SIZE,
     .offset = WR_MUX_OFF(session_budget),
     .min = 1024,
     .max = INT64_C(1) << 40},
    {.key = "max_streams",
     .kind = WR_CONF_CUSTOM,
     .offset = WR_MUX_OFF(max_streams),
     .min = 1,
     .max = 1000000,
     .handler = wr_cfg_u32_int},
    {.key = "accept_backlog",
     .kind = WR_CONF_CUSTOM,
     .offset = WR_MUX_OFF(accept_backlog),
     .min = 1,
     .max = 1000000,
     .handler = wr_cfg_u32_int},
    {.key = "send_buffer",
     .kind = WR_CONF_CUSTOM,
     .offset = WR_MUX_OFF(send_buffer),
     .min = 1024,
     .max = 0x7fffffff,
     .handler = wr_cfg_u32_size},
    {.key = "ping_interval",
     .kind = WR_CONF_CUSTOM,
     .offset = WR_MUX_OFF(ping_interval_ms),
     .min = 10,
     .max = 3600000,
     .handler = wr_cfg_u32_ms},
    {.key = "keepalive_timeout",
     .kind = WR_CONF_CUSTOM,
     .offset = WR_MUX_OFF(keepalive_timeout_ms),
     .min = 10,
     .max = 3600000,
     .handler = wr_cfg_u32_ms},
    {.key = NULL},
};

const wr_conf_field_t wr_cfg_fields[] = {
    {.key = "workers",
     .kind = WR_CONF_INT,
     .offset = offsetof(wr_cfg_t, workers),
     .min = 0,
     .max = 64},
    {.key = "log", .kind = WR_CONF_MAP, .offset = 0, .children = wr_cfg_log_fields},
    {.key = "mux", .kind = WR_CONF_MAP, .offset = 0, .children = wr_cfg_mux_fields},
    {.key = NULL},
};

void wr_cfg_default(wr_cfg_t *cfg)
{
    cfg->workers = 0;
    cfg->log_level = WR_LOG_INFO;
    cfg->log_file = NULL;
    wr_mux_config_default(&cfg->mux);
}

int wr_cfg_apply(const wr_conf_node_t *root, wr_cfg_t *cfg, wr_conf_err_t *err)
{
    if (wr_conf_apply(root, wr_cfg_fields, cfg, err) != 0)
        return -1;
    return wr_cfg_check(root, cfg, err);
}

int wr_cfg_check(const wr_conf_node_t *root, wr_cfg_t *cfg, wr_conf_err_t *err)
{
    const wr_conf_node_t *mux;
    char why[160];

    if (wr_mux_config_check(&cfg->mux, why, sizeof(why)) != 0) {
        mux = root ? wr_conf_map_get(root, "mux") : NULL;
        if (mux != NULL)
            return wr_conf_node_error(err, mux, "bad mux settings: %s", why);
        snprintf(err->msg, sizeof(err->msg), "bad mux settings: %s", why);
        return -1;
    }
    return 0;
}
