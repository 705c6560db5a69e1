#!/usr/bin/env python3
"""A local web service and HTTP clients for warren's HTTP tunnel tests
(standard library only; HTTP/1.1 and WebSocket framing written by hand).

    http_lib.py serve [--name NAME] [--port P] [--header-timeout S] [--idle-timeout S]
        asyncio HTTP/1.1 service on 127.0.0.1 (port 0: any free port); prints
        "listening on 127.0.0.1:PORT", then one line per connection
        ("accept N from ADDR:PORT", "close N after K requests"), per request
        ("request METHOD TARGET -> STATUS") and per bad request
        ("bad request on conn N: WHY -> STATUS"). Endpoints:
          GET  /                   200 "hello from NAME\\n"
          GET  /headers            200 JSON: request line and headers as received
          GET  /bytes/N[?chunked=1][&trailer=1]
                                   N deterministic bytes, X-SHA256 header
          HEAD /bytes/N            the same headers, no body
          POST|PUT /upload         200 JSON {"length", "sha256", "chunked", "trailers"}
          GET  /status/CODE        that status (204/304: no body, no Content-Length)
          GET  /sse?n=K&interval=MS  K events "data: I TIME\\n\\n", chunked
          GET  /ws                 WebSocket echo (RFC 6455), messages up to 16 MiB
          GET  /close-mid?n=N[&rst=1]  Content-Length N, N/2 bytes, then close (RST)
          GET  /slow?ms=T          200 after T ms
          GET  /conns              200 "N\\n": TCP connections accepted so far
          GET  /close              200 with Connection: close, then close
          GET  /drop-next          200, keep-alive; the connection's next request
                                   head is read and the connection closed
                                   unanswered (what a service's idle close looks
                                   like to a client that sent in the meantime)
        Every response carries "X-Service: NAME"; anything else is a 404.
        --header-timeout S: 408 and close when a started request head is not
        complete within S s (default: wait forever). --idle-timeout S: close a
        keep-alive connection idle for S s (default: never).

Clients: ADDR PORT is where to connect, --host H the Host header to send
(default ADDR:PORT), --timeout S bounds every wait (default 10 s).

    http_lib.py ws URL COUNT
        handshake (Accept checked), COUNT messages of 0 B..1 MiB, text and
        binary, masked, every fifth fragmented with a ping between fragments;
        each echo compared byte for byte; close handshake, then the server's EOF.
        "ws: COUNT messages echoed, BYTES bytes, in X ms"
    http_lib.py sse URL K INTERVAL_MS
        GET URL (?n=K&interval=MS appended when URL has no query); each event
        must arrive less than INTERVAL_MS/2 after it was written.
        "sse: K events streamed, max latency X ms (limit Y ms)"
    http_lib.py slowloris ADDR PORT [--seconds S] [--conns N] [--ready FILE]
        a request head, one byte a second, never finished (S default 30), on
        each of N connections at once (default 1); --ready: FILE is made once
        they are all up and have sent a byte. One line per connection as it
        ends: "slowloris: got CODE after X ms" | "slowloris: closed without
        response after X ms"; or "slowloris: still open after S s" (exit 1)
    http_lib.py raw ADDR PORT BYTES [--close-wait S] [--body] [--half-close]
        BYTES: text with \\r \\n \\xHH escapes, hex:HEX, or @FILE. Reads every
        response (framed by its headers) until EOF or --close-wait s (default 1)
        of silence; after a response with Connection: close, the close is
        waited for up to --timeout. --body: each response body follows on the
        next lines.
        --half-close: shutdown(SHUT_WR) once BYTES are sent.
        "raw: STATUS-LINE[ + STATUS-LINE...]; closed|open" | "raw: no response;
        closed after X ms" | "raw: no response within S s; open" (exit 1)
    http_lib.py keepalive ADDR PORT N [--path P]
        N sequential GETs of P (default /) on one connection.
        "keepalive: N responses on 1 connection"
    http_lib.py pipeline ADDR PORT N
        N GETs of /bytes/1001*i (every second one chunked) in one write.
        "pipeline: N responses in order on 1 connection"
    http_lib.py conns ADDR PORT N [--path P] [--close]
        N GETs, each on a new connection that the client closes after the
        response (--close: also send Connection: close).
        "conns: N requests on N connections"

    http_lib.py cutrelay PORT
        a TCP relay on 127.0.0.1 (any free port; prints "listening on
        127.0.0.1:P") to 127.0.0.1:PORT, one thread pair per connection. On
        SIGUSR1 it closes the accepting side of every connection it relays
        and keeps the other side open and silent (a path that died without a
        word to the far end); later connections are relayed as before.

Responses are checked: 200, and for /bytes/N the length, X-SHA256 and the
bytes themselves. Exit status 0 means the check passed, 1 that it failed,
with the reason on stdout.
"""
import argparse
import asyncio
import base64
import hashlib
import json
import os
import random
import re
import select
import socket
import ssl
import struct
import sys
import time
from urllib.parse import parse_qs, urlsplit

HOST = "127.0.0.1"
BLOCK = 1 << 20
MAX_HEAD = 65536
MAX_HEADERS = 200
MAX_BYTES = 1 << 30
WS_MAX = 16 << 20
WS_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

TOKEN_RE = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+\Z")
BAD_VALUE_RE = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")
BAD_TARGET_RE = re.compile(rb"[\x00-\x20\x7f-\xff]")
VERSION_RE = re.compile(rb"HTTP/[0-9]\.[0-9]\Z")
HEX_RE = re.compile(rb"[0-9A-Fa-f]{1,15}\Z")

REASONS = {
    100: "Continue", 101: "Switching Protocols", 200: "OK", 201: "Created",
    202: "Accepted", 204: "No Content", 206: "Partial Content",
    301: "Moved Permanently", 302: "Found", 303: "See Other", 304: "Not Modified",
    307: "Temporary Redirect", 308: "Permanent Redirect", 400: "Bad Request",
    401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
    405: "Method Not Allowed", 408: "Request Timeout", 409: "Conflict",
    410: "Gone", 411: "Length Required", 413: "Content Too Large",
    414: "URI Too Long", 417: "Expectation Failed", 418: "I'm a teapot",
    426: "Upgrade Required", 429: "Too Many Requests",
    431: "Request Header Fields Too Large", 500: "Internal Server Error",
    501: "Not Implemented", 502: "Bad Gateway", 503: "Service Unavailable",
    504: "Gateway Timeout", 505: "HTTP Version Not Supported",
}


def out(*a):
    print(*a, flush=True)


def reason(code):
    return REASONS.get(code, "Status %d" % code)


# ---------------------------------------------------------------- shared bits

_blocks = {}


def data_block(n):
    """The block /bytes/N repeats: min(N, 1 MiB) bytes seeded by N."""
    b = _blocks.get(n)
    if b is None:
        if len(_blocks) > 8:
            _blocks.clear()
        b = _blocks[n] = random.Random(n).randbytes(min(n, BLOCK))
    return b


def data_pieces(n, pos, length):
    """memoryview pieces of bytes [pos, pos+length) of /bytes/N."""
    block = data_block(n)
    bl = len(block)
    mv = memoryview(block)
    while length > 0:
        off = pos % bl
        take = min(length, bl - off)
        yield mv[off:off + take]
        pos += take
        length -= take


_shas = {}


def data_sha(n):
    s = _shas.get(n)
    if s is None:
        h = hashlib.sha256()
        for p in data_pieces(n, 0, n):
            h.update(p)
        s = _shas[n] = h.hexdigest()
    return s


def ws_mask(data, key):
    n = len(data)
    if n == 0:
        return b""
    k = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(data, "little") ^ int.from_bytes(k, "little")).to_bytes(n, "little")


def ws_header(op, n, fin=True, key=None):
    b0 = (0x80 if fin else 0) | op
    m = 0x80 if key is not None else 0
    if n < 126:
        h = struct.pack("!BB", b0, m | n)
    elif n < 65536:
        h = struct.pack("!BBH", b0, m | 126, n)
    else:
        h = struct.pack("!BBQ", b0, m | 127, n)
    return h + (key or b"")


def ws_accept(key):
    return base64.b64encode(hashlib.sha1(key.encode("latin-1") + WS_GUID).digest()).decode()


def tokens(values):
    return {t.strip().lower() for v in values for t in v.split(",") if t.strip()}


# ---------------------------------------------------------------- service

class HttpError(Exception):
    def __init__(self, status, why):
        Exception.__init__(self, why)
        self.status = status
        self.why = why


class Gone(Exception):
    """The peer closed the connection in the middle of a message."""


class WsClose(Exception):
    def __init__(self, code, why):
        Exception.__init__(self, why)
        self.code = code
        self.why = why


class Request:
    def __init__(self, line, method, target, version, headers):
        self.line, self.method, self.target, self.version = line, method, target, version
        self.headers = headers
        t = target
        if t.startswith(("http://", "https://")):
            u = urlsplit(t)
            t = (u.path or "/") + ("?" + u.query if u.query else "")
        self.path, _, query = t.partition("?")
        self.query = {k: v[-1] for k, v in parse_qs(query, keep_blank_values=True).items()}
        self.keep = True
        self.body = None  # None, "chunked" or a length
        self.upload = None

    def values(self, name):
        name = name.lower()
        return [v for k, v in self.headers if k.lower() == name]

    def get(self, name, default=""):
        v = self.values(name)
        return v[0] if v else default


def parse_head(head):
    lines = head.split(b"\r\n")
    for ln in lines:
        if b"\r" in ln or b"\n" in ln:
            raise HttpError(400, "bare CR or LF in the request head")
    parts = lines[0].split(b" ")
    if len(parts) != 3:
        raise HttpError(400, "malformed request line %r" % lines[0][:80])
    m, t, v = parts
    if not TOKEN_RE.match(m):
        raise HttpError(400, "bad method %r" % m[:40])
    if not t or BAD_TARGET_RE.search(t):
        raise HttpError(400, "bad request target %r" % t[:80])
    if not VERSION_RE.match(v):
        raise HttpError(400, "bad version %r" % v[:40])
    if v not in (b"HTTP/1.0", b"HTTP/1.1"):
        raise HttpError(505, "version %s" % v.decode())
    headers = []
    for ln in lines[1:]:
        if ln[:1] in (b" ", b"\t"):
            raise HttpError(400, "obsolete line folding")
        name, sep, value = ln.partition(b":")
        if not sep or not TOKEN_RE.match(name):
            raise HttpError(400, "bad header name %r" % name[:40])
        value = value.strip(b" \t")
        if BAD_VALUE_RE.search(value):
            raise HttpError(400, "bad byte in the value of %s" % name.decode())
        headers.append((name.decode("latin-1"), value.decode("latin-1")))
    if len(headers) > MAX_HEADERS:
        raise HttpError(431, "%d header fields" % len(headers))
    req = Request(lines[0].decode("latin-1"), m.decode(), t.decode("latin-1"), v.decode(), headers)
    hosts = req.values("host")
    if req.version == "HTTP/1.1" and len(hosts) != 1:
        raise HttpError(400, "%d Host headers" % len(hosts))
    te, cl = req.values("transfer-encoding"), req.values("content-length")
    if te:
        if cl:
            raise HttpError(400, "both Content-Length and Transfer-Encoding")
        if req.version == "HTTP/1.0":
            raise HttpError(400, "Transfer-Encoding in HTTP/1.0")
        codings = [c.strip().lower() for x in te for c in x.split(",") if c.strip()]
        if not codings or codings[-1] != "chunked":
            raise HttpError(400, "chunked is not the final transfer coding")
        if codings != ["chunked"]:
            raise HttpError(501, "transfer codings %s" % ",".join(codings))
        req.body = "chunked"
    elif cl:
        vals = {x.strip() for x in cl}
        if len(vals) != 1:
            raise HttpError(400, "conflicting Content-Length headers %s" % sorted(vals))
        val = vals.pop()
        if not val.isascii() or not val.isdigit() or len(val) > 15:
            raise HttpError(400, "bad Content-Length %r" % val[:40])
        req.body = int(val)
    conn = tokens(req.values("connection"))
    req.keep = ("close" not in conn) if req.version == "HTTP/1.1" else ("keep-alive" in conn)
    return req


class Service:
    def __init__(self, name, header_timeout, idle_timeout):
        self.name = name
        self.header_timeout = header_timeout or None
        self.idle_timeout = idle_timeout or None
        self.accepted = 0

    async def handle(self, reader, writer):
        self.accepted += 1
        conn = Conn(self, reader, writer, self.accepted)
        await conn.run()


class Conn:
    def __init__(self, svc, reader, writer, n):
        self.svc, self.r, self.w, self.n = svc, reader, writer, n
        self.buf = bytearray()
        self.requests = 0
        self.drop_next = False
        peer = writer.get_extra_info("peername") or ("?", 0)
        self.peer = "%s:%d" % (peer[0], peer[1])

    # -- reading

    async def fill(self, timeout=None):
        if timeout is None:
            b = await self.r.read(BLOCK)
        else:
            b = await asyncio.wait_for(self.r.read(BLOCK), max(timeout, 0.001))
        if not b:
            return False
        self.buf += b
        return True

    async def readexactly(self, n):
        while len(self.buf) < n:
            if not await self.fill():
                raise Gone("EOF after %d of %d bytes" % (len(self.buf), n))
        if n == len(self.buf):
            b, self.buf = bytes(self.buf), bytearray()
            return b
        b = bytes(self.buf[:n])
        del self.buf[:n]
        return b

    async def read_into(self, n, sink):
        while n > 0:
            if not self.buf and not await self.fill():
                raise Gone("EOF with %d body bytes to go" % n)
            if len(self.buf) <= n:
                piece, self.buf = self.buf, bytearray()
            else:
                piece = bytes(self.buf[:n])
                del self.buf[:n]
            n -= len(piece)
            if sink:
                sink(piece)

    async def readline(self, limit, what):
        while True:
            i = self.buf.find(b"\r\n")
            if i >= 0:
                line = bytes(self.buf[:i])
                del self.buf[:i + 2]
                if b"\n" in line or b"\r" in line:
                    raise HttpError(400, "bare CR or LF in %s" % what)
                return line
            if len(self.buf) > limit:
                raise HttpError(400, "%s longer than %d bytes" % (what, limit))
            if not await self.fill():
                raise Gone("EOF in %s" % what)

    async def read_head(self):
        """The next request head, or None at EOF / idle timeout before one."""
        started = None
        while True:
            while self.buf[:2] == b"\r\n":  # RFC 9112 2.2: ignore leading empty lines
                del self.buf[:2]
            if self.buf and not TOKEN_RE.match(self.buf[:1]) and self.buf[:1] != b"\r":
                raise HttpError(400, "garbage before a request line (0x%02x)" % self.buf[0])
            i = self.buf.find(b"\r\n\r\n")
            if i >= 0:
                if i + 4 > MAX_HEAD:
                    raise HttpError(431, "request head of %d bytes" % (i + 4))
                head = bytes(self.buf[:i])
                del self.buf[:i + 4]
                return head
            if len(self.buf) > MAX_HEAD:
                raise HttpError(431, "request head over %d bytes" % MAX_HEAD)
            if b"\n\n" in self.buf or b"\n\r\n" in self.buf:
                raise HttpError(400, "bare LF in the request head")
            if self.buf:
                if started is None:
                    started = time.monotonic()
                timeout = self.svc.header_timeout
                if timeout is not None:
                    timeout -= time.monotonic() - started
            else:
                timeout = self.svc.idle_timeout
            try:
                ok = await self.fill(timeout)
            except asyncio.TimeoutError:
                if self.buf:
                    raise HttpError(408, "request head incomplete after %s s" % self.svc.header_timeout)
                out("conn %d: idle timeout" % self.n)
                return None
            if not ok:
                if self.buf:
                    raise Gone("EOF in a request head (%d bytes)" % len(self.buf))
                return None

    async def read_body(self, req, sink):
        """Reads the whole request body into sink (None: discard); sends
        100 Continue first when asked to."""
        if req.body is None or req.body == 0:
            return 0, []
        exp = req.values("expect")
        if exp:
            if tokens(exp) != {"100-continue"}:
                raise HttpError(417, "Expect: %s" % ",".join(exp))
            if req.version == "HTTP/1.1":
                self.w.write(b"HTTP/1.1 100 Continue\r\n\r\n")
                await self.w.drain()
        if req.body != "chunked":
            await self.read_into(req.body, sink)
            return req.body, []
        total = 0
        while True:
            line = await self.readline(4096, "a chunk size line")
            size = line.split(b";", 1)[0].strip(b" \t")
            if not HEX_RE.match(size):
                raise HttpError(400, "bad chunk size line %r" % line[:40])
            size = int(size, 16)
            if size == 0:
                break
            await self.read_into(size, sink)
            total += size
            if await self.readexactly(2) != b"\r\n":
                raise HttpError(400, "no CRLF after chunk data")
        trailers = []
        tsize = 0
        while True:
            line = await self.readline(MAX_HEAD, "the trailer section")
            if not line:
                return total, trailers
            tsize += len(line)
            if tsize > MAX_HEAD:
                raise HttpError(431, "trailer section too large")
            name, sep, value = line.partition(b":")
            if not sep or not TOKEN_RE.match(name) or BAD_VALUE_RE.search(value.strip(b" \t")):
                raise HttpError(400, "bad trailer field %r" % line[:40])
            trailers.append([name.decode("latin-1"), value.strip(b" \t").decode("latin-1")])

    # -- writing

    def head(self, status, headers):
        lines = ["HTTP/1.1 %d %s" % (status, reason(status))]
        lines += ["%s: %s" % kv for kv in headers]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    def conn_headers(self, req, close=False):
        h = [("X-Service", self.svc.name)]
        if req is None or not req.keep or close:
            h.append(("Connection", "close"))
        elif req.version == "HTTP/1.0":
            h.append(("Connection", "keep-alive"))
        return h

    def log(self, req, status, extra=""):
        out("request %s %s -> %d%s" % (req.method, req.target, status, extra))

    async def respond(self, req, status, body=b"", ctype="text/plain; charset=utf-8",
                      headers=(), close=False):
        h = self.conn_headers(req, close)
        if status not in (204, 304) and status >= 200:
            h.append(("Content-Type", ctype))
            h.append(("Content-Length", str(len(body))))
        else:
            body = b""
        h += list(headers)
        self.w.write(self.head(status, h) + (b"" if req.method == "HEAD" else body))
        await self.w.drain()
        self.log(req, status)
        return req.keep and not close

    async def linger_close(self):
        """Half-close, then read and discard for up to 2 s, so what the peer
        still sends (a pipelined request, an unread body) does not reset the
        connection before it read our response."""
        try:
            if self.w.can_write_eof():
                self.w.write_eof()
            end = time.monotonic() + 2
            while time.monotonic() < end:
                b = await asyncio.wait_for(self.r.read(BLOCK), end - time.monotonic())
                if not b:
                    break
        except (asyncio.TimeoutError, OSError, RuntimeError):
            pass

    # -- the connection

    async def run(self):
        out("accept %d from %s" % (self.n, self.peer))
        how = "EOF"
        linger = False
        try:
            while True:
                head = await self.read_head()
                if head is None:
                    break
                req = parse_head(head)
                if self.drop_next:
                    out("conn %d: dropped %s unanswered" % (self.n, req.line))
                    how = "dropped a request"
                    break
                try:
                    keep = await self.dispatch(req)
                except ValueError as e:  # a bad number in the query
                    raise HttpError(400, "%s: %s" % (req.target[:80], e))
                self.requests += 1
                if not keep:
                    how = "close"
                    linger = True
                    break
        except HttpError as e:
            out("bad request on conn %d: %s -> %d" % (self.n, e.why, e.status))
            how = "error %d" % e.status
            try:
                body = ("%d %s: %s\n" % (e.status, reason(e.status), e.why)).encode()
                h = self.conn_headers(None) + [("Content-Type", "text/plain; charset=utf-8"),
                                               ("Content-Length", str(len(body)))]
                self.w.write(self.head(e.status, h) + body)
                await self.w.drain()
                linger = True
            except (OSError, RuntimeError) as e2:
                out("conn %d: error sending %d: %s" % (self.n, e.status, e2))
        except Gone as e:
            how = str(e)
        except (OSError, asyncio.IncompleteReadError, RuntimeError) as e:
            how = "error: %s: %s" % (e.__class__.__name__, e)
        except Exception as e:  # keep serving whatever happens
            how = "internal error: %s: %s" % (e.__class__.__name__, e)
        try:
            if linger:
                await self.linger_close()
            self.w.close()
        except Exception:
            pass
        out("close %d after %d requests (%s)" % (self.n, self.requests, how))

    async def dispatch(self, req):
        path, m = req.path, req.method
        getlike = m in ("GET", "HEAD")
        if path == "/upload" and m in ("POST", "PUT"):
            h = hashlib.sha256()
            length, trailers = await self.read_body(req, h.update)
            body = json.dumps({"length": length, "sha256": h.hexdigest(),
                               "chunked": req.body == "chunked", "trailers": trailers})
            return await self.respond(req, 200, body.encode() + b"\n", "application/json")
        await self.read_body(req, None)
        if path == "/" and getlike:
            return await self.respond(req, 200, ("hello from %s\n" % self.svc.name).encode())
        if path == "/headers" and getlike:
            # one header a line, for grep: ["Name", "value"]
            d = {"request_line": req.line, "method": req.method, "target": req.target,
                 "version": req.version, "peer": self.peer}
            body = "{%s,\n \"headers\": [\n%s\n]}\n" % (
                json.dumps(d)[1:-1], ",\n".join("  " + json.dumps([k, v]) for k, v in req.headers))
            return await self.respond(req, 200, body.encode("utf-8"), "application/json")
        if path.startswith("/bytes/") and getlike:
            return await self.send_bytes(req)
        if path.startswith("/status/") and getlike:
            code = path[8:]
            if not code.isdigit() or not 200 <= int(code) <= 599:
                return await self.respond(req, 400, b"status must be 200..599\n")
            code = int(code)
            return await self.respond(req, code, ("status %d\n" % code).encode())
        if path == "/conns" and getlike:
            return await self.respond(req, 200, b"%d\n" % self.svc.accepted)
        if path == "/slow" and getlike:
            ms = int(req.query.get("ms", "1000") or 0)
            await asyncio.sleep(ms / 1000)
            return await self.respond(req, 200, b"slow %d\n" % ms)
        if path == "/close" and getlike:
            return await self.respond(req, 200, b"bye\n", close=True)
        if path == "/drop-next" and getlike:
            self.drop_next = True
            return await self.respond(req, 200, b"the next one is dropped\n")
        if path == "/sse" and m == "GET":
            return await self.sse(req)
        if path == "/close-mid" and m == "GET":
            return await self.close_mid(req)
        if path == "/ws" and m == "GET":
            return await self.websocket(req)
        return await self.respond(req, 404, b"not found\n")

    async def send_bytes(self, req):
        n = req.path[7:]
        if not n.isdigit() or int(n) > MAX_BYTES:
            return await self.respond(req, 400, b"/bytes/N: N in 0..%d\n" % MAX_BYTES)
        n = int(n)
        chunked = req.query.get("chunked", "0") not in ("0", "")
        trailer = chunked and req.query.get("trailer", "0") not in ("0", "")
        if n > 4 * BLOCK and n not in _shas:
            sha = await asyncio.get_running_loop().run_in_executor(None, data_sha, n)
        else:
            sha = data_sha(n)
        h = self.conn_headers(req) + [("Content-Type", "application/octet-stream"), ("X-SHA256", sha)]
        if chunked:
            h.append(("Transfer-Encoding", "chunked"))
            if trailer:
                h.append(("Trailer", "X-Trailer-SHA256"))
        else:
            h.append(("Content-Length", str(n)))
        self.w.write(self.head(200, h))
        self.log(req, 200)
        if req.method == "HEAD":
            await self.w.drain()
            return req.keep
        w = self.w
        if not chunked:
            for pos in range(0, n, BLOCK):
                for p in data_pieces(n, pos, min(BLOCK, n - pos)):
                    w.write(p)
                await w.drain()
        else:
            rng = random.Random(n ^ 0x5EED)
            sizes = (1, 2, 10, 100, 1000, 4095, 4096, 8192, 16384, 65535, 65536, 100000,
                     262144, 1 << 20, 1500000)
            pos = k = 0
            while pos < n:
                size = min(n - pos, rng.choice(sizes))
                ext = b";ext=%d" % k if k % 7 == 3 else b""
                w.write(b"%x%s\r\n" % (size, ext))
                for p in data_pieces(n, pos, size):
                    w.write(p)
                w.write(b"\r\n")
                pos += size
                k += 1
                await w.drain()
            w.write(b"0\r\n" + (b"X-Trailer-SHA256: %s\r\n" % sha.encode() if trailer else b"") + b"\r\n")
        await w.drain()
        return req.keep

    async def sse(self, req):
        n = int(req.query.get("n", "5") or 0)
        interval = int(req.query.get("interval", "100") or 0)
        h = self.conn_headers(req) + [("Content-Type", "text/event-stream"),
                                      ("Cache-Control", "no-cache"),
                                      ("Transfer-Encoding", "chunked")]
        self.w.write(self.head(200, h))
        await self.w.drain()
        self.log(req, 200)
        t0 = time.monotonic()
        for i in range(n):
            delay = t0 + i * interval / 1000 - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            ev = b"data: %d %.6f\n\n" % (i, time.time())
            self.w.write(b"%x\r\n%s\r\n" % (len(ev), ev))
            await self.w.drain()
        self.w.write(b"0\r\n\r\n")
        await self.w.drain()
        return req.keep

    async def close_mid(self, req):
        n = int(req.query.get("n", "1000000") or 0)
        h = self.conn_headers(req, close=True) + [("Content-Type", "application/octet-stream"),
                                                   ("Content-Length", str(n))]
        self.w.write(self.head(200, h))
        for p in data_pieces(n, 0, n // 2) if n else ():
            self.w.write(p)
        await self.w.drain()
        rst = req.query.get("rst", "0") not in ("0", "")
        self.log(req, 200, " (closed after %d of %d bytes%s)" % (n // 2, n, ", RST" if rst else ""))
        if rst:
            sock = self.w.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.w.transport.abort()
        else:
            self.w.close()
        raise Gone("closed mid-body on purpose")

    # -- WebSocket

    async def websocket(self, req):
        key = req.get("sec-websocket-key")
        try:
            keyok = len(base64.b64decode(key.encode(), validate=True)) == 16
        except ValueError:
            keyok = False
        if req.version != "HTTP/1.1" or "websocket" not in tokens(req.values("upgrade")) \
                or "upgrade" not in tokens(req.values("connection")) or not keyok:
            return await self.respond(req, 400, b"not a WebSocket handshake\n")
        if req.get("sec-websocket-version") != "13":
            return await self.respond(req, 426, b"WebSocket version 13 only\n",
                                      headers=[("Sec-WebSocket-Version", "13")])
        h = [("X-Service", self.svc.name), ("Upgrade", "websocket"), ("Connection", "Upgrade"),
             ("Sec-WebSocket-Accept", ws_accept(key))]
        self.w.write(self.head(101, h))
        await self.w.drain()
        self.log(req, 101)
        msgs = nbytes = 0
        how = "?"
        try:
            msg_op, frags, size = None, [], 0
            while True:
                fin, rsv, op, masked, data = await self.ws_frame()
                if not masked:
                    raise WsClose(1002, "unmasked client frame")
                if rsv:
                    raise WsClose(1002, "RSV bits set")
                if op >= 8:
                    if not fin or len(data) > 125:
                        raise WsClose(1002, "bad control frame")
                    if op == 9:
                        await self.ws_send(10, data)
                    elif op == 8:
                        if len(data) == 1:
                            raise WsClose(1002, "1-byte close payload")
                        code = struct.unpack("!H", data[:2])[0] if data else None
                        await self.ws_send(8, data[:2])
                        how = "close %s from the client" % code
                        break
                    elif op != 10:
                        raise WsClose(1002, "opcode %d" % op)
                    continue
                if op == 0:
                    if msg_op is None:
                        raise WsClose(1002, "continuation without a message")
                elif op in (1, 2):
                    if msg_op is not None:
                        raise WsClose(1002, "new message inside a fragmented one")
                    msg_op = op
                else:
                    raise WsClose(1002, "opcode %d" % op)
                frags.append(data)
                size += len(data)
                if size > WS_MAX:
                    raise WsClose(1009, "message over %d bytes" % WS_MAX)
                if fin:
                    payload = frags[0] if len(frags) == 1 else b"".join(frags)
                    if msg_op == 1:
                        try:
                            payload.decode("utf-8")
                        except UnicodeDecodeError:
                            raise WsClose(1007, "invalid UTF-8 in a text message")
                    await self.ws_send(msg_op, payload)
                    msgs += 1
                    nbytes += len(payload)
                    msg_op, frags, size = None, [], 0
        except WsClose as e:
            how = "closing with %d: %s" % (e.code, e.why)
            try:
                await self.ws_send(8, struct.pack("!H", e.code) + e.why.encode()[:100])
            except (OSError, RuntimeError):
                pass
        except Gone as e:
            how = "peer gone: %s" % e
        out("ws conn %d: %d messages, %d bytes echoed; %s" % (self.n, msgs, nbytes, how))
        self.w.close()  # the server closes the TCP connection first (RFC 6455 7.1.1)
        raise Gone("WebSocket ended")

    async def ws_frame(self):
        b0, b1 = await self.readexactly(2)
        n = b1 & 0x7F
        if n == 126:
            n = struct.unpack("!H", await self.readexactly(2))[0]
        elif n == 127:
            n = struct.unpack("!Q", await self.readexactly(8))[0]
            if n >> 63:
                raise WsClose(1002, "64-bit length with the top bit set")
        if n > WS_MAX:
            raise WsClose(1009, "frame of %d bytes" % n)
        key = await self.readexactly(4) if b1 & 0x80 else None
        data = await self.readexactly(n)
        if key:
            data = ws_mask(data, key)
        return b0 & 0x80, b0 & 0x70, b0 & 0x0F, key is not None, data

    async def ws_send(self, op, payload):
        self.w.write(ws_header(op, len(payload)))
        if payload:
            self.w.write(payload)
        await self.w.drain()


def serve(args):
    svc = Service(args.name, args.header_timeout, args.idle_timeout)

    async def main():
        loop = asyncio.get_running_loop()
        loop.set_exception_handler(lambda lp, ctx: out("loop: %s" % ctx.get("message")))
        srv = await asyncio.start_server(svc.handle, HOST, args.port, limit=BLOCK,
                                         backlog=1024, reuse_address=True)
        out("listening on %s:%d" % srv.sockets[0].getsockname()[:2])
        async with srv:
            await srv.serve_forever()

    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass


# ---------------------------------------------------------------- clients

class Fail(Exception):
    pass


class Client:
    def __init__(self, host, port, timeout, tls_ca=None, sni=None):
        self.s = socket.create_connection((host, port), timeout)
        self.s.settimeout(timeout)
        self.s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if tls_ca:  # wss:// or https://: verified against this CA, SNI sni
            ctx = ssl.create_default_context(cafile=tls_ca)
            self.s = ctx.wrap_socket(self.s, server_hostname=sni or host)
        self.buf = bytearray()

    def close(self):
        self.s.close()

    def send(self, data):
        self.s.sendall(data)

    def fill(self):
        b = self.s.recv(BLOCK)
        if not b:
            raise EOFError("connection closed by the peer")
        self.buf += b

    def readline(self, limit=MAX_HEAD):
        while True:
            i = self.buf.find(b"\r\n")
            if i >= 0:
                line = bytes(self.buf[:i])
                del self.buf[:i + 2]
                return line
            if len(self.buf) > limit:
                raise Fail("line longer than %d bytes" % limit)
            self.fill()

    def readexactly(self, n):
        while len(self.buf) < n:
            self.fill()
        b = bytes(self.buf[:n])
        del self.buf[:n]
        return b

    def read_into(self, n, sink):
        while n > 0:
            if not self.buf:
                self.fill()
            if len(self.buf) <= n:
                piece, self.buf = self.buf, bytearray()
            else:
                piece = bytes(self.buf[:n])
                del self.buf[:n]
            n -= len(piece)
            sink(piece)

    def read_to_eof(self, sink):
        while True:
            if self.buf:
                piece, self.buf = self.buf, bytearray()
                sink(piece)
            b = self.s.recv(BLOCK)
            if not b:
                return
            self.buf += b

    def eof_within(self, secs):
        """'closed' if the peer closes (or resets) within secs, 'data' if
        bytes arrive, 'open' otherwise."""
        if self.buf:
            return "data"
        end = time.monotonic() + secs
        while True:
            left = end - time.monotonic()
            if left <= 0:
                return "open"
            r, _, _ = select.select([self.s], [], [], left)
            if r:
                try:
                    b = self.s.recv(BLOCK)
                except OSError:
                    return "closed"
                if not b:
                    return "closed"
                self.buf += b
                return "data"


class Response:
    def __init__(self):
        self.interim = []
        self.headers = []
        self.trailers = []
        self.body = None
        self.length = 0
        self.framing = "none"

    def get(self, name, default=""):
        name = name.lower()
        for k, v in self.headers:
            if k.lower() == name:
                return v
        return default

    def will_close(self):
        conn = tokens([v for k, v in self.headers if k.lower() == "connection"])
        if self.framing == "close" or "close" in conn:
            return True
        return self.version == "HTTP/1.0" and "keep-alive" not in conn


def read_response(c, method="GET", sink=None, keep=True):
    """Reads one response (skipping 1xx but 101), framed by its headers."""
    r = Response()
    while True:
        line = c.readline()
        parts = line.split(b" ", 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/1.") or not parts[1].isdigit():
            raise Fail("bad status line %r" % line[:80])
        r.line = line.decode("latin-1")
        r.version = parts[0].decode()
        r.status = int(parts[1])
        r.reason = parts[2].decode("latin-1") if len(parts) > 2 else ""
        headers = []
        while True:
            h = c.readline()
            if not h:
                break
            k, sep, v = h.partition(b":")
            if not sep:
                raise Fail("bad header line %r" % h[:80])
            headers.append((k.decode("latin-1"), v.strip(b" \t").decode("latin-1")))
        if 100 <= r.status < 200 and r.status != 101:
            r.interim.append(r.line)
            continue
        r.headers = headers
        break
    h = hashlib.sha256()
    parts = []

    def take(piece):
        h.update(piece)
        r.length += len(piece)
        if keep:
            parts.append(bytes(piece))
        if sink:
            sink(piece)

    te = r.get("transfer-encoding").lower()
    if method == "HEAD" or r.status in (101, 204, 304):
        pass
    elif te:
        if te.split(",")[-1].strip() != "chunked":
            raise Fail("Transfer-Encoding %r" % te)
        r.framing = "chunked"
        while True:
            size = c.readline(4096).split(b";")[0].strip()
            if not HEX_RE.match(size):
                raise Fail("bad chunk size %r" % size[:40])
            size = int(size, 16)
            if size == 0:
                break
            c.read_into(size, take)
            if c.readexactly(2) != b"\r\n":
                raise Fail("no CRLF after chunk data")
        while True:
            t = c.readline()
            if not t:
                break
            k, _, v = t.partition(b":")
            r.trailers.append((k.decode("latin-1"), v.strip().decode("latin-1")))
    elif r.get("content-length"):
        r.framing = "length"
        c.read_into(int(r.get("content-length")), take)
    else:
        r.framing = "close"
        c.read_to_eof(take)
    r.sha = h.hexdigest()
    r.body = b"".join(parts) if keep else None
    return r


def request_bytes(method, target, host, headers=(), body=b""):
    lines = ["%s %s HTTP/1.1" % (method, target), "Host: " + host, "User-Agent: http_lib"]
    lines += ["%s: %s" % kv for kv in headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def check_response(r, path, what):
    if r.status != 200:
        raise Fail("%s: %s" % (what, r.line))
    if path.startswith("/bytes/"):
        n = int(path[7:].split("?")[0])
        if r.length != n:
            raise Fail("%s: %d bytes, expected %d" % (what, r.length, n))
        if r.sha != r.get("x-sha256"):
            raise Fail("%s: sha256 of the body %s != X-SHA256 %s" % (what, r.sha, r.get("x-sha256")))
        if n <= 4 * BLOCK and r.sha != data_sha(n):
            raise Fail("%s: not the bytes of /bytes/%d" % (what, n))
    elif path == "/" and r.body is not None and not r.body.startswith(b"hello from "):
        raise Fail("%s: body %r" % (what, r.body[:60]))


def keepalive(a):
    host = a.host or "%s:%d" % (a.addr, a.port)
    c = Client(a.addr, a.port, a.timeout)
    for i in range(a.n):
        c.send(request_bytes("GET", a.path, host))
        try:
            r = read_response(c, keep=not a.path.startswith("/bytes/"))
        except EOFError:
            raise Fail("connection closed before response %d of %d" % (i + 1, a.n))
        check_response(r, a.path, "response %d" % (i + 1))
        if i < a.n - 1 and r.will_close():
            raise Fail("response %d of %d ends the connection (%s)" % (i + 1, a.n, r.framing))
    c.close()
    return "keepalive: %d responses on 1 connection" % a.n


def pipeline_paths(n):
    return ["/bytes/%d%s" % (1000 * i + i, "?chunked=1" if i % 2 == 0 else "")
            for i in range(1, n + 1)]


def pipeline(a):
    host = a.host or "%s:%d" % (a.addr, a.port)
    paths = pipeline_paths(a.n)
    c = Client(a.addr, a.port, a.timeout)
    c.send(b"".join(request_bytes("GET", p, host) for p in paths))
    for i, p in enumerate(paths):
        try:
            r = read_response(c, keep=False)
        except EOFError:
            raise Fail("connection closed before response %d of %d" % (i + 1, a.n))
        check_response(r, p, "response %d (%s)" % (i + 1, p))
        if i < a.n - 1 and r.will_close():
            raise Fail("response %d of %d ends the connection" % (i + 1, a.n))
    c.close()
    return "pipeline: %d responses in order on 1 connection" % a.n


def conns(a):
    host = a.host or "%s:%d" % (a.addr, a.port)
    extra = [("Connection", "close")] if a.close else []
    for i in range(a.n):
        c = Client(a.addr, a.port, a.timeout)
        c.send(request_bytes("GET", a.path, host, extra))
        try:
            r = read_response(c, keep=not a.path.startswith("/bytes/"))
        except EOFError:
            raise Fail("connection %d closed before its response" % (i + 1))
        check_response(r, a.path, "connection %d" % (i + 1))
        c.close()
    return "conns: %d requests on %d connections" % (a.n, a.n)


def raw_bytes(spec):
    if spec.startswith("hex:"):
        return bytes.fromhex(spec[4:])
    if spec.startswith("@"):
        with open(spec[1:], "rb") as f:
            return f.read()
    return spec.encode("latin-1").decode("unicode_escape").encode("latin-1")


def raw(a):
    data = raw_bytes(a.data)
    # the method of each request sent, to know which responses have no body
    methods = [m.decode() for m in re.findall(rb"(?:^|\r\n\r\n)([A-Z]+) ", data)]
    t0 = time.monotonic()
    c = Client(a.addr, a.port, a.timeout)
    try:
        c.send(data)
        if a.half_close:
            c.s.shutdown(socket.SHUT_WR)
    except OSError:
        pass  # the server may close or reset early; what it sent still counts
    lines, bodies = [], []
    state = "open"
    closing = False
    while True:
        try:
            if not lines or closing:
                # The first response, or the close a response announced: up
                # to --timeout, so that a busy server is not taken for one
                # that leaves the connection open.
                got = c.eof_within(a.timeout)
            else:
                got = c.eof_within(a.close_wait)
            if got != "data":
                state = got
                break
            method = methods[len(lines)] if len(lines) < len(methods) else "GET"
            r = read_response(c, method, keep=a.body)
            lines.append(r.line)
            if a.body:
                bodies.append(r.body.decode("latin-1"))
            if r.framing == "close":
                state = "closed"
                break
            closing = "close" in tokens([r.get("connection")])
        except (EOFError, ConnectionError):
            state = "closed"
            if lines:
                lines[-1] += " (truncated)"
            break
        except socket.timeout:
            state = "open"
            break
    ms = (time.monotonic() - t0) * 1000
    c.close()
    if not lines:
        if state == "closed":
            return "raw: no response; closed after %.0f ms" % ms
        raise Fail("raw: no response within %s s; open" % a.timeout)
    return "\n".join(["raw: %s; %s" % (" + ".join(lines), state)] + [b.rstrip("\n") for b in bodies])


def slowloris(a):
    host = a.host or "%s:%d" % (a.addr, a.port)
    head = ("GET / HTTP/1.1\r\nHost: %s\r\nUser-Agent: slowloris\r\nX-Slow: " % host).encode()
    head += b"a" * 100000
    # The heads connect one after the other and then send in step, so that
    # they are all waiting at the same time; each is timed from its connect.
    conns, t0 = [], []
    for _ in range(a.conns):
        conns.append(Client(a.addr, a.port, a.timeout))
        t0.append(time.monotonic())
    got = [bytearray() for _ in conns]
    waiting = set(range(len(conns)))
    start = next_send = time.monotonic()
    i = 0
    while waiting:
        now = time.monotonic()
        if now - start >= a.seconds:
            for k in waiting:
                conns[k].close()
            raise Fail("slowloris: still open after %g s" % a.seconds)
        if now >= next_send:
            for k in waiting:
                try:
                    conns[k].s.send(head[i:i + 1])
                except OSError:
                    pass  # closed: the recv below tells how
            i += 1
            next_send += 1.0
            if i == 1 and a.ready:
                open(a.ready, "w").close()
        r, _, _ = select.select([conns[k].s for k in waiting], [], [],
                                max(0.0, min(next_send, start + a.seconds) - time.monotonic()))
        for k in [k for k in waiting if conns[k].s in r]:
            ms = (time.monotonic() - t0[k]) * 1000
            try:
                b = conns[k].s.recv(65536)
            except OSError:
                b = b""
            if b:
                got[k] += b
                if b"\r\n" not in got[k]:
                    continue
                line = bytes(got[k].split(b"\r\n")[0])
                parts = line.split(b" ")
                code = parts[1].decode("latin-1") if len(parts) > 1 else line.decode("latin-1")
                out("slowloris: got %s after %.0f ms" % (code, ms))
            elif got[k]:
                out("slowloris: got %r after %.0f ms" % (bytes(got[k][:40]), ms))
            else:
                out("slowloris: closed without response after %.0f ms" % ms)
            conns[k].close()
            waiting.discard(k)


def target_of(url, default_port):
    u = urlsplit(url)
    port = u.port or default_port
    target = (u.path or "/") + ("?" + u.query if u.query else "")
    return u.hostname or HOST, port, target


def ws_text(n, rng):
    """n bytes of valid UTF-8: some 3-byte characters and ASCII."""
    k = rng.randint(0, n // 3)
    s = "\u20ac" * k + "".join(rng.choice("abcdefghij \n") for _ in range(min(n - 3 * k, 64)))
    s += "x" * (n - 3 * k - min(n - 3 * k, 64))
    return s.encode()


WS_SIZES = (0, 1, 125, 126, 127, 1000, 65535, 65536, 65537, 17, 300000, 1 << 20)


def ws_client(a):
    host, port, target = target_of(a.url, 80)
    hosthdr = a.host or "%s:%d" % (host, port)
    c = Client(host, port, a.timeout, a.tls_ca, hosthdr.rsplit(":", 1)[0] if ":" in hosthdr else hosthdr)
    key = base64.b64encode(os.urandom(16)).decode()
    c.send(request_bytes("GET", target, hosthdr, [
        ("Upgrade", "websocket"), ("Connection", "Upgrade"),
        ("Sec-WebSocket-Key", key), ("Sec-WebSocket-Version", "13")]))
    r = read_response(c)
    if r.status != 101:
        raise Fail("ws: handshake answered %s" % r.line)
    if "websocket" not in tokens([r.get("upgrade")]) or "upgrade" not in tokens([r.get("connection")]):
        raise Fail("ws: 101 without Upgrade: websocket / Connection: upgrade")
    if r.get("sec-websocket-accept") != ws_accept(key):
        raise Fail("ws: Sec-WebSocket-Accept %r, expected %r" % (r.get("sec-websocket-accept"), ws_accept(key)))

    def send_frame(op, payload, fin=True):
        k = os.urandom(4)
        c.send(ws_header(op, len(payload), fin, k))
        if payload:
            c.send(ws_mask(payload, k))

    def recv_frame():
        b0, b1 = c.readexactly(2)
        if b1 & 0x80:
            raise Fail("ws: masked frame from the server")
        if b0 & 0x70:
            raise Fail("ws: RSV bits set by the server")
        n = b1 & 0x7F
        if n == 126:
            n = struct.unpack("!H", c.readexactly(2))[0]
        elif n == 127:
            n = struct.unpack("!Q", c.readexactly(8))[0]
        return b0 & 0x80, b0 & 0x0F, c.readexactly(n)

    def recv_message(want_pong=None):
        op0, parts = None, []
        while True:
            fin, op, data = recv_frame()
            if op == 9:
                send_frame(10, data)
                continue
            if op == 10:
                if want_pong is not None and data == want_pong:
                    want_pong = None
                continue
            if op == 8:
                code = struct.unpack("!H", data[:2])[0] if len(data) >= 2 else None
                return 8, code, data[2:]
            if op0 is None:
                if op == 0:
                    raise Fail("ws: continuation frame without a message")
                op0 = op
            elif op != 0:
                raise Fail("ws: new message inside a fragmented one")
            parts.append(data)
            if fin:
                if want_pong is not None:
                    raise Fail("ws: no pong for the ping sent between fragments")
                return op0, None, b"".join(parts)

    rng = random.Random(a.count)
    t0 = time.monotonic()
    total = 0
    for i in range(a.count):
        n = WS_SIZES[i % len(WS_SIZES)]
        text = i % 2 == 0
        payload = ws_text(n, rng) if text else os.urandom(n)
        op = 1 if text else 2
        ping = None
        if i % 5 == 3 and n >= 3:  # fragmented, with a ping between fragments
            cut1, cut2 = n // 3, 2 * n // 3
            ping = b"ping %d" % i  # (text fragments may split a character)
            send_frame(op, payload[:cut1], fin=False)
            send_frame(0, payload[cut1:cut2], fin=False)
            send_frame(9, ping)
            send_frame(0, payload[cut2:], fin=True)
        else:
            send_frame(op, payload)
        rop, code, echo = recv_message(ping)
        if rop == 8:
            raise Fail("ws: server closed (code %s, %r) at message %d" % (code, echo[:60], i + 1))
        if rop != op:
            raise Fail("ws: message %d: sent opcode %d, echo has %d" % (i + 1, op, rop))
        if echo != payload:
            raise Fail("ws: message %d: echo of %d bytes differs from the %d sent"
                       % (i + 1, len(echo), n))
        total += n
    send_frame(8, struct.pack("!H", 1000) + b"bye")
    rop, code, _ = recv_message()
    if rop != 8 or code != 1000:
        raise Fail("ws: close answered by opcode %d code %s" % (rop, code))
    if c.eof_within(a.timeout) != "closed":
        raise Fail("ws: the server did not close the TCP connection after the close handshake")
    ms = (time.monotonic() - t0) * 1000
    return "ws: %d messages echoed, %d bytes, in %.0f ms" % (a.count, total, ms)


def sse_client(a):
    url = a.url
    if "?" not in url:
        url += "?n=%d&interval=%d" % (a.k, a.interval)
    host, port, target = target_of(url, 80)
    hosthdr = a.host or "%s:%d" % (host, port)
    timeout = max(a.timeout, 2 * a.interval / 1000 + 5)
    c = Client(host, port, timeout)
    c.send(request_bytes("GET", target, hosthdr, [("Accept", "text/event-stream"),
                                                  ("Cache-Control", "no-cache")]))
    limit = a.interval / 2
    text = bytearray()
    lat = []

    def sink(piece):
        now = time.time()
        text.extend(piece)
        while True:
            i = text.find(b"\n\n")
            if i < 0:
                return
            ev = bytes(text[:i])
            del text[:i + 2]
            f = ev.split()
            if len(f) != 3 or f[0] != b"data:":
                raise Fail("sse: bad event %r" % ev[:60])
            idx, ts = int(f[1]), float(f[2])
            if idx != len(lat):
                raise Fail("sse: event %d arrived as number %d" % (idx, len(lat)))
            ms = (now - ts) * 1000
            lat.append(ms)
            if ms >= limit:
                raise Fail("sse: event %d arrived %.0f ms after it was written (limit %.0f ms): buffered?"
                           % (idx, ms, limit))

    r = read_response(c, sink=sink, keep=False)
    c.close()
    if r.status != 200 or not r.get("content-type").startswith("text/event-stream"):
        raise Fail("sse: %s, Content-Type %r" % (r.line, r.get("content-type")))
    if len(lat) != a.k:
        raise Fail("sse: %d events, expected %d" % (len(lat), a.k))
    return "sse: %d events streamed, max latency %.1f ms (limit %.0f ms)" % (
        a.k, max(lat) if lat else 0, limit)


def cutrelay(a):
    import signal
    import threading

    lock = threading.Lock()
    live = []  # (accepted socket, upstream socket)

    def pump(src, dst, pair):
        try:
            while True:
                b = src.recv(65536)
                if not b:
                    break
                with lock:
                    cut = pair not in live
                if cut:
                    return  # the far end hears nothing more
                dst.sendall(b)
        except OSError:
            return
        with lock:
            cut = pair not in live
        if not cut:
            try:
                dst.shutdown(socket.SHUT_WR)
            except OSError:
                pass

    def cut(signum, frame):
        with lock:
            pairs = list(live)
            live.clear()
        for c, _ in pairs:
            # shutdown, not just close: a thread blocked in recv() on c
            # would keep the socket, and its FIN, from going.
            try:
                c.shutdown(socket.SHUT_RDWR)
                c.close()
            except OSError:
                pass
        out("cut %d connection(s)" % len(pairs))

    signal.signal(signal.SIGUSR1, cut)
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", 0))
    ls.listen(16)
    out("listening on 127.0.0.1:%d" % ls.getsockname()[1])
    kept = []  # cut upstream sockets stay open until the relay exits
    while True:
        try:
            c, _ = ls.accept()
        except InterruptedError:
            continue
        u = socket.create_connection(("127.0.0.1", a.port))
        pair = (c, u)
        with lock:
            live.append(pair)
        kept.append(u)
        for x, y in ((c, u), (u, c)):
            threading.Thread(target=pump, args=(x, y, pair), daemon=True).start()


def run_client(fn, a):
    try:
        msg = fn(a)
    except Fail as e:
        msg = str(e)
        out(msg if msg.split(":")[0] == a.cmd else "%s: %s" % (a.cmd, msg))
        sys.exit(1)
    except (OSError, EOFError, ValueError) as e:
        out("%s: %s: %s" % (a.cmd, e.__class__.__name__, e))
        sys.exit(1)
    if msg is not None:  # None: fn printed its lines as they came
        out(msg)


def main():
    p = argparse.ArgumentParser(description="HTTP service and clients for warren's tests")
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("serve")
    s.add_argument("--name", default="svc")
    s.add_argument("--port", type=int, default=0)
    s.add_argument("--header-timeout", type=float, default=0)
    s.add_argument("--idle-timeout", type=float, default=0)

    def client(name, *pos, url=False):
        c = sub.add_parser(name)
        if url:
            c.add_argument("url")
        else:
            c.add_argument("addr")
            c.add_argument("port", type=int)
        for x, t in pos:
            c.add_argument(x, type=t)
        c.add_argument("--host", default=None, help="the Host header to send")
        c.add_argument("--timeout", type=float, default=10.0)
        return c

    c = client("ws", ("count", int), url=True)
    c.add_argument("--tls-ca", default=None, help="wss: TLS verified against this CA file")
    client("sse", ("k", int), ("interval", int), url=True)
    c = client("slowloris")
    c.add_argument("--seconds", type=float, default=30.0)
    c.add_argument("--conns", type=int, default=1, help="slow heads at once")
    c.add_argument("--ready", default=None, help="made once every head has begun")
    c = client("raw", ("data", str))
    c.add_argument("--close-wait", type=float, default=1.0)
    c.add_argument("--body", action="store_true", help="print each response body after the line")
    c.add_argument("--half-close", action="store_true", help="shutdown(SHUT_WR) after sending")
    c = client("keepalive", ("n", int))
    c.add_argument("--path", default="/")
    client("pipeline", ("n", int))
    c = client("conns", ("n", int))
    c.add_argument("--path", default="/")
    c.add_argument("--close", action="store_true", help="send Connection: close")
    r = sub.add_parser("cutrelay")
    r.add_argument("port", type=int)
    a = p.parse_args()
    if a.cmd == "serve":
        serve(a)
        return
    if a.cmd == "cutrelay":
        cutrelay(a)
        return
    fns = {"ws": ws_client, "sse": sse_client, "slowloris": slowloris, "raw": raw,
           "keepalive": keepalive, "pipeline": pipeline, "conns": conns}
    run_client(fns[a.cmd], a)


if __name__ == "__main__":
    main()
