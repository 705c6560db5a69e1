#!/usr/bin/env python3
"""Writes the hand-made seed inputs of the fuzz targets into t/fuzz/corpus/.

    python3 t/fuzz/gen_corpus.py

Seeds are named seed-*; inputs found by the fuzzer and kept are named
found-* and are not touched by this script. Layouts are described at the
top of each t/fuzz/fuzz_*.c.
"""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))

SYN, FIN, PSH, NOP, UPD, RST, GOAWAY, PING, PONG = range(9)

# fuzz_frames flags (see FZ_* and FZ2_* in fuzz_frames.c)
F_EOF, F_SMALL, F_REFUSE, F_PAUSE = 0x01, 0x02, 0x04, 0x08
F_PARTIAL, F_FREE_CLOSED, F_GOAWAY, F_CLOSE = 0x10, 0x20, 0x40, 0x80
G_TIME, G_OPEN, G_ACCEPT_CLOSE, G_HOLD = 0x01, 0x02, 0x10, 0x80
G_SMUX1, G_SMUX2, G_CLIENT = 0x20, 0x40, 0x60


def G_OPEN_N(n):
    return G_OPEN | ((n - 1) & 3) << 2


def frame(ver, cmd, sid, payload=b""):
    return struct.pack("<BBHI", ver, cmd, len(payload), sid) + payload


def preface(ver=1, flags=0, max_frame=65535, window=262144, session=16 << 20):
    return b"WRNX" + struct.pack("<BBHII", ver, flags, max_frame, window, session)


def u32x2(a, b):
    return struct.pack("<II", a, b)


def syn_ext(window=262144, prio=1):
    return struct.pack("<IB3x", window, prio)


def fz_frames(flags, body, cut1=None, cut2=None, flags2=0):
    """fuzz_frames input: two flag bytes, two cut points, the peer's bytes."""
    if cut1 is None:
        cut1 = len(body) // 3
    if cut2 is None:
        cut2 = 2 * len(body) // 3
    return struct.pack("<BBHH", flags, flags2, cut1, cut2) + body


def frames_seeds():
    w = lambda *a: frame(2, *a)
    s = {}
    # warren: one stream, data, half-close; cut inside the preface and a frame
    s["warren-echo"] = fz_frames(
        0, preface() + w(SYN, 1, syn_ext()) + w(PSH, 1, b"hello warren") + w(FIN, 1), 7, 29)
    # warren: session-level frames
    s["warren-session"] = fz_frames(
        0, preface() + w(PING, 0, b"12345678") + w(PONG, 0, b"\0" * 8) + w(UPD, 0, u32x2(0, 1 << 20))
        + w(NOP, 0) + w(GOAWAY, 0, u32x2(0, 500)))
    # warren: reset, UPD on a stream, RST of an unknown stream
    s["warren-rst"] = fz_frames(
        F_EOF, preface() + w(SYN, 3, syn_ext(4096, 0)) + w(PSH, 3, b"x" * 40)
        + w(UPD, 3, u32x2(0, 65536)) + w(RST, 3, struct.pack("<I", 0)) + w(RST, 99, struct.pack("<I", 2)))
    # warren with tiny limits: window overrun, stream limit, backlog
    body = preface(max_frame=1024, window=1024, session=1 << 20)
    for sid in (1, 3, 5, 7, 9, 11):
        body += w(SYN, sid, syn_ext(1024, sid % 4))
    for sid in (1, 3, 5):
        body += w(PSH, sid, bytes([sid]) * 700) + w(PSH, sid, bytes([sid]) * 400)
    s["warren-small"] = fz_frames(F_SMALL | F_PAUSE, body, flags2=G_HOLD)
    # session budget: three held streams, never read, 700 bytes each
    head = preface(max_frame=1024, window=1024, session=1 << 20)
    head += w(SYN, 1) + w(SYN, 3) + w(PSH, 1, b"a" * 700) + w(PSH, 3, b"b" * 700)
    body = head + w(SYN, 5) + w(PSH, 5, b"c" * 700)
    s["warren-budget"] = fz_frames(F_SMALL, body, len(head), len(body), G_HOLD)
    # echo fills the send buffer: write-full, then the write callback; UPDs
    body = preface(max_frame=1024, window=4096, session=1 << 20) + w(SYN, 1, syn_ext(1024, 0))
    body += w(PSH, 1, bytes(range(256)) * 4) + w(UPD, 1, u32x2(1024, 4096)) + w(PSH, 1, b"!P0")
    body += w(PSH, 1, b"z" * 1000) + w(UPD, 0, u32x2(1024, 8192)) + w(FIN, 1)
    s["warren-writefull"] = fz_frames(F_SMALL, body, 16 + 16 + 8 + 1024, 16 + 16 + 8 + 1024 + 16)
    # warren: protocol errors after a good start (dup SYN, our parity, bad cmd)
    s["warren-dup-syn"] = fz_frames(0, preface() + w(SYN, 1) + w(SYN, 1))
    s["warren-parity"] = fz_frames(F_CLOSE, preface() + w(SYN, 2))
    s["warren-badcmd"] = fz_frames(0, preface() + w(SYN, 1) + frame(2, 9, 1))
    s["warren-badsyn"] = fz_frames(0, preface() + w(SYN, 1, syn_ext(10)))
    s["warren-upd-over"] = fz_frames(
        0, preface() + w(SYN, 1) + w(UPD, 1, u32x2(100, 4096)) + w(UPD, 0, u32x2(5, 4096)))
    # warren: truncated frame then EOF; refused streams; goaway from us
    s["warren-trunc"] = fz_frames(F_EOF, preface() + w(SYN, 1) + w(PSH, 1, b"abcdef")[:10])
    s["warren-refuse"] = fz_frames(
        F_REFUSE | F_GOAWAY | F_FREE_CLOSED | F_EOF,
        preface() + w(SYN, 1) + w(SYN, 5) + w(PSH, 5, b"r") + w(PSH, 1, b"ok") + w(FIN, 1) + w(SYN, 7)
        + w(SYN, 9) + w(SYN, 11), flags2=G_ACCEPT_CLOSE)
    # warren: application commands in stream data
    s["warren-commands"] = fz_frames(
        0, preface() + w(SYN, 1) + w(SYN, 3) + w(SYN, 5) + w(SYN, 7) + w(PSH, 1, b"!P3 prio")
        + w(PSH, 1, b"!O open") + w(PSH, 3, b"!F") + w(FIN, 3) + w(PSH, 5, b"!R") + w(PSH, 7, b"!C")
        + w(PSH, 1, b"!G") + w(PSH, 1, b"!X"))
    # warren: our streams, flow control by UPD, timers (PING, dead peer)
    body = preface(window=1024, session=2048)
    body += w(UPD, 2, u32x2(0, 4096)) + w(UPD, 0, u32x2(0, 8192)) + w(PSH, 2, b"back") + w(FIN, 2)
    body += w(PONG, 0, struct.pack("<Q", 1)) + w(UPD, 4, u32x2(4000, 4096))
    s["warren-open-time"] = fz_frames(F_SMALL, body, 16, 60, G_TIME | G_OPEN_N(3))
    s["time-handshake"] = fz_frames(0, b"", flags2=G_TIME)
    s["time-smux"] = fz_frames(F_CLOSE, frame(1, NOP, 0), flags2=G_TIME)
    # client WARREN: our stream opened before the peer's preface
    s["client"] = fz_frames(
        0, preface(window=2048) + w(UPD, 1, u32x2(0, 8192)) + w(PSH, 1, b"hi") + w(FIN, 1) + w(SYN, 2),
        flags2=G_CLIENT | G_OPEN_N(2))
    s["client-badpreface"] = fz_frames(0, b"\x01" * 16, flags2=G_CLIENT | G_OPEN)
    # fixed smux modes (no detection)
    s["mode-smux1"] = fz_frames(
        F_EOF, frame(1, SYN, 1) + frame(1, PSH, 1, b"v1") + frame(1, FIN, 1), flags2=G_SMUX1 | G_OPEN)
    s["mode-smux2"] = fz_frames(
        F_EOF, frame(2, SYN, 1) + frame(2, UPD, 2, u32x2(0, 1 << 20)) + frame(2, PSH, 1, b"v2")
        + frame(2, FIN, 1), flags2=G_SMUX2 | G_OPEN | G_TIME)
    # our stream ends cleanly both ways but keeps unread data: on teardown
    # its last callback is a read, after which EOF must show
    head = preface()
    body = head + w(PSH, 2, b"d" * 300) + w(FIN, 2)
    s["warren-clean-teardown"] = fz_frames(F_PARTIAL, body, len(head), len(body), G_OPEN)
    # the two cases that once found core bugs, smallest form
    s["known-accept-close"] = fz_frames(0, frame(1, SYN, 9), 0, 0, G_ACCEPT_CLOSE)
    s["known-close-reason"] = fz_frames(F_CLOSE, frame(1, NOP, 0), 0, 0)
    # bad prefaces
    s["preface-badver"] = fz_frames(0, preface(ver=2))
    s["preface-window"] = fz_frames(0, preface(window=100))
    s["first-byte"] = fz_frames(0, b"\x07garbage")
    # plain smux v1: no UPD, FIN for a reset
    v1 = lambda *a: frame(1, *a)
    s["smux1-echo"] = fz_frames(
        0, v1(SYN, 1) + v1(PSH, 1, b"hello smux1") + v1(NOP, 0) + v1(FIN, 1) + v1(SYN, 3)
        + v1(PSH, 3, b"y" * 100), 3, 20)
    s["smux1-upd"] = fz_frames(0, v1(SYN, 1) + v1(UPD, 1, u32x2(0, 0)))
    # plain smux v2: UPD, repeated SYN ignored, data to unknown stream
    v2 = lambda *a: frame(2, *a)
    s["smux2-echo"] = fz_frames(
        F_CLOSE, v2(SYN, 1) + v2(PSH, 1, b"hello smux2") + v2(UPD, 1, u32x2(0, 262144)) + v2(SYN, 1)
        + v2(PSH, 77, b"zz") + v2(FIN, 1) + v2(FIN, 1))
    s["smux2-ext-cmd"] = fz_frames(0, v2(SYN, 1) + v2(PING, 0, b"12345678"))
    s["smux2-small"] = fz_frames(
        F_SMALL | F_PARTIAL | F_EOF,
        b"".join(v2(SYN, i) for i in (1, 3, 5, 7, 9)) + v2(PSH, 1, b"a" * 1024) + v2(PSH, 3, b"b" * 1024)
        + v2(PSH, 5, b"c" * 1024))
    return s


CONF_SEEDS = {
    "empty": "",
    "null": "~\n",
    "cfg-full": """workers: 4
log:
  level: debug
  file: stderr
mux:
  max_frame: 32k
  stream_window: 512k
  session_budget: 64m
  max_streams: 100
  accept_backlog: 10
  send_buffer: 128k
  ping_interval: 5s
  keepalive_timeout: 1m
""",
    "cfg-bad-mux": "mux:\n  stream_window: 1m\n  session_budget: 64k\n",
    "cfg-timers-off": "mux:\n  ping_interval: 0\n  keepalive_timeout: 1500us\n",
    "cfg-null-maps": "log:\nmux: ~\n",
    "cfg-unknown": "workers: 2\nwokers: 3\n",
    "cfg-types": "workers: lots\nlog: [a, b]\n",
    "schema-all": """need: yes
str: "a \\"quoted\\" string\\n"
num: -7
any: 9223372036854775807
flag: On
size: 1gb
bytes: 18446744073709551615
ms: 1500us
level: warn
raw: {a: 1, b: [x, y]}
map: {k: v}
seq: [1, 2, 3]
custom: 42
sub:
  a: 1
  b: two
""",
    "schema-missing": "sub: {b: x}\nms: 30\nsize: 99999999999g\n",
    "flow": "{a: [1, {b: c}], 'd': \"e\"}\n",
    "seq-root": "- a\n- b: c\n- [d]\n",
    "scalar-root": "just text\n",
    "block-scalars": "a: |\n  line1\n  line2\nb: >\n  folded\n  text\n",
    "anchor": "a: &x 1\nb: *x\n",
    "dup-key": "a: 1\na: 2\n",
    "two-docs": "a: 1\n---\nb: 2\n",
    "tags": "a: !!str 12\nb: !custom x\n",
    "utf8": "k\u00e9y: v\u00e2l\u00fce \u2603\n\"\\u00e9\": 1\n",
    "deep": "a: " + "[" * 70 + "]" * 70 + "\n",
    "syntax": "a: [1, 2\nb: }\n",
}


def preface_seeds():
    s = {}
    s["good"] = preface()
    s["good-min"] = preface(max_frame=1024, window=1024, session=1024)
    s["good-max"] = preface(flags=0xff, max_frame=65535, window=0x7fffffff, session=0x7fffffff)
    s["bad-magic"] = b"WRNY" + preface()[4:]
    s["bad-version"] = preface(ver=0)
    s["bad-frame"] = preface(max_frame=1023)
    s["bad-session"] = preface(window=4096, session=4095)
    s["hdr-psh"] = struct.pack("<BBHI", 2, PSH, 1500, 1) + struct.pack("<I", 1400) + b"\0" * 4
    s["hdr-upd0"] = frame(2, UPD, 0, b"\0" * 8)[:8] + b"\0" * 8
    s["hdr-syn-ext"] = frame(2, SYN, 3, syn_ext())[:8] + b"\0\4\0\0" + b"\0" * 4
    s["hdr-v1-nop"] = frame(1, NOP, 5) + b"\0" * 8
    s["hdr-ping"] = frame(2, PING, 0, b"12345678")[:8] + b"\0\0\1\0" + b"\0" * 4
    s["short"] = b"W"
    return s


def write_dir(name, seeds):
    d = os.path.join(HERE, "corpus", name)
    os.makedirs(d, exist_ok=True)
    for old in os.listdir(d):
        if old.startswith("seed-"):
            os.remove(os.path.join(d, old))
    for k, v in seeds.items():
        if isinstance(v, str):
            v = v.encode()
        assert len(v) < 4096, (name, k, len(v))
        with open(os.path.join(d, "seed-" + k), "wb") as f:
            f.write(v)


def main():
    write_dir("frames", frames_seeds())
    write_dir("conf", CONF_SEEDS)
    write_dir("preface", preface_seeds())


if __name__ == "__main__":
    main()
