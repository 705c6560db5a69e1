/*
 * Unit tests for core/wr_plugin.c: the loader's checks and refusals, with
 * their messages, and the order hooks run in. The plugins are the
 * variants of t/unit/core/fixtures/fix_plugin.c that make builds next to
 * this test (fix_ok.so, fix_magic.so...); each test copies the ones it
 * needs into a directory of its own with the mode it wants.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "wr_conf.h"
#include "wr_plugin.h"
#include "wr_test.h"

static char t_dir[64];
static wr_conf_t *t_conf;

static void setup(void)
{
    snprintf(t_dir, sizeof(t_dir), "/tmp/warren-plugin-test.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(t_dir));
    t_conf = NULL;
}

static void teardown(void)
{
    char cmd[128];

    wr_conf_free(t_conf);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", t_dir);
    ck_assert_int_eq(system(cmd), 0);
}

/* Copy fixture NAME (fix_NAME.so, beside this test) to DIR/AS with mode. */
static void fixture(const char *name, const char *as, mode_t mode)
{
    char src[256], dst[256], buf[8192];
    FILE *in, *out;
    size_t n;

    snprintf(src, sizeof(src), "%s/t/unit/core/fix_%s.so",
             getenv("WR_TOP") ? getenv("WR_TOP") : ".", name);
    snprintf(dst, sizeof(dst), "%s/%s", t_dir, as);
    in = fopen(src, "rb");
    ck_assert_msg(in != NULL, "cannot open %s (run from the top of the tree, or set WR_TOP)", src);
    out = fopen(dst, "wb");
    ck_assert_ptr_nonnull(out);
    while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
        ck_assert_uint_eq(fwrite(buf, 1, n, out), n);
    fclose(in);
    fclose(out);
    ck_assert_int_eq(chmod(dst, mode), 0);
}

/* Load the plugins: list of yaml (with %s standing for the directory). */
static wr_plugins_t *load(const char *yaml, wr_conf_err_t *err)
{
    char text[1024];

    snprintf(text, sizeof(text), yaml, t_dir, t_dir, t_dir);
    memset(err, 0, sizeof(*err));
    wr_conf_free(t_conf);
    t_conf = wr_conf_load_string("<test>", text, strlen(text), err);
    ck_assert_msg(t_conf != NULL, "YAML: %s", err->msg);
    return wr_plugins_load(wr_conf_map_get(wr_conf_root(t_conf), "plugins"), WR_SIDE_SERVER, 2,
                           err);
}

static void refused(const char *variant, mode_t mode, const char *message)
{
    wr_conf_err_t err;

    fixture(variant, "p.so", mode);
    ck_assert_ptr_null(load("plugins:\n  - path: %s/p.so\n", &err));
    ck_assert_msg(strncmp(err.msg, "<test>:2:11: ", 13) == 0, "position: %s", err.msg);
    ck_assert_msg(strstr(err.msg, message) != NULL, "expected '%s' in: %s", message, err.msg);
    ck_assert_msg(strstr(err.msg, "/p.so") != NULL, "the file is not named: %s", err.msg);
}

START_TEST(test_plugin__ok)
{
    wr_conf_err_t err;
    wr_plugins_t *ps;

    fixture("ok", "p.so", 0755);
    ps = load("plugins:\n  - path: %s/p.so\n", &err);
    ck_assert_msg(ps != NULL, "%s", err.msg);
    ck_assert_uint_eq(wr_plugins_count(ps), 1);
    ck_assert(wr_plugins_has(ps, WR_PHASE_LOG));
    ck_assert(wr_plugins_has(ps, WR_PHASE_STREAM_CLOSE));
    ck_assert(!wr_plugins_has(ps, WR_PHASE_REQUEST_HEADERS));
    wr_plugins_free(ps);
}
END_TEST

START_TEST(test_plugin__bad_magic)
{
    refused("magic", 0755, "bad magic 0xdeadbeef (not a warren plugin?)");
}
END_TEST

START_TEST(test_plugin__major)
{
    char want[128];

    snprintf(want, sizeof(want), "built for plugin ABI %d.%d, this warren has %d.%d (major",
             WR_ABI_MAJOR + 1, WR_ABI_MINOR, WR_ABI_MAJOR, WR_ABI_MINOR);
    refused("major", 0755, want);
}
END_TEST

START_TEST(test_plugin__minor_too_new)
{
    char want[160];

    snprintf(want, sizeof(want),
             "built for plugin ABI %d.%d, this warren has %d.%d (the plugin needs a newer warren)",
             WR_ABI_MAJOR, WR_ABI_MINOR + 1, WR_ABI_MAJOR, WR_ABI_MINOR);
    refused("minor", 0755, want);
}
END_TEST

START_TEST(test_plugin__flags)
{
    refused("flags", 0755, "descriptor flags 0x4 unknown to this warren");
}
END_TEST

START_TEST(test_plugin__missing_symbol)
{
    refused("nosym", 0755, "no wr_plugin descriptor (not a warren plugin?)");
}
END_TEST

START_TEST(test_plugin__writable)
{
    refused("ok", 0775, "writable by group or others (mode 775); refusing to load it");
    refused("ok", 0757, "writable by group or others (mode 757)");
}
END_TEST

/* A directory anyone may write to: another file could be put in place. */
START_TEST(test_plugin__writable_directory)
{
    wr_conf_err_t err;
    wr_plugins_t *ps;

    fixture("ok", "p.so", 0755);
    ck_assert_int_eq(chmod(t_dir, 0777), 0);
    ck_assert_ptr_null(load("plugins:\n  - path: %s/p.so\n", &err));
    ck_assert_msg(strstr(err.msg, "is writable by group or others (mode 777): anyone could put "
                                  "another file there") != NULL,
                  "%s", err.msg);
    /* /tmp-like (sticky): only a file's owner may replace it */
    ck_assert_int_eq(chmod(t_dir, 01777), 0);
    ps = load("plugins:\n  - path: %s/p.so\n", &err);
    ck_assert_msg(ps != NULL, "%s", err.msg);
    wr_plugins_free(ps);
    ck_assert_int_eq(chmod(t_dir, 0700), 0);
}
END_TEST

START_TEST(test_plugin__missing_file)
{
    wr_conf_err_t err;

    ck_assert_ptr_null(load("plugins:\n  - path: %s/none.so\n", &err));
    ck_assert_msg(strstr(err.msg, "<test>:2:11: ") == err.msg, "%s", err.msg);
    ck_assert_msg(strstr(err.msg, "none.so: No such file or directory") != NULL, "%s", err.msg);
}
END_TEST

START_TEST(test_plugin__duplicate_id)
{
    wr_conf_err_t err;

    fixture("ok", "p.so", 0755);
    ck_assert_ptr_null(load("plugins:\n  - path: %s/p.so\n  - path: %s/p.so\n", &err));
    ck_assert_msg(strstr(err.msg, "<test>:3:5: duplicate plugin id 'fix'") == err.msg, "%s",
                  err.msg);
}
END_TEST

START_TEST(test_plugin__bad_entries)
{
    wr_conf_err_t err;

    fixture("ok", "p.so", 0755);
    ck_assert_ptr_null(load("plugins:\n  - path: %s/p.so\n    plugin: p\n", &err));
    ck_assert_msg(strstr(err.msg, "needs exactly one of 'plugin' or 'path'") != NULL, "%s",
                  err.msg);
    ck_assert_ptr_null(load("plugins:\n  - path: %s/p.so\n    priority: 3\n", &err));
    ck_assert_msg(strstr(err.msg, "<test>:3:5: unknown key 'priority'") == err.msg, "%s", err.msg);
    ck_assert_ptr_null(load("plugins:\n  - path: %s/p.so\n    on_error: ignore\n", &err));
    ck_assert_msg(strstr(err.msg, "<test>:3:15: ") == err.msg, "%s", err.msg);
    ck_assert_ptr_null(load("plugins:\n  - plugin: ../p\n", &err));
    ck_assert_msg(strstr(err.msg, "'plugin' is a name") != NULL, "%s", err.msg);
}
END_TEST

/* Two instances of one .so: list order for log, reverse for stream_close. */
START_TEST(test_plugin__order)
{
    wr_conf_err_t err;
    wr_plugins_t *ps;
    wr_ctx_t ctx;
    char path[256];
    void *dl;
    const char *trace;

    fixture("ok", "p.so", 0755);
    ps = load("plugins:\n  - path: %s/p.so\n    id: a\n  - path: %s/p.so\n    id: b\n", &err);
    ck_assert_msg(ps != NULL, "%s", err.msg);
    ck_assert_uint_eq(wr_plugins_count(ps), 2);
    snprintf(path, sizeof(path), "%s/p.so", t_dir);
    dl = dlopen(path, RTLD_NOW | RTLD_LOCAL); /* the same object, one more reference */
    ck_assert_ptr_nonnull(dl);
    trace = dlsym(dl, "fix_trace");
    ck_assert_ptr_nonnull(trace);
    wr_ctx_init(&ctx, ps, NULL, NULL, 0);
    wr_plugins_notify(&ctx, WR_PHASE_LOG);
    wr_plugins_notify(&ctx, WR_PHASE_STREAM_CLOSE);
    ck_assert_str_eq(trace, "log:a log:b close:b close:a ");
    dlclose(dl);
    wr_plugins_free(ps);
}
END_TEST

static Suite *plugin_suite(void)
{
    Suite *s = suite_create("plugin");
    TCase *tc = tcase_create("loader");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_plugin__ok);
    tcase_add_test(tc, test_plugin__bad_magic);
    tcase_add_test(tc, test_plugin__major);
    tcase_add_test(tc, test_plugin__minor_too_new);
    tcase_add_test(tc, test_plugin__flags);
    tcase_add_test(tc, test_plugin__missing_symbol);
    tcase_add_test(tc, test_plugin__writable);
    tcase_add_test(tc, test_plugin__writable_directory);
    tcase_add_test(tc, test_plugin__missing_file);
    tcase_add_test(tc, test_plugin__duplicate_id);
    tcase_add_test(tc, test_plugin__bad_entries);
    tcase_add_test(tc, test_plugin__order);
    suite_add_tcase(s, tc);
    return s;
}

WR_TEST_MAIN(plugin_suite)
