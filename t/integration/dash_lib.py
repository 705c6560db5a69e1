#!/usr/bin/env python3
"""Helpers for the dashboard tests (standard library only).

    dash_lib.py check FILE EXPR [WHAT]
        load FILE as JSON into d and evaluate the Python expression EXPR;
        exit 0 when it is true, else print WHAT (default EXPR) and d, exit 1.
    dash_lib.py get FILE EXPR
        print the value of EXPR (JSON for lists and objects).
    dash_lib.py events URL MATCH [--timeout S] [--header H]
        read the server-sent events at URL; print "ready" once the hello
        event came, then wait for a "request" event whose path contains
        MATCH and print "request ID PATH STATE"; exit 1 after S seconds
        (default 10) without one.
    dash_lib.py garbage HOST PORT
        send the dashboard port what is not HTTP, or HTTP it must refuse,
        and print one line per case with what came back.
    dash_lib.py har FILE
        check FILE as a HAR 1.2 log; print "har: N entries".
"""
import json
import re
import socket
import sys
import time
import urllib.request


def load(path):
    with open(path, "rb") as f:
        return json.loads(f.read().decode("utf-8"))


def check(a):
    d = load(a[0])
    ok = False
    try:
        ok = eval(a[1], {"d": d, "len": len, "any": any, "all": all, "base64": __import__("base64"),
                         "hashlib": __import__("hashlib")})
    except Exception as e:  # a missing key is a failed check
        print("check raised %s: %s" % (e.__class__.__name__, e))
    if not ok:
        print("FAIL: %s" % (a[2] if len(a) > 2 else a[1]))
        print(json.dumps(d)[:3000])
        sys.exit(1)


def get(a):
    d = load(a[0])
    v = eval(a[1], {"d": d, "len": len})
    print(json.dumps(v) if isinstance(v, (list, dict)) or v is None else v)


def events(a):
    url, match = a[0], a[1]
    timeout = 10.0
    headers = {"Accept": "text/event-stream"}
    i = 2
    while i < len(a):
        if a[i] == "--timeout":
            timeout = float(a[i + 1])
        elif a[i] == "--header":
            k, v = a[i + 1].split(":", 1)
            headers[k.strip()] = v.strip()
        i += 2
    req = urllib.request.Request(url, headers=headers)
    end = time.time() + timeout
    r = urllib.request.urlopen(req, timeout=timeout)
    ctype = r.headers.get("Content-Type", "")
    if not ctype.startswith("text/event-stream"):
        print("events: Content-Type %r" % ctype)
        sys.exit(1)
    event, data = None, []
    while time.time() < end:
        line = r.readline()
        if not line:
            print("events: the stream ended")
            sys.exit(1)
        line = line.decode("utf-8").rstrip("\n")
        if line.startswith("event: "):
            event = line[7:]
        elif line.startswith("data: "):
            data.append(line[6:])
        elif line == "":
            if event == "hello":
                print("ready", flush=True)
            elif event == "request":
                s = json.loads("\n".join(data))
                if match in s["path"]:
                    print("request %d %s %s" % (s["id"], s["path"], s["state"]), flush=True)
                    return
            event, data = None, []
    print("events: no request matching %r within %.0f s" % (match, timeout))
    sys.exit(1)


def exchange(host, port, data, wait=2.0):
    s = socket.create_connection((host, port), 5)
    s.settimeout(wait)
    got = b""
    try:
        s.sendall(data)
        while True:
            b = s.recv(65536)
            if not b:
                return got, "closed"
            got += b
    except socket.timeout:
        return got, "open"
    except OSError as e:
        return got, "reset (%s)" % e.__class__.__name__
    finally:
        s.close()


def garbage(a):
    host, port = a[0], int(a[1])
    cases = [
        ("binary", bytes(range(256)) * 4),
        ("not-http", b"HELLO THERE\r\n\r\n"),
        ("bad-version", b"GET / HTTP/9.9\r\nHost: 127.0.0.1\r\n\r\n"),
        ("huge-header", b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + b"a" * 200000 + b"\r\n\r\n"),
        ("bad-method", b"BREW /api/requests HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"),
        ("tls-hello", bytes.fromhex("16030100a5010000a10303") + b"\x00" * 64),
    ]
    for name, data in cases:
        got, state = exchange(host, port, data)
        line = got.split(b"\r\n", 1)[0].decode("latin-1") if got else "(nothing)"
        print("%s: %s; %s" % (name, line, state))


def har(a):
    d = load(a[0])
    log = d["log"]
    assert log["version"] == "1.2", log["version"]
    assert log["creator"]["name"] == "warren"
    sized = chunked = 0
    for e in log["entries"]:
        for k in ("startedDateTime", "time", "request", "response", "cache", "timings"):
            assert k in e, "entry without %s" % k
        for k in ("method", "url", "httpVersion", "headers", "queryString", "cookies"):
            assert k in e["request"], "request without %s" % k
        for k in ("status", "statusText", "httpVersion", "headers", "content", "bodySize"):
            assert k in e["response"], "response without %s" % k
        # Both bodySizes count the body as it came, chunk framing removed:
        # the test service's /bytes/N sends N bytes, chunked or not.
        r = e["response"]
        m = re.search(r"/bytes/([0-9]+)(\?chunked=1)?$", e["request"]["url"])
        if m and e["request"]["method"] == "GET" and r["status"] == 200:
            assert r["bodySize"] == int(m.group(1)), "bodySize %d for %s" % (
                r["bodySize"], e["request"]["url"])
            sized += 1
            chunked += m.group(2) is not None
        assert r["httpVersion"] in ("HTTP/1.0", "HTTP/1.1", ""), r["httpVersion"]
        assert e["request"]["url"].startswith("http"), e["request"]["url"]
    assert chunked > 0, "no chunked /bytes/N download in the HAR (%d plain)" % sized
    print("har: %d entries" % len(log["entries"]))


def main():
    cmd, a = sys.argv[1], sys.argv[2:]
    {"check": check, "get": get, "events": events, "garbage": garbage, "har": har}[cmd](a)


if __name__ == "__main__":
    main()
