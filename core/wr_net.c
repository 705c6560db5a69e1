/*
 * wr_net: address parsing, listening and connecting (see wr_net.h).
 */
#include "wr_net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>

int wr_addr_parse(const char *text, wr_addr_t *addr, char *why, size_t whylen)
{
    char host[256];
    const char *colon, *port;
    struct addrinfo hints, *res = NULL;
    char *end;
    long pn;
    int rc;

    if (text[0] == '[') {
        const char *close = strchr(text, ']');
        if (close == NULL || close[1] != ':') {
            snprintf(why, whylen, "expected [IPV6]:PORT, got '%s'", text);
            return -1;
        }
        if ((size_t)(close - text - 1) >= sizeof(host)) {
            snprintf(why, whylen, "host too long in '%s'", text);
            return -1;
        }
        memcpy(host, text + 1, (size_t)(close - text - 1));
        host[close - text - 1] = '\0';
        port = close + 2;
    } else {
        colon = strrchr(text, ':');
        if (colon == NULL) {
            snprintf(why, whylen, "expected HOST:PORT, got '%s'", text);
            return -1;
        }
        if ((size_t)(colon - text) >= sizeof(host)) {
            snprintf(why, whylen, "host too long in '%s'", text);
            return -1;
        }
        memcpy(host, text, (size_t)(colon - text));
        host[colon - text] = '\0';
        port = colon + 1;
    }
    errno = 0;
    pn = strtol(port, &end, 10);
    if (*port == '\0' || *end != '\0' || errno != 0 || pn < 0 || pn > 65535) {
        snprintf(why, whylen, "bad port '%s' in '%s' (expected 0..65535)", port, text);
        return -1;
    }
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV | (host[0] == '\0' ? AI_PASSIVE : 0);
    rc = getaddrinfo(host[0] ? host : NULL, port, &hints, &res);
    if (rc != 0) {
        snprintf(why, whylen, "cannot resolve '%s': %s", host, gai_strerror(rc));
        return -1;
    }
    memcpy(&addr->ss, res->ai_addr, res->ai_addrlen);
    addr->len = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

const char *wr_addr_format(const wr_addr_t *addr, char *buf, size_t len)
{
    char host[INET6_ADDRSTRLEN];

    if (addr->ss.ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&addr->ss;
        inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
        snprintf(buf, len, "[%s]:%u", host, ntohs(a->sin6_port));
    } else if (addr->ss.ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)&addr->ss;
        inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
        snprintf(buf, len, "%s:%u", host, ntohs(a->sin_port));
    } else {
        snprintf(buf, len, "?");
    }
    return buf;
}

int wr_listen(wr_addr_t *addr, int backlog)
{
    int fd, one = 1, saved;

    fd = socket(addr->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd == -1)
        return -1;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == -1)
        goto failed;
    if (bind(fd, (struct sockaddr *)&addr->ss, addr->len) == -1)
        goto failed;
    if (listen(fd, backlog) == -1)
        goto failed;
    addr->len = sizeof(addr->ss);
    if (getsockname(fd, (struct sockaddr *)&addr->ss, &addr->len) == -1)
        goto failed;
    return fd;

failed:
    saved = errno;
    close(fd);
    errno = saved;
    return -1;
}

int wr_connect(const wr_addr_t *addr, int timeout_ms)
{
    int fd, saved, err = 0;
    socklen_t errlen = sizeof(err);
    struct pollfd pfd;

    fd = socket(addr->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd == -1)
        return -1;
    if (connect(fd, (const struct sockaddr *)&addr->ss, addr->len) == 0)
        return fd;
    if (errno != EINPROGRESS)
        goto failed;
    pfd.fd = fd;
    pfd.events = POLLOUT;
    for (;;) {
        int n = poll(&pfd, 1, timeout_ms);
        if (n == 1)
            break;
        if (n == 0) {
            errno = ETIMEDOUT;
            goto failed;
        }
        if (errno != EINTR)
            goto failed;
    }
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &errlen) == -1)
        goto failed;
    if (err != 0) {
        errno = err;
        goto failed;
    }
    return fd;

failed:
    saved = errno;
    close(fd);
    errno = saved;
    return -1;
}

void wr_sock_tune(int fd, int notsent_lowat)
{
    int one = 1;

    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
#ifdef TCP_NOTSENT_LOWAT
    if (notsent_lowat > 0)
        (void)setsockopt(fd, IPPROTO_TCP, TCP_NOTSENT_LOWAT, &notsent_lowat, sizeof(notsent_lowat));
#endif
}

void wr_bev_bulk(struct bufferevent *bev)
{
    bufferevent_set_max_single_read(bev, 256 * 1024);
    bufferevent_set_max_single_write(bev, 1024 * 1024);
}

size_t wr_bev_read_rest(struct bufferevent *bev, size_t limit)
{
    if (evbuffer_get_length(bufferevent_get_input(bev)) < WR_BEV_READ_LARGE)
        return 0;
    return wr_bev_read_avail(bev, limit);
}

/* One readv into reserved space of the input; bytes read, 0 on EOF, -1 with
 * errno on an error. */
static ssize_t wr_bev_readv(int fd, struct evbuffer *in, size_t want)
{
    struct evbuffer_iovec v[2];
    struct iovec iov[2];
    ssize_t got;
    int n = evbuffer_reserve_space(in, (ev_ssize_t)want, v, 2);

    if (n <= 0)
        return -1;
    /* The space reserved can be larger than asked for: read no more. */
    for (int i = 0; i < n; i++) {
        iov[i].iov_base = v[i].iov_base;
        iov[i].iov_len = v[i].iov_len < want ? v[i].iov_len : want;
        want -= iov[i].iov_len;
    }
    do
        got = readv(fd, iov, n);
    while (got == -1 && errno == EINTR);
    if (got > 0) {
        size_t left = (size_t)got;
        int used = 0;
        while (left > 0) {
            v[used].iov_len = left < v[used].iov_len ? left : v[used].iov_len;
            left -= v[used++].iov_len;
        }
        evbuffer_commit_space(in, v, used);
    }
    return got;
}

size_t wr_bev_read_avail(struct bufferevent *bev, size_t limit)
{
    struct evbuffer *in = bufferevent_get_input(bev);
    size_t have = evbuffer_get_length(in), total = 0;
    int fd, avail;

    if (have >= limit || !(bufferevent_get_enabled(bev) & EV_READ) ||
        (fd = wr_bev_plain_fd(bev)) < 0)
        return 0;
    /* Space for what is there and no more: reserving the whole limit each
     * time would allocate 256 KiB for a few KiB, and a burst of such
     * buffers stays in the heap as resident memory. */
    if (ioctl(fd, FIONREAD, &avail) == -1 || avail <= 0)
        return 0;
    if ((size_t)avail > limit - have)
        avail = (int)(limit - have);
    /* A socket bufferevent keeps its input's end frozen outside its own
     * reads. */
    evbuffer_unfreeze(in, 0);
    /* In pieces that fit a mux frame with room to spare: a session sends
     * whole buffer chains as frames without copying them, but splits (and
     * so copies) a chain larger than a frame. */
    while (total < (size_t)avail) {
        size_t want = (size_t)avail - total;
        ssize_t got;

        if (want > WR_BEV_READ_PIECE)
            want = WR_BEV_READ_PIECE;
        got = wr_bev_readv(fd, in, want);
        if (got <= 0)
            break; /* EOF and errors: libevent's next read reports them */
        total += (size_t)got;
        if ((size_t)got < want)
            break;
    }
    evbuffer_freeze(in, 0);
    return total;
}

int wr_bev_plain_fd(struct bufferevent *bev)
{
    if (bufferevent_get_underlying(bev) != NULL || bufferevent_openssl_get_ssl(bev) != NULL)
        return -1;
    return bufferevent_getfd(bev);
}

/* A direct write failed for good (errno: ECONNRESET, say). That write took
 * the socket's pending error, so libevent's next write would only see EPIPE:
 * do here what libevent does when its own write fails (writing off, the
 * event callback told), with this errno. The callback is deferred to the
 * loop, which hands it the errno kept now; it never runs inside
 * wr_bev_send, whose callers may not expect to be freed under it. */
static void wr_bev_send_failed(struct bufferevent *bev)
{
    int err = errno;

    bufferevent_disable(bev, EV_WRITE);
    errno = err;
    bufferevent_trigger_event(bev, BEV_EVENT_WRITING | BEV_EVENT_ERROR, BEV_TRIG_DEFER_CALLBACKS);
}

int wr_bev_send(struct bufferevent *bev, struct evbuffer *src)
{
    struct evbuffer *out = bufferevent_get_output(bev);
    int fd;

    if (src == out || evbuffer_get_length(src) == 0)
        return 0;
    /* What the socket does not take (EAGAIN) goes to the output below; so
     * does everything after a hard error, which also ends writing. */
    if (evbuffer_get_length(out) == 0 && (bufferevent_get_enabled(bev) & EV_WRITE) &&
        (fd = wr_bev_plain_fd(bev)) >= 0 && evbuffer_write(src, fd) < 0 && errno != EAGAIN &&
        errno != EWOULDBLOCK && errno != EINTR)
        wr_bev_send_failed(bev);
    if (evbuffer_get_length(src) == 0)
        return 0;
    if (evbuffer_add_buffer(out, src) != 0) {
        evbuffer_drain(src, evbuffer_get_length(src)); /* a scratch buffer stays empty */
        return -1;
    }
    return 0;
}

static pthread_key_t wr_scratch_key;
static pthread_once_t wr_scratch_once = PTHREAD_ONCE_INIT;

static void wr_scratch_free(void *b)
{
    evbuffer_free(b);
}

static void wr_scratch_init(void)
{
    (void)pthread_key_create(&wr_scratch_key, wr_scratch_free);
}

struct evbuffer *wr_net_scratch(void)
{
    static __thread struct evbuffer *b;

    if (b == NULL) {
        pthread_once(&wr_scratch_once, wr_scratch_init);
        if ((b = evbuffer_new()) == NULL)
            return NULL;
        /* The key frees it when the thread ends. */
        (void)pthread_setspecific(wr_scratch_key, b);
    }
    return b;
}

struct evbuffer *wr_bev_gather(struct bufferevent *bev)
{
    struct evbuffer *out = bufferevent_get_output(bev), *b;

    if (evbuffer_get_length(out) > 0 || (b = wr_net_scratch()) == NULL)
        return out;
    return b;
}

uint16_t wr_addr_port(const wr_addr_t *addr)
{
    if (addr->ss.ss_family == AF_INET6)
        return ntohs(((const struct sockaddr_in6 *)&addr->ss)->sin6_port);
    return ntohs(((const struct sockaddr_in *)&addr->ss)->sin_port);
}

void wr_addr_set_port(wr_addr_t *addr, uint16_t port)
{
    if (addr->ss.ss_family == AF_INET6)
        ((struct sockaddr_in6 *)&addr->ss)->sin6_port = htons(port);
    else
        ((struct sockaddr_in *)&addr->ss)->sin_port = htons(port);
}

void wr_peer_ip(const char *peer, char *ip, size_t len)
{
    char *end;

    snprintf(ip, len, "%s", peer[0] == '[' ? peer + 1 : peer);
    end = strrchr(ip, peer[0] == '[' ? ']' : ':');
    if (end != NULL && (peer[0] == '[' || strchr(ip, ':') == end))
        *end = '\0';
}
