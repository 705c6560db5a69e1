#!/bin/sh
# Bad input on a mux port: every malformed frame ends only its own session,
# with the reason logged; the same process keeps serving good sessions.
. "$(dirname "$0")/lib.sh"

[ -x "$MUXPEER" ] || fail "muxpeer not built"
port=$(free_port)
spawn "$TMPD/listener.log" "$MUXPEER" --listen "127.0.0.1:$port" --echo --max-frame 16384 \
    --ping-interval 200ms --keepalive-timeout 1s
listener=$!
wait_log "$TMPD/listener.log" "listening on 127.0.0.1:$port" 10 || fail "listener did not start"

python3 - "$port" "$TMPD/listener.log" <<'PY' || fail "bad-input cases failed"
import socket, struct, sys, time

port, log = int(sys.argv[1]), sys.argv[2]

def hdr(ver, cmd, length, sid):
    return struct.pack("<BBHI", ver, cmd, length, sid)

def preface(window=65536, session=1 << 24):
    return b"WRNX" + struct.pack("<BBHII", 1, 0, 65535, window, session)

def closes(payload, reason, shut=False):
    s = socket.create_connection(("127.0.0.1", port), 2)
    s.settimeout(3)
    s.sendall(payload)
    if shut:
        s.shutdown(socket.SHUT_WR)
    end = time.time() + 3
    try:
        while time.time() < end:
            if not s.recv(65536):
                break
        else:
            raise SystemExit("session not closed for: " + reason)
    except ConnectionResetError:
        pass
    s.close()
    end = time.time() + 3
    while time.time() < end:
        if reason in open(log).read():
            print("ok:", reason)
            return
        time.sleep(0.05)
    raise SystemExit("no log line with: " + reason)

nop2 = hdr(2, 3, 0, 0)
closes(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", "first byte 0x47 is neither smux nor warren")
closes(bytes([0x16, 0x03, 0x01, 0x02, 0x00, 0x01]) + b"\0" * 64, "first byte 0x16 is neither smux nor warren")
closes(nop2 + hdr(7, 2, 1, 3) + b"x", "bad version 7 (expected 2)")
closes(nop2 + hdr(2, 9, 0, 3), "unknown command 9")
closes(nop2 + hdr(2, 3, 4, 0) + b"abcd", "bad length 4 for NOP (expected 0)")
closes(nop2 + hdr(2, 0, 1, 3) + b"x", "bad length 1 for SYN (expected 0)")
closes(nop2 + hdr(2, 1, 2, 3) + b"xy", "bad length 2 for FIN (expected 0)")
closes(nop2 + hdr(2, 4, 3, 3) + b"xyz", "bad length 3 for UPD (expected 8)")
closes(hdr(1, 3, 0, 0) + hdr(1, 4, 8, 3) + b"\0" * 8, "unknown command 4")
closes(nop2 + hdr(2, 0, 0, 3) + hdr(2, 2, 20000, 3) + b"z" * 20000,
       "oversize frame: length 20000 > max frame 16384")
closes(nop2 + hdr(2, 2, 100, 3) + b"0123456789", "truncated frame: connection closed with 18 bytes", shut=True)
closes(b"WRNX" + struct.pack("<BBHII", 9, 0, 65535, 65536, 1 << 24), "unsupported warren mux version 9")
closes(preface() + hdr(2, 5, 3, 3) + b"abc", "bad length 3 for RST (expected 4)")
# Silence after a valid preface: PINGs go unanswered.
closes(preface(), "peer dead: no answer to PING within 200 ms")

# Window overrun (warren): never read the echo and never send UPD, so the
# echo stops reading and the stream's window fills; then overrun it.
s = socket.create_connection(("127.0.0.1", port), 2)
s.settimeout(5)
s.sendall(preface() + hdr(2, 0, 8, 1) + struct.pack("<IB3x", 65536, 2))
chunk = hdr(2, 2, 16384, 1) + b"o" * 16384
got = b""
def pump():
    global got
    try:
        s.settimeout(0.01)
        while True:
            d = s.recv(1 << 20)
            if not d:
                break
            got += d
    except (socket.timeout, BlockingIOError):
        pass
    s.settimeout(5)
for i in range(48):            # 768 KiB, well past window + send buffer
    s.sendall(chunk)
    pump()
    if b"window overrun" in open(log).read().encode():
        break
end = time.time() + 3
def frames(buf):
    off = 16 if buf[:4] == b"WRNX" else 0
    while off + 8 <= len(buf):
        ver, cmd, ln, sid = struct.unpack_from("<BBHI", buf, off)
        yield cmd, sid, buf[off + 8: off + 8 + ln]
        off += 8 + ln
rst = None
while time.time() < end and rst is None:
    pump()
    for cmd, sid, p in frames(got):
        if cmd == 5 and sid == 1:
            rst = struct.unpack("<I", p)[0]
if rst != 2:
    raise SystemExit("no RST(flow control) for the overrun stream (got %r)" % rst)
# The session itself lives on: a PING is answered.
s.sendall(hdr(2, 7, 8, 0) + b"pingpong")
end = time.time() + 3
while time.time() < end:
    pump()
    if any(c == 8 and p == b"pingpong" for c, sid, p in frames(got)):
        break
else:
    raise SystemExit("session did not answer PING after the stream reset")
s.close()
print("ok: window overrun resets the stream, the session lives")
PY

# The same process still serves a good session.
out=$("$MUXPEER" --connect "127.0.0.1:$port" --drive --streams 10 --bytes 100k) || fail "good session after bad input: $out"
echo "$out" | grep -q "^10 passed, 0 failed$" || fail "good session: $out"
kill -TERM "$listener"
wait_exit "$listener" 10 || fail "listener exit status $? after SIGTERM"
echo ok
