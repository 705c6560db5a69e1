#!/usr/bin/env python3
"""Helpers for warren's tunnel_*.sh integration tests (standard library only).

    tunnel_lib.py echo [--banner]          local service on 127.0.0.1, port 0;
                                           logs "listening on 127.0.0.1:PORT",
                                           "accept N from ADDR" per connection
    tunnel_lib.py freerange N              N consecutive free ports below the
                                           ephemeral range: prints the lowest
    tunnel_lib.py bulk PORT MIB            MIB MiB of random bytes both ways at once
    tunnel_lib.py many PORT CONNS BYTES    CONNS concurrent echoes of BYTES each
    tunnel_lib.py halfclose PORT BYTES     send, shut down writing, full echo + EOF
    tunnel_lib.py banner PORT PAYLOAD      banner service: banner then EOF, then send
    tunnel_lib.py echo1 PORT BYTES         one echo round trip
    tunnel_lib.py wait_echo PORT SECONDS   retry echo1 until it works
    tunnel_lib.py closed PORT SECONDS      connect, send; closed within SECONDS?
    tunnel_lib.py inflight PORT DIR        a connection that lives across a drain
    tunnel_lib.py killmid PORT PID SECONDS transfer, SIGKILL PID mid-way, closed within?
    tunnel_lib.py garbage PORT KIND        http|random|smux|clienthello|silent|preface
    tunnel_lib.py hello PORT KIND TOKEN LOPORT   hand-written HELLO; prints the reply

Every wait is bounded; exit status 0 means the check passed, 1 that it failed
(with a line saying why on stdout).
"""
import asyncio
import hashlib
import os
import random
import signal
import socket
import ssl
import struct
import sys
import threading
import time

HOST = "127.0.0.1"
# How long to wait for something that normally happens at once (a reply, a
# close): a ceiling for a heavily loaded machine, not an expected time.
PATIENCE = 30.0


def out(*a):
    print(*a, flush=True)


def die(msg):
    out("FAIL: " + msg)
    sys.exit(1)


# ---------------------------------------------------------------- service

def serve_echo(banner):
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((HOST, 0))
    ls.listen(1024)
    out("listening on %s:%d" % ls.getsockname())
    lock = threading.Lock()
    count = [0]

    def echo(c, n):
        total = 0
        try:
            while True:
                b = c.recv(262144)
                if not b:
                    break
                c.sendall(b)
                total += len(b)
            c.shutdown(socket.SHUT_WR)  # EOF after every byte read was echoed
            out("conn %d done: %d bytes echoed" % (n, total))
        except OSError as e:
            out("conn %d error after %d bytes: %s" % (n, total, e))
        finally:
            c.close()

    def bannered(c, n):
        got = b""
        try:
            c.sendall(b"WARREN-BANNER\n")
            c.shutdown(socket.SHUT_WR)  # no more from the service; still reading
            while True:
                b = c.recv(65536)
                if not b:
                    break
                got += b
            out("conn %d received %d bytes after its EOF: %r" % (n, len(got), got[:64]))
        except OSError as e:
            out("conn %d error: %s" % (n, e))
        finally:
            c.close()

    while True:
        c, addr = ls.accept()
        with lock:
            count[0] += 1
            n = count[0]
        out("accept %d from %s:%d" % (n, addr[0], addr[1]))
        threading.Thread(target=bannered if banner else echo, args=(c, n), daemon=True).start()


def freerange(n):
    for _ in range(200):
        lo = random.randint(20000, 32000 - n)
        socks = []
        try:
            for p in range(lo, lo + n):
                s = socket.socket()
                s.bind((HOST, p))
                socks.append(s)
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
        out(lo)
        return
    die("no %d consecutive free ports" % n)


# ---------------------------------------------------------------- traffic

def connect(port, timeout=10.0):
    s = socket.create_connection((HOST, port), timeout)
    s.settimeout(timeout)
    return s


def recv_all(s):
    parts = []
    while True:
        b = s.recv(262144)
        if not b:
            return b"".join(parts)
        parts.append(b)


def bulk(port, mib):
    total = mib << 20
    s = connect(port, 30)
    sent = hashlib.sha256()
    err = []

    def sender():
        try:
            left = total
            while left:
                chunk = os.urandom(min(left, 1 << 20))
                sent.update(chunk)
                s.sendall(chunk)
                left -= len(chunk)
            s.shutdown(socket.SHUT_WR)
        except OSError as e:
            err.append(e)

    t0 = time.time()
    th = threading.Thread(target=sender)
    th.start()
    got = hashlib.sha256()
    n = 0
    try:
        while True:
            b = s.recv(1 << 20)
            if not b:
                break
            got.update(b)
            n += len(b)
    except OSError as e:
        die("receive failed after %d bytes: %s" % (n, e))
    th.join(30)
    dt = time.time() - t0
    if err:
        die("send failed: %s" % err[0])
    if n != total:
        die("echoed %d bytes, sent %d" % (n, total))
    if got.digest() != sent.digest():
        die("sha256 of the echo %s != sent %s" % (got.hexdigest(), sent.hexdigest()))
    out("bulk: %d bytes both ways intact (sha256 %s) in %.1f s, %.0f MB/s"
        % (total, sent.hexdigest()[:16], dt, total / dt / 1e6))


def many(port, conns, size):
    async def one(i):
        data = os.urandom(size)
        r, w = await asyncio.open_connection(HOST, port)

        async def write():
            for off in range(0, size, 65536):
                w.write(data[off:off + 65536])
                await w.drain()
            w.write_eof()

        wt = asyncio.ensure_future(write())
        echo = await r.readexactly(size)
        await wt
        tail = await r.read(1)
        w.close()
        if echo != data:
            return "connection %d: echo differs" % i
        if tail != b"":
            return "connection %d: no EOF after the echo" % i
        return None

    async def main():
        res = await asyncio.wait_for(
            asyncio.gather(*(one(i) for i in range(conns)), return_exceptions=True), 60)
        bad = [r for r in res if r is not None]
        return bad

    t0 = time.time()
    bad = asyncio.run(main())
    if bad:
        die("%d of %d connections failed, e.g. %r" % (len(bad), conns, bad[0]))
    out("many: %d concurrent connections each echoed %d bytes intact in %.1f s"
        % (conns, size, time.time() - t0))


def halfclose(port, size):
    data = os.urandom(size)
    s = connect(port)
    s.sendall(data)
    s.shutdown(socket.SHUT_WR)
    try:
        echo = recv_all(s)
    except OSError as e:
        die("after shutdown(SHUT_WR): receive failed: %s" % e)
    if echo != data:
        die("half-close: echoed %d bytes, sent %d (equal: %s)" % (len(echo), size, echo == data))
    out("halfclose: %d bytes echoed after the public side's FIN, then EOF" % size)


def banner(port, payload):
    s = connect(port)
    try:
        got = recv_all(s)  # the banner, then the service's EOF
    except OSError as e:
        die("banner: receive failed: %s" % e)
    if got != b"WARREN-BANNER\n":
        die("banner: got %r before EOF" % got)
    try:
        s.sendall(payload.encode())  # our direction is still open
        s.shutdown(socket.SHUT_WR)
        tail = recv_all(s)
    except OSError as e:
        die("banner: sending after the service's EOF failed: %s" % e)
    if tail:
        die("banner: unexpected %r after EOF" % tail)
    out("banner: banner then EOF; %d bytes sent afterwards" % len(payload))


def echo1(port, size, timeout=5.0):
    data = os.urandom(size)
    s = connect(port, timeout)
    s.sendall(data)
    s.shutdown(socket.SHUT_WR)
    echo = recv_all(s)
    s.close()
    if echo != data:
        raise OSError("echoed %d of %d bytes, equal %s" % (len(echo), size, echo == data))


def wait_echo(port, secs):
    t0 = time.time()
    last = None
    while time.time() - t0 < secs:
        try:
            echo1(port, 65536, 2.0)
            out("echo ok after %.0f ms" % ((time.time() - t0) * 1000))
            return
        except OSError as e:
            last = e
            time.sleep(0.05)
    die("no working echo on port %d within %s s (last: %s)" % (port, secs, last))


def wait_closed(s, secs):
    """Seconds until s reads EOF or an error; dies after secs."""
    t0 = time.time()
    s.settimeout(0.1)
    while time.time() - t0 < secs:
        try:
            b = s.recv(65536)
            if not b:
                return time.time() - t0, "EOF"
        except socket.timeout:
            continue
        except OSError as e:
            return time.time() - t0, e.__class__.__name__
    die("the connection is still open %.1f s later" % secs)


def closed(port, secs):
    t0 = time.time()
    try:
        s = connect(port)
    except ConnectionResetError:
        # Accepted and reset before connect() returned (its SO_ERROR check
        # saw the reset): closed at once. A refusal would mean no listener.
        out("closed: ConnectionResetError during connect after %.0f ms" % ((time.time() - t0) * 1000))
        return
    try:
        s.sendall(b"hello?")
    except OSError:
        pass
    dt, how = wait_closed(s, secs)
    out("closed: %s after %.0f ms" % (how, dt * 1000))


def killmid(port, pid, secs):
    s = connect(port)
    stop = threading.Event()
    echoed = [0]

    def sender():
        chunk = os.urandom(65536)
        try:
            while not stop.is_set():
                s.sendall(chunk)
        except OSError:
            pass

    th = threading.Thread(target=sender, daemon=True)
    th.start()
    t_end = time.time() + 10
    while echoed[0] < (4 << 20) and time.time() < t_end:
        b = s.recv(65536)
        if not b:
            die("EOF before the kill")
        echoed[0] += len(b)
    if echoed[0] < (4 << 20):
        die("only %d bytes echoed in 10 s" % echoed[0])
    os.kill(pid, signal.SIGKILL)
    t0 = time.time()
    # Drain what is in flight, then expect EOF or a reset.
    s.settimeout(0.1)
    how = None
    while time.time() - t0 < secs:
        try:
            b = s.recv(1 << 20)
            if not b:
                how = "EOF"
                break
        except socket.timeout:
            continue
        except OSError as e:
            how = e.__class__.__name__
            break
    stop.set()
    if how is None:
        die("public connection still open %.1f s after kill -9 of the client" % secs)
    out("killmid: %d bytes echoed, kill -9, then %s after %.0f ms"
        % (echoed[0], how, (time.time() - t0) * 1000))


def inflight(port, flagdir):
    """An echo connection that lives across a server drain: one round trip,
    then flagdir/ready; waits for flagdir/go (10 s at most), then another
    round trip, FIN, the rest of the echo and EOF."""
    s = connect(port)
    a, b = os.urandom(65536), os.urandom(65536)
    s.sendall(a)
    got = b""
    while len(got) < len(a):
        c = s.recv(65536)
        if not c:
            die("inflight: EOF during the first round trip")
        got += c
    if got != a:
        die("inflight: first echo differs")
    open(os.path.join(flagdir, "ready"), "w").close()
    end = time.time() + 10
    while not os.path.exists(os.path.join(flagdir, "go")):
        if time.time() > end:
            die("inflight: no go")
        time.sleep(0.02)
    try:
        s.sendall(b)
        s.shutdown(socket.SHUT_WR)
        rest = recv_all(s)
    except OSError as e:
        die("inflight: the open connection broke during the drain: %s" % e)
    if rest != b:
        die("inflight: echo during the drain: %d of %d bytes, equal %s" % (len(rest), len(b), rest == b))
    out("inflight: the open connection echoed %d bytes during the drain, then EOF" % len(b))


# ---------------------------------------------------------------- wire format

PREFACE = b"WRNX" + struct.pack("<BBHII", 1, 0, 65535, 262144, 16777216)


def frame(cmd, sid, payload=b""):
    return struct.pack("<BBHI", 2, cmd, len(payload), sid) + payload


def field(tag, value):
    return struct.pack("<BH", tag, len(value)) + value


def message(mtype, body, version=1):
    return struct.pack("<BBH", mtype, version, len(body)) + body


def tunnel(name, port, ttype=1, prio=2):
    return field(6, field(1, name.encode()) + field(2, bytes([ttype])) +
                 field(3, bytes([prio])) + field(4, struct.pack("<H", port)))


def hello_body(token, tunnels):
    return (field(1, struct.pack("<HH", 1, 1)) + field(3, token.encode()) +
            field(4, os.urandom(16)) + field(5, b"handmade") + b"".join(tunnels))


def client_hello_bytes():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    inc, outg = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, outg, server_hostname="localhost")
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return outg.read()


def read_exact(s, n):
    buf = b""
    while len(buf) < n:
        b = s.recv(n - len(buf))
        if not b:
            raise EOFError("closed after %d of %d bytes" % (len(buf), n))
        buf += b
    return buf


def parse_fields(body):
    fields = []
    while body:
        tag, ln = struct.unpack("<BH", body[:3])
        fields.append((tag, body[3:3 + ln]))
        body = body[3 + ln:]
    return fields


def session_reply(s, secs):
    """Reads the server's preface and frames until a whole control message
    arrived on stream 3; returns (type, fields) and whether the server then
    closed the connection within secs."""
    s.settimeout(secs)
    pre = read_exact(s, 16)
    if pre[:4] != b"WRNX":
        die("server preface %r" % pre)
    ctl = b""
    msg = None
    while msg is None:
        ver, cmd, ln, sid = struct.unpack("<BBHI", read_exact(s, 8))
        payload = read_exact(s, ln)
        if cmd == 2 and sid == 3:
            ctl += payload
            if len(ctl) >= 4 and len(ctl) >= 4 + struct.unpack("<H", ctl[2:4])[0]:
                body = ctl[4:4 + struct.unpack("<H", ctl[2:4])[0]]
                msg = (ctl[0], parse_fields(body))
        elif cmd == 5 and sid == 3:
            die("control stream reset by the server (reason %d)" % struct.unpack("<I", payload)[0])
    return msg


def hello(port, kind, token, loport):
    s = connect(port)
    tunnels = [tunnel("hand", loport)]
    if kind == "valid":
        body = hello_body(token, tunnels)
    elif kind == "runpast":  # a token field claiming 500 bytes in a short message
        body = field(1, struct.pack("<HH", 1, 1)) + struct.pack("<BH", 3, 500) + b"tok"
    elif kind == "nested":  # a tunnel whose name field runs past the tunnel field
        t = struct.pack("<BH", 1, 4000) + b"x" + field(4, struct.pack("<H", loport))
        body = hello_body(token, [field(6, t)])
    elif kind == "tunnels64":
        body = hello_body(token, [tunnel("t%02d" % i, loport + i) for i in range(64)])
    elif kind == "tunnels65":
        body = hello_body(token, [tunnel("t%02d" % i, loport + i) for i in range(65)])
    elif kind == "badname":
        body = hello_body(token, [tunnel("bad name\n", loport)])
    elif kind == "version":  # only protocol versions 2..3
        body = field(1, struct.pack("<HH", 2, 3)) + hello_body(token, tunnels)[7:]
    elif kind == "notoken":
        body = field(1, struct.pack("<HH", 1, 1)) + b"".join(tunnels)
    elif kind == "msgversion":  # control message header version 2
        s.sendall(PREFACE + frame(0, 3, struct.pack("<IB3x", 262144, 0)) +
                  frame(2, 3, message(1, hello_body(token, tunnels), version=2)))
        body = None
    else:
        die("unknown hello kind " + kind)
    if body is not None:
        syn = frame(0, 3, struct.pack("<IB3x", 262144, 0))
        s.sendall(PREFACE + syn + frame(2, 3, message(1, body)))
    try:
        mtype, fields = session_reply(s, PATIENCE)
    except (EOFError, OSError) as e:
        die("no control message from the server: %s" % e)
    f = {}
    for tag, v in fields:
        f.setdefault(tag, []).append(v)
    if mtype == 3:
        code = struct.unpack("<I", f[9][0])[0] if 9 in f else -1
        text = f.get(11, [b""])[0].decode(errors="replace")
        try:
            dt, how = wait_closed(s, PATIENCE)
            tail = "; then %s after %.0f ms" % (how, dt * 1000)
        except SystemExit:
            tail = "; the server did not close the connection"
        out("REFUSE code=%d text=%s%s" % (code, text, tail))
    elif mtype == 2:
        n = len(f.get(6, []))
        addrs = [dict(parse_fields(t)).get(5, b"").decode() for t in f.get(6, [])]
        out("WELCOME tunnels=%d first=%s" % (n, addrs[0] if addrs else "-"))
    else:
        out("message type %d: %r" % (mtype, fields))


def garbage(port, kind):
    if kind == "http":
        data = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: curl/8\r\n\r\n"
    elif kind == "random":
        data = b"\xff" + random.Random(4242).randbytes(4095)
    elif kind == "smux":  # first byte 2 (plain smux v2), then nonsense frames
        data = b"\x02" + random.Random(99).randbytes(4095)
    elif kind == "clienthello":
        data = client_hello_bytes()
    elif kind == "silent":
        data = b""
    elif kind == "preface":  # a good preface, then nothing
        data = PREFACE
    elif kind == "badpreface":  # warren magic, version 9
        data = b"WRNX" + struct.pack("<BBHII", 9, 0, 65535, 262144, 16777216)
    else:
        die("unknown garbage kind " + kind)
    s = connect(port)
    try:
        if data:
            s.sendall(data)
    except OSError:
        pass
    dt, how = wait_closed(s, PATIENCE)
    out("%s: %d bytes sent, connection closed (%s) after %.0f ms" % (kind, len(data), how, dt * 1000))


def main(a):
    cmd = a[0]
    if cmd == "echo":
        serve_echo("--banner" in a[1:])
    elif cmd == "freerange":
        freerange(int(a[1]))
    elif cmd == "bulk":
        bulk(int(a[1]), int(a[2]))
    elif cmd == "many":
        many(int(a[1]), int(a[2]), int(a[3]))
    elif cmd == "halfclose":
        halfclose(int(a[1]), int(a[2]))
    elif cmd == "banner":
        banner(int(a[1]), a[2])
    elif cmd == "echo1":
        try:
            echo1(int(a[1]), int(a[2]), PATIENCE)
        except OSError as e:
            die("echo: %s" % e)
        out("echo ok")
    elif cmd == "wait_echo":
        wait_echo(int(a[1]), float(a[2]))
    elif cmd == "inflight":
        inflight(int(a[1]), a[2])
    elif cmd == "closed":
        closed(int(a[1]), float(a[2]))
    elif cmd == "killmid":
        killmid(int(a[1]), int(a[2]), float(a[3]))
    elif cmd == "garbage":
        garbage(int(a[1]), a[2])
    elif cmd == "hello":
        hello(int(a[1]), a[2], a[3], int(a[4]))
    else:
        die("unknown command " + cmd)


if __name__ == "__main__":
    main(sys.argv[1:])
