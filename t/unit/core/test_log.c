/*
 * Unit tests for core/wr_log.c. Each test logs into a file in a fresh
 * temporary directory and reads the file back.
 */
#include "wr_log.h"
#include "wr_test.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <regex.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define WR_TEST_LINE_MAX 2048

/* timestamp, pid, level, optional thread name, then the message. */
#define WR_TEST_LINE_RE                                                                            \
    "^[0-9]{4}-[0-1][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9]\\.[0-9]{3}Z "                \
    "warren\\[([0-9]+)\\] (error|warn|info|debug) (\\[([^] ]+)\\] )?(.*)$"

static char wr_test_dir[64];
static char wr_test_path[128];

static void wr_test_setup(void)
{
    snprintf(wr_test_dir, sizeof(wr_test_dir), "/tmp/wr_test_log.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(wr_test_dir));
    snprintf(wr_test_path, sizeof(wr_test_path), "%s/warren.log", wr_test_dir);
    umask(022);
}

static void wr_test_teardown(void)
{
    char p[PATH_MAX];
    DIR *d;
    struct dirent *e;

    wr_log_close();
    wr_log_set_level(WR_LOG_INFO);
    wr_log_set_thread_name(NULL);
    d = opendir(wr_test_dir);
    if (d != NULL) {
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            snprintf(p, sizeof(p), "%s/%s", wr_test_dir, e->d_name);
            unlink(p);
        }
        closedir(d);
    }
    rmdir(wr_test_dir);
}

/* Whole file as a NUL-terminated string (caller frees); "" when missing. */
static char *wr_test_slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    char *buf;
    long n;

    if (f == NULL)
        return strdup("");
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t)n + 1);
    ck_assert_ptr_nonnull(buf);
    ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static int wr_test_count_lines(const char *s)
{
    int n = 0;

    for (; *s != '\0'; s++)
        n += *s == '\n';
    return n;
}

/* Check one line (without its newline) against the format; returns the
 * message part in msg and the thread name in thread ("" when absent). */
static void wr_test_parse_line(const regex_t *re, const char *line, const char *level, char *thread,
                               size_t tsize, char *msg, size_t msize)
{
    regmatch_t m[6];
    char pid[32];
    size_t n;

    ck_assert_msg(regexec(re, line, 6, m, 0) == 0, "malformed line: '%s'", line);
    n = (size_t)(m[1].rm_eo - m[1].rm_so);
    ck_assert_uint_lt(n, sizeof(pid));
    memcpy(pid, line + m[1].rm_so, n);
    pid[n] = '\0';
    ck_assert_int_eq(atol(pid), (long)getpid());
    if (level != NULL)
        ck_assert_int_eq(strncmp(line + m[2].rm_so, level, (size_t)(m[2].rm_eo - m[2].rm_so)), 0);
    thread[0] = '\0';
    if (m[4].rm_so != -1) {
        n = (size_t)(m[4].rm_eo - m[4].rm_so);
        ck_assert_uint_lt(n, tsize);
        memcpy(thread, line + m[4].rm_so, n);
        thread[n] = '\0';
    }
    n = (size_t)(m[5].rm_eo - m[5].rm_so);
    ck_assert_uint_lt(n, msize);
    memcpy(msg, line + m[5].rm_so, n);
    msg[n] = '\0';
}

static void wr_test_regcomp(regex_t *re)
{
    ck_assert_int_eq(regcomp(re, WR_TEST_LINE_RE, REG_EXTENDED), 0);
}

START_TEST(test_log__level_parse_and_name)
{
    static const char *names[] = {"error", "warn", "info", "debug"};
    wr_log_level_t l;
    int i;

    for (i = 0; i < 4; i++) {
        ck_assert_int_eq(wr_log_level_parse(names[i], &l), 0);
        ck_assert_int_eq(l, i);
        ck_assert_str_eq(wr_log_level_name(l), names[i]);
    }
    l = WR_LOG_WARN;
    ck_assert_int_eq(wr_log_level_parse("warning", &l), -1);
    ck_assert_int_eq(wr_log_level_parse("", &l), -1);
    ck_assert_int_eq(wr_log_level_parse("INFO", &l), -1);
    ck_assert_int_eq(wr_log_level_parse("info ", &l), -1);
    ck_assert_int_eq(wr_log_level_parse(NULL, &l), -1);
    ck_assert_int_eq(l, WR_LOG_WARN);
    ck_assert_str_eq(wr_log_level_name((wr_log_level_t)7), "unknown");
    ck_assert_str_eq(wr_log_level_name((wr_log_level_t)-1), "unknown");
}
END_TEST

START_TEST(test_log__level_filter)
{
    char *s;

    ck_assert_int_eq(wr_log_open(wr_test_path, WR_LOG_WARN), 0);
    ck_assert_int_eq(wr_log_get_level(), WR_LOG_WARN);
    ck_assert(!wr_log_enabled(WR_LOG_INFO));
    ck_assert(wr_log_enabled(WR_LOG_WARN));
    wr_log_error("e1");
    wr_log_warn("w1");
    wr_log_info("i1");
    wr_log_debug("d1");
    wr_log_set_level(WR_LOG_DEBUG);
    wr_log_debug("d2");
    wr_log_set_level(WR_LOG_ERROR);
    wr_log_warn("w2");
    wr_log_error("e2");
    s = wr_test_slurp(wr_test_path);
    ck_assert_int_eq(wr_test_count_lines(s), 4);
    ck_assert_ptr_nonnull(strstr(s, " error e1\n"));
    ck_assert_ptr_nonnull(strstr(s, " warn w1\n"));
    ck_assert_ptr_nonnull(strstr(s, " debug d2\n"));
    ck_assert_ptr_nonnull(strstr(s, " error e2\n"));
    ck_assert_ptr_null(strstr(s, "i1"));
    ck_assert_ptr_null(strstr(s, "d1"));
    ck_assert_ptr_null(strstr(s, "w2"));
    free(s);
}
END_TEST

START_TEST(test_log__line_format)
{
    char thread[32], msg[WR_TEST_LINE_MAX];
    regex_t re;
    char *s, *nl;

    wr_test_regcomp(&re);
    ck_assert_int_eq(wr_log_open(wr_test_path, WR_LOG_INFO), 0);
    wr_log_info("hello %d %s", 42, "world");
    wr_log_set_thread_name("w7");
    wr_log_warn("from a worker");
    wr_log_set_thread_name("a-very-long-thread-name");
    wr_log_error("long name");
    wr_log_set_thread_name(NULL);
    wr_log_info("main again");
    s = wr_test_slurp(wr_test_path);
    ck_assert_int_eq(wr_test_count_lines(s), 4);

    nl = strtok(s, "\n");
    wr_test_parse_line(&re, nl, "info", thread, sizeof(thread), msg, sizeof(msg));
    ck_assert_str_eq(thread, "");
    ck_assert_str_eq(msg, "hello 42 world");

    nl = strtok(NULL, "\n");
    wr_test_parse_line(&re, nl, "warn", thread, sizeof(thread), msg, sizeof(msg));
    ck_assert_str_eq(thread, "w7");
    ck_assert_str_eq(msg, "from a worker");

    nl = strtok(NULL, "\n");
    wr_test_parse_line(&re, nl, "error", thread, sizeof(thread), msg, sizeof(msg));
    ck_assert_str_eq(thread, "a-very-long-thr");
    ck_assert_str_eq(msg, "long name");

    nl = strtok(NULL, "\n");
    wr_test_parse_line(&re, nl, "info", thread, sizeof(thread), msg, sizeof(msg));
    ck_assert_str_eq(thread, "");
    ck_assert_str_eq(msg, "main again");
    free(s);
    regfree(&re);
}
END_TEST

START_TEST(test_log__escapes_control_characters)
{
    char *s;

    ck_assert_int_eq(wr_log_open(wr_test_path, WR_LOG_INFO), 0);
    wr_log_info("user=%s", "bob\n2026-01-01T00:00:00.000Z warren[1] error forged");
    wr_log_info("a\x1b[31mred\x7f\tb\rc\x01 caf\xc3\xa9");
    s = wr_test_slurp(wr_test_path);
    ck_assert_int_eq(wr_test_count_lines(s), 2);
    ck_assert_ptr_nonnull(
        strstr(s, " info user=bob\\x0a2026-01-01T00:00:00.000Z warren[1] error forged\n"));
    /* Bytes from 0x80 up (UTF-8) pass through untouched. */
    ck_assert_ptr_nonnull(strstr(s, " info a\\x1b[31mred\\x7f\\x09b\\x0dc\\x01 caf\xc3\xa9\n"));
    free(s);
}
END_TEST

START_TEST(test_log__truncates_long_lines)
{
    char *big, *s, *line;
    size_t len;

    big = malloc(5000);
    ck_assert_ptr_nonnull(big);
    memset(big, 'a', 4999);
    big[4999] = '\0';
    ck_assert_int_eq(wr_log_open(wr_test_path, WR_LOG_INFO), 0);
    wr_log_info("%s", big);
    /* Escapes are 4 bytes each: the cut must not split one. */
    memset(big, '\n', 1000);
    big[1000] = '\0';
    wr_log_info("%s", big);
    wr_log_info("short");
    s = wr_test_slurp(wr_test_path);
    ck_assert_int_eq(wr_test_count_lines(s), 3);

    line = strtok(s, "\n");
    len = strlen(line);
    ck_assert_uint_le(len + 1, WR_TEST_LINE_MAX);
    ck_assert_uint_gt(len + 1, WR_TEST_LINE_MAX - 8);
    ck_assert_str_eq(line + len - 4, "a...");

    line = strtok(NULL, "\n");
    len = strlen(line);
    ck_assert_uint_le(len + 1, WR_TEST_LINE_MAX);
    ck_assert_uint_gt(len + 1, WR_TEST_LINE_MAX - 8);
    ck_assert_str_eq(line + len - 7, "\\x0a...");

    line = strtok(NULL, "\n");
    ck_assert_ptr_nonnull(strstr(line, " info short"));
    free(s);
    free(big);
}
END_TEST

/* The fd, if any, whose /proc link names path; -1 when none. */
static int wr_test_find_fd(const char *path)
{
    char link[PATH_MAX + 32], target[PATH_MAX];
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    int found = -1;
    ssize_t n;

    ck_assert_ptr_nonnull(d);
    while ((e = readdir(d)) != NULL) {
        snprintf(link, sizeof(link), "/proc/self/fd/%s", e->d_name);
        n = readlink(link, target, sizeof(target) - 1);
        if (n == -1)
            continue;
        target[n] = '\0';
        if (strcmp(target, path) == 0)
            found = atoi(e->d_name);
    }
    closedir(d);
    return found;
}

START_TEST(test_log__file_mode_and_cloexec)
{
    struct stat st;
    int fd;

    ck_assert_int_eq(wr_log_open(wr_test_path, WR_LOG_INFO), 0);
    ck_assert_int_eq(stat(wr_test_path, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0640);
    fd = wr_test_find_fd(wr_test_path);
    ck_assert_int_ge(fd, 0);
    ck_assert(fcntl(fd, F_GETFD) & FD_CLOEXEC);
    ck_assert(fcntl(fd, F_GETFL) & O_APPEND);
    wr_log_close();
    ck_assert_int_eq(wr_test_find_fd(wr_test_path), -1);
}
END_TEST

START_TEST(test_log__reopen_after_rotation)
{
    char rotated[256], *s;

    snprintf(rotated, sizeof(rotated), "%s.1", wr_test_path);
    ck_assert_int_eq(wr_log_open(wr_test_path, WR_LOG_INFO), 0);
    wr_log_info("before rotation");
    ck_assert_int_eq(rename(wr_test_path, rotated), 0);
    wr_log_info("after rename");
    ck_assert_int_eq(wr_log_reopen(), 0);
    wr_log_info("after reopen");

    s = wr_test_slurp(rotated);
    ck_assert_int_eq(wr_test_count_lines(s), 2);
    ck_assert_ptr_nonnull(strstr(s, "before rotation\n"));
    ck_assert_ptr_nonnull(strstr(s, "after rename\n"));
    free(s);
    s = wr_test_slurp(wr_test_path);
    ck_assert_int_eq(wr_test_count_lines(s), 1);
    ck_assert_ptr_nonnull(strstr(s, "after reopen\n"));
    free(s);

    /* The old file is no longer held open. */
    ck_assert_int_eq(wr_test_find_fd(rotated), -1);
    ck_assert_int_ge(wr_test_find_fd(wr_test_path), 0);
}
END_TEST

START_TEST(test_log__open_failure_keeps_target)
{
    char bad[256], *s;

    ck_assert_int_eq(wr_log_open(wr_test_path, WR_LOG_WARN), 0);
    snprintf(bad, sizeof(bad), "%s/missing/dir.log", wr_test_dir);
    errno = 0;
    ck_assert_int_eq(wr_log_open(bad, WR_LOG_DEBUG), -1);
    ck_assert_int_eq(errno, ENOENT);
    ck_assert_int_eq(wr_log_get_level(), WR_LOG_WARN);
    wr_log_warn("still here");
    s = wr_test_slurp(wr_test_path);
    ck_assert_ptr_nonnull(strstr(s, "still here\n"));
    free(s);
}
END_TEST

START_TEST(test_log__stderr_target)
{
    int saved, fd;
    char *s;

    fd = open(wr_test_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    ck_assert_int_ge(fd, 0);
    fflush(stderr);
    saved = dup(STDERR_FILENO);
    ck_assert_int_ge(saved, 0);
    ck_assert_int_eq(dup2(fd, STDERR_FILENO), STDERR_FILENO);

    ck_assert_int_eq(wr_log_open("-", WR_LOG_INFO), 0);
    wr_log_info("to stderr 1");
    ck_assert_int_eq(wr_log_open("stderr", WR_LOG_INFO), 0);
    wr_log_info("to stderr 2");
    ck_assert_int_eq(wr_log_open(NULL, WR_LOG_ERROR), 0);
    wr_log_info("filtered");
    wr_log_error("to stderr 3");
    /* Nothing to reopen on stderr. */
    ck_assert_int_eq(wr_log_reopen(), 0);

    ck_assert_int_eq(dup2(saved, STDERR_FILENO), STDERR_FILENO);
    close(saved);
    close(fd);
    s = wr_test_slurp(wr_test_path);
    ck_assert_int_eq(wr_test_count_lines(s), 3);
    ck_assert_ptr_nonnull(strstr(s, " info to stderr 1\n"));
    ck_assert_ptr_nonnull(strstr(s, " info to stderr 2\n"));
    ck_assert_ptr_nonnull(strstr(s, " error to stderr 3\n"));
    free(s);
}
END_TEST

START_TEST(test_log__preserves_errno)
{
    ck_assert_int_eq(wr_log_open(wr_test_path, WR_LOG_INFO), 0);
    errno = EPIPE;
    wr_log_info("x");
    ck_assert_int_eq(errno, EPIPE);
}
END_TEST

#define WR_TEST_THREADS 4
#define WR_TEST_LINES   1000

static void *wr_test_writer(void *arg)
{
    int id = (int)(long)arg, i;
    char name[8], pad[301];

    snprintf(name, sizeof(name), "t%d", id);
    wr_log_set_thread_name(name);
    memset(pad, 'a' + id, sizeof(pad) - 1);
    pad[sizeof(pad) - 1] = '\0';
    for (i = 0; i < WR_TEST_LINES; i++)
        wr_log_info("thread %d line %d %s", id, i, pad);
    return NULL;
}

START_TEST(test_log__threads_never_interleave)
{
    pthread_t th[WR_TEST_THREADS];
    int next[WR_TEST_THREADS] = {0};
    char thread[32], msg[WR_TEST_LINE_MAX], expect[WR_TEST_LINE_MAX], pad[301];
    regex_t re;
    char *s, *line, *save = NULL;
    int i, n = 0, id, seq;

    wr_test_regcomp(&re);
    ck_assert_int_eq(wr_log_open(wr_test_path, WR_LOG_INFO), 0);
    for (i = 0; i < WR_TEST_THREADS; i++)
        ck_assert_int_eq(pthread_create(&th[i], NULL, wr_test_writer, (void *)(long)i), 0);
    /* Rotation-style reopens while the writers run: every line must still
     * land whole in the file. */
    for (i = 0; i < 50; i++) {
        ck_assert_int_eq(wr_log_reopen(), 0);
        wr_log_set_level(WR_LOG_INFO);
        usleep(100);
    }
    for (i = 0; i < WR_TEST_THREADS; i++)
        ck_assert_int_eq(pthread_join(th[i], NULL), 0);
    wr_log_close();

    s = wr_test_slurp(wr_test_path);
    ck_assert_int_eq(wr_test_count_lines(s), WR_TEST_THREADS * WR_TEST_LINES);
    for (line = strtok_r(s, "\n", &save); line != NULL; line = strtok_r(NULL, "\n", &save)) {
        wr_test_parse_line(&re, line, "info", thread, sizeof(thread), msg, sizeof(msg));
        ck_assert_int_eq(sscanf(msg, "thread %d line %d", &id, &seq), 2);
        ck_assert(id >= 0 && id < WR_TEST_THREADS);
        /* Each thread's lines arrive whole and in order. */
        ck_assert_int_eq(seq, next[id]);
        next[id]++;
        memset(pad, 'a' + id, sizeof(pad) - 1);
        pad[sizeof(pad) - 1] = '\0';
        snprintf(expect, sizeof(expect), "thread %d line %d %s", id, seq, pad);
        ck_assert_str_eq(msg, expect);
        snprintf(expect, sizeof(expect), "t%d", id);
        ck_assert_str_eq(thread, expect);
        n++;
    }
    ck_assert_int_eq(n, WR_TEST_THREADS * WR_TEST_LINES);
    for (i = 0; i < WR_TEST_THREADS; i++)
        ck_assert_int_eq(next[i], WR_TEST_LINES);
    free(s);
    regfree(&re);
}
END_TEST

static Suite *wr_log_suite(void)
{
    Suite *s = suite_create("wr_log");
    TCase *tc = tcase_create("core");

    tcase_add_checked_fixture(tc, wr_test_setup, wr_test_teardown);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_log__level_parse_and_name);
    tcase_add_test(tc, test_log__level_filter);
    tcase_add_test(tc, test_log__line_format);
    tcase_add_test(tc, test_log__escapes_control_characters);
    tcase_add_test(tc, test_log__truncates_long_lines);
    tcase_add_test(tc, test_log__file_mode_and_cloexec);
    tcase_add_test(tc, test_log__reopen_after_rotation);
    tcase_add_test(tc, test_log__open_failure_keeps_target);
    tcase_add_test(tc, test_log__stderr_target);
    tcase_add_test(tc, test_log__preserves_errno);
    tcase_add_test(tc, test_log__threads_never_interleave);
    suite_add_tcase(s, tc);
    return s;
}

WR_TEST_MAIN(wr_log_suite)
