/*
 * wr_sni: the server name (SNI) a TLS client asks for, read from its
 * ClientHello before any TLS library sees the connection. The HTTPS
 * ingress peeks at a new connection with it (nothing is consumed) to learn
 * which host, and so which worker, must serve it; the TLS handshake then
 * starts on that worker from the very first byte.
 *
 * What is read: TLS records of type handshake (22) with a record version
 * 0x0301..0x0304 and a length of 1..16384+2048, whose payload, reassembled
 * across as many records as it takes, begins with a ClientHello (handshake
 * type 1). Its fields are walked in order (legacy_version, random,
 * session_id of at most 32 bytes, cipher_suites of an even, non-zero
 * length, compression methods, extensions), every length checked against
 * the bytes that remain, and every extension is walked; extension 0
 * (server_name) gives the first entry of type host_name. Nothing is read
 * past the n bytes given.
 *
 * The whole ClientHello, record headers included, must end within the
 * first WR_SNI_MAX bytes of the connection: a longer one is WR_SNI_BAD. The
 * cap is on the raw bytes, not on the reassembled message, so that a peek
 * of WR_SNI_MAX bytes always holds enough to decide.
 *
 * Threading: no state; any thread.
 */
#ifndef WR_SNI_H
#define WR_SNI_H

#include <stddef.h>
#include <stdint.h>

#define WR_SNI_MAX      16384 /* bytes of the connection looked at, at most */
#define WR_SNI_NAME_MAX 253   /* a DNS name, without a trailing dot */

enum {
    WR_SNI_FOUND = 0,    /* a ClientHello with a host_name: in name */
    WR_SNI_NONE = 1,     /* a complete ClientHello without one */
    WR_SNI_NEED = 2,     /* not enough bytes yet to tell */
    WR_SNI_NOT_TLS = -1, /* the first bytes are not a TLS handshake record */
    WR_SNI_BAD = -2,     /* a malformed or oversized ClientHello, or a bad name */
    WR_SNI_CLOSED = -3,  /* wr_sni_peek: the peer closed or the socket failed */
};

/* Look at the first n bytes of a TLS connection (one or more TLS records of
 * type handshake carrying a ClientHello, possibly split across records).
 * Returns WR_SNI_FOUND with the server_name (host_name type, lower-cased,
 * NUL-terminated) in name; WR_SNI_NONE when the ClientHello is complete and
 * has no SNI; WR_SNI_NEED when more bytes are needed; WR_SNI_NOT_TLS when
 * the bytes are not a TLS handshake (e.g. plain HTTP: "GET ...", decided
 * from the first byte that differs); WR_SNI_BAD for a malformed ClientHello
 * or an SNI that is not a valid DNS name (letters, digits, '-', '.', labels
 * 1..63, total <= 253, no trailing dot) or longer than len-1. name (len
 * bytes, may be 0) is "" unless FOUND. Bytes after the ClientHello are
 * ignored, so a decision other than NEED never changes as more arrive. */
int wr_sni_parse(const uint8_t *buf, size_t n, char *name, size_t len);

/* recv(fd, MSG_PEEK) up to WR_SNI_MAX bytes and wr_sni_parse() them: the
 * bytes stay in the socket for the TLS handshake. WR_SNI_NEED also when
 * nothing is readable yet (EAGAIN on a non-blocking fd: call again when it
 * is readable); WR_SNI_CLOSED when the peer closed (or the socket failed)
 * before a full ClientHello. */
int wr_sni_peek(int fd, char *name, size_t len);

#endif
