// gosmux: a command-line peer built on the reference smux implementation
// (github.com/xtaci/smux), used by warren's interop tests. It mirrors the
// interface of warren's own t/tools/muxpeer:
//
//	gosmux (--listen ADDR | --connect ADDR) [--proto smux1|smux2]
//	       (--echo | --drive --streams N --bytes B)
//	       [--keepalive-interval DUR] [--keepalive-timeout DUR] [--idle DUR]
//	       [--max-frame N] [--timeout DUR]
//
// The listening side plays smux.Server, the connecting side smux.Client.
//
// --echo: every accepted stream gets each byte echoed back as it arrives;
// on EOF from the peer the stream is closed (smux has no half-close, so
// Close sends FIN). With --listen, connections are served concurrently,
// each its own session, until SIGTERM/SIGINT (exit 0); "listening on ADDR"
// (the bound address) is printed at start and "session closed: ERR" each
// time a session ends. With --connect, exits 0 when the session ends.
//
// --drive: after --idle, opens N streams concurrently, writes B random
// bytes on each while reading the echo back concurrently, compares, prints
// "N passed, M failed" on stdout and "throughput: X MB/s" on stderr, closes
// the session and exits 0 only if every stream came back intact. --timeout
// (default 60s) bounds the drive; on expiry the unfinished streams count as
// failed and the exit status is 1. With --listen, the first connection is
// accepted and driven.
//
// Exit status: 0 success, 1 test failure, 2 usage or setup error.
//
// Build (GOPATH mode, Debian's golang-github-xtaci-smux-dev):
//
//	GO111MODULE=off GOPATH=/usr/share/gocode go build -o gosmux main.go
package main

import (
	"bytes"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/xtaci/smux"
)

const dialTimeout = 10 * time.Second

var (
	listenAddr  = flag.String("listen", "", "listen on `ADDR` and play the smux server")
	connectAddr = flag.String("connect", "", "connect to `ADDR` and play the smux client")
	proto       = flag.String("proto", "smux2", "protocol: smux1 or smux2")
	echoMode    = flag.Bool("echo", false, "echo every accepted stream")
	driveMode   = flag.Bool("drive", false, "open streams, send random bytes, check the echo")
	nStreams    = flag.Int("streams", 1, "drive: number of concurrent streams")
	nBytes      = flag.Int("bytes", 65536, "drive: bytes sent (and expected back) per stream")
	kaInterval  = flag.Duration("keepalive-interval", 0, "NOP interval (default: smux's, 10s)")
	kaTimeout   = flag.Duration("keepalive-timeout", 0, "close a session silent this long (default: smux's, 30s)")
	idle        = flag.Duration("idle", 0, "drive: stay idle this long before opening streams")
	maxFrame    = flag.Int("max-frame", 0, "largest PSH payload sent (default: smux's, 32768)")
	runTimeout  = flag.Duration("timeout", 60*time.Second, "drive: time limit for the drive")
)

func usage(msg string) {
	fmt.Fprintf(os.Stderr, "gosmux: %s\n", msg)
	fmt.Fprintln(os.Stderr, "usage: gosmux (--listen ADDR | --connect ADDR) [--proto smux1|smux2] "+
		"(--echo | --drive --streams N --bytes B) [--keepalive-interval DUR] "+
		"[--keepalive-timeout DUR] [--idle DUR] [--max-frame N] [--timeout DUR]")
	os.Exit(2)
}

func logf(format string, a ...interface{}) {
	fmt.Fprintf(os.Stderr, "gosmux: "+format+"\n", a...)
}

func config() *smux.Config {
	c := smux.DefaultConfig()
	switch *proto {
	case "smux1":
		c.Version = 1
	case "smux2":
		c.Version = 2
	default:
		usage("unknown --proto " + *proto)
	}
	if *kaInterval > 0 {
		c.KeepAliveInterval = *kaInterval
	}
	if *kaTimeout > 0 {
		c.KeepAliveTimeout = *kaTimeout
	}
	if *maxFrame > 0 {
		c.MaxFrameSize = *maxFrame
	}
	if err := smux.VerifyConfig(c); err != nil {
		usage("bad configuration: " + err.Error())
	}
	return c
}

func newSession(conn net.Conn, server bool, c *smux.Config) *smux.Session {
	var s *smux.Session
	var err error
	if server {
		s, err = smux.Server(conn, c)
	} else {
		s, err = smux.Client(conn, c)
	}
	if err != nil {
		logf("smux session: %v", err)
		os.Exit(2)
	}
	return s
}

// echoStream copies everything the peer sends back to it until EOF, then
// closes the stream (which sends FIN).
func echoStream(st *smux.Stream) {
	defer st.Close()
	buf := make([]byte, 64*1024)
	for {
		n, err := st.Read(buf)
		if n > 0 {
			if _, werr := st.Write(buf[:n]); werr != nil {
				logf("stream %d: write: %v", st.ID(), werr)
				return
			}
		}
		if err != nil {
			if err != io.EOF {
				logf("stream %d: read: %v", st.ID(), err)
			}
			return
		}
	}
}

// serveEcho accepts and echoes streams until the session dies; returns why.
func serveEcho(s *smux.Session) error {
	defer s.Close()
	for {
		st, err := s.AcceptStream()
		if err != nil {
			return err
		}
		go echoStream(st)
	}
}

type result struct {
	ok  bool
	err error
}

// driveStream sends data on st while reading the echo back concurrently.
func driveStream(st *smux.Stream, data []byte) result {
	werr := make(chan error, 1)
	go func() {
		_, err := st.Write(data)
		werr <- err
	}()
	buf := make([]byte, 64*1024)
	for off := 0; off < len(data); {
		n := len(data) - off
		if n > len(buf) {
			n = len(buf)
		}
		if _, err := io.ReadFull(st, buf[:n]); err != nil {
			return result{false, fmt.Errorf("read at offset %d of %d: %v", off, len(data), err)}
		}
		if !bytes.Equal(buf[:n], data[off:off+n]) {
			i := 0
			for buf[i] == data[off+i] {
				i++
			}
			return result{false, fmt.Errorf("echo differs at offset %d", off+i)}
		}
		off += n
	}
	if err := <-werr; err != nil {
		return result{false, fmt.Errorf("write: %v", err)}
	}
	return result{true, nil}
}

// drive runs the drive over s and returns the process exit status.
func drive(s *smux.Session) int {
	defer s.Close()
	if *idle > 0 {
		time.Sleep(*idle)
		if s.IsClosed() {
			logf("session died while idle (keepalive timeout?)")
		}
	}
	limit := time.NewTimer(*runTimeout)
	defer limit.Stop()

	results := make(chan result, *nStreams)
	start := time.Now()
	for i := 0; i < *nStreams; i++ {
		go func(i int) {
			data := make([]byte, *nBytes)
			if _, err := rand.Read(data); err != nil {
				results <- result{false, fmt.Errorf("crypto/rand: %v", err)}
				return
			}
			st, err := s.OpenStream()
			if err != nil {
				results <- result{false, fmt.Errorf("open: %v", err)}
				return
			}
			r := driveStream(st, data)
			if r.err != nil {
				r.err = fmt.Errorf("stream %d: %v", st.ID(), r.err)
			}
			st.Close()
			results <- r
		}(i)
	}

	passed, failed := 0, 0
	timedOut := false
	for passed+failed < *nStreams && !timedOut {
		select {
		case r := <-results:
			if r.ok {
				passed++
			} else {
				failed++
				logf("%v", r.err)
			}
		case <-limit.C:
			timedOut = true
			logf("time limit %v reached with %d streams unfinished",
				*runTimeout, *nStreams-passed-failed)
			failed = *nStreams - passed
		}
	}
	elapsed := time.Since(start)
	fmt.Printf("%d passed, %d failed\n", passed, failed)
	if secs := elapsed.Seconds(); secs > 0 {
		fmt.Fprintf(os.Stderr, "throughput: %.1f MB/s (%d streams x %d bytes echoed in %.2fs)\n",
			float64(passed)*float64(*nBytes)/secs/1e6, *nStreams, *nBytes, secs)
	}
	if err := s.Close(); err != nil && !errors.Is(err, io.ErrClosedPipe) {
		logf("session close: %v", err)
	}
	if failed > 0 {
		return 1
	}
	return 0
}

func main() {
	flag.Parse()
	if flag.NArg() > 0 {
		usage("unexpected argument " + flag.Arg(0))
	}
	if (*listenAddr == "") == (*connectAddr == "") {
		usage("exactly one of --listen and --connect is required")
	}
	if *echoMode == *driveMode {
		usage("exactly one of --echo and --drive is required")
	}
	if *driveMode && (*nStreams < 1 || *nBytes < 0) {
		usage("--streams must be >= 1 and --bytes >= 0")
	}
	if *runTimeout <= 0 {
		usage("--timeout must be positive")
	}
	c := config()

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		sig := <-sigs
		if *echoMode {
			os.Exit(0)
		}
		logf("drive interrupted by %v", sig)
		os.Exit(1)
	}()

	if *connectAddr != "" {
		conn, err := net.DialTimeout("tcp", *connectAddr, dialTimeout)
		if err != nil {
			logf("connect %s: %v", *connectAddr, err)
			os.Exit(2)
		}
		s := newSession(conn, false, c)
		if *echoMode {
			err := serveEcho(s)
			fmt.Printf("session closed: %v\n", err)
			os.Exit(0)
		}
		os.Exit(drive(s))
	}

	ln, err := net.Listen("tcp", *listenAddr)
	if err != nil {
		logf("listen %s: %v", *listenAddr, err)
		os.Exit(2)
	}
	fmt.Printf("listening on %s\n", ln.Addr())

	if *driveMode {
		conn, err := ln.Accept()
		if err != nil {
			logf("accept: %v", err)
			os.Exit(2)
		}
		ln.Close()
		os.Exit(drive(newSession(conn, true, c)))
	}

	var out sync.Mutex // one line per write, sessions end concurrently
	for {
		conn, err := ln.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				continue
			}
			logf("accept: %v", err)
			time.Sleep(100 * time.Millisecond) // e.g. EMFILE: do not spin
			continue
		}
		go func(conn net.Conn) {
			err := serveEcho(newSession(conn, true, c))
			out.Lock()
			fmt.Printf("session closed: %v\n", err)
			out.Unlock()
		}(conn)
	}
}
