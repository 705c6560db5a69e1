/*
 * wr_papi: config accessors, clocks and hashing of the plugin API table (see
 * wr_papi.h).
 */
#include "wr_papi.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

wr_conf_err_t wr_papi_config_err;

/* Every failed conversion lands in wr_papi_config_err; the plugin then
 * returns NULL from create_conf and the loader prints the message. */
static int wr_papi_result(int rc, const wr_conf_err_t *err)
{
    if (rc == 0)
        return WR_OK;
    wr_papi_config_err = *err;
    return WR_ERROR;
}

const wr_config_t *wr_papi_config_get(const wr_config_t *map, const char *key)
{
    if (map == NULL || key == NULL)
        return NULL;
    return WR_PAPI_CFG(wr_conf_map_get(WR_PAPI_NODE(map), key));
}

int wr_papi_config_kind(const wr_config_t *node)
{
    switch (wr_conf_node_kind(WR_PAPI_NODE(node))) {
    case WR_CONF_NODE_MAP:
        return WR_CONFIG_MAP;
    case WR_CONF_NODE_SEQ:
        return WR_CONFIG_SEQ;
    default:
        return WR_CONFIG_SCALAR;
    }
}

size_t wr_papi_config_len(const wr_config_t *node)
{
    const wr_conf_node_t *n = WR_PAPI_NODE(node);

    return wr_conf_node_kind(n) == WR_CONF_NODE_MAP ? wr_conf_map_len(n) : wr_conf_seq_len(n);
}

const char *wr_papi_config_key_at(const wr_config_t *map, size_t i)
{
    const wr_conf_node_t *k = wr_conf_map_key_at(WR_PAPI_NODE(map), i);

    return k != NULL ? wr_conf_node_scalar(k) : NULL;
}

const wr_config_t *wr_papi_config_at(const wr_config_t *node, size_t i)
{
    const wr_conf_node_t *n = WR_PAPI_NODE(node);

    if (wr_conf_node_kind(n) == WR_CONF_NODE_MAP)
        return WR_PAPI_CFG(wr_conf_map_value_at(n, i));
    return WR_PAPI_CFG(wr_conf_seq_at(n, i));
}

int wr_papi_config_str(const wr_config_t *node, const char **out)
{
    wr_conf_err_t err;

    return wr_papi_result(wr_conf_node_string(WR_PAPI_NODE(node), out, &err), &err);
}

int wr_papi_config_int(const wr_config_t *node, int64_t min, int64_t max, int64_t *out)
{
    wr_conf_err_t err;

    return wr_papi_result(wr_conf_node_int(WR_PAPI_NODE(node), min, max, out, &err), &err);
}

int wr_papi_config_bool(const wr_config_t *node, int *out)
{
    wr_conf_err_t err;

    return wr_papi_result(wr_conf_node_bool(WR_PAPI_NODE(node), out, &err), &err);
}

int wr_papi_config_size(const wr_config_t *node, uint64_t min, uint64_t max, uint64_t *out)
{
    wr_conf_err_t err;

    return wr_papi_result(wr_conf_node_size(WR_PAPI_NODE(node), min, max, out, &err), &err);
}

int wr_papi_config_duration_ms(const wr_config_t *node, uint64_t min, uint64_t max, uint64_t *out)
{
    wr_conf_err_t err;

    return wr_papi_result(wr_conf_node_duration_ms(WR_PAPI_NODE(node), min, max, out, &err), &err);
}

int wr_papi_config_keys(const wr_config_t *map, const char *const *known)
{
    const wr_conf_node_t *n = WR_PAPI_NODE(map);
    wr_conf_err_t err;
    size_t i, j;

    if (wr_conf_node_expect(n, WR_CONF_NODE_MAP, &err) != 0)
        return wr_papi_result(-1, &err);
    for (i = 0; i < wr_conf_map_len(n); i++) {
        const wr_conf_node_t *k = wr_conf_map_key_at(n, i);
        const char *name = wr_conf_node_scalar(k);

        for (j = 0; known[j] != NULL; j++)
            if (strcmp(known[j], name) == 0)
                break;
        if (known[j] == NULL) {
            wr_conf_node_error(&err, k, "unknown key '%s'", name);
            return wr_papi_result(-1, &err);
        }
    }
    return WR_OK;
}

int wr_papi_config_errorv(const wr_config_t *node, const char *fmt, va_list ap)
{
    char msg[400];

    vsnprintf(msg, sizeof(msg), fmt, ap);
    wr_conf_node_error(&wr_papi_config_err, WR_PAPI_NODE(node), "%s", msg);
    return WR_ERROR;
}

uint64_t wr_papi_now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

uint64_t wr_papi_time_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

int wr_sha256_digest(const void *data, size_t len, unsigned char out[32])
{
    unsigned int n = 32;

    return EVP_Digest(data, len, out, &n, EVP_sha256(), NULL) == 1 && n == 32 ? 0 : -1;
}

void wr_papi_sha256(const void *data, size_t len, unsigned char out[32])
{
    if (wr_sha256_digest(data, len, out) != 0)
        memset(out, 0, 32);
}

int wr_papi_equal_ct(const void *a, const void *b, size_t len)
{
    return CRYPTO_memcmp(a, b, len) == 0;
}
