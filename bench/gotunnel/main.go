// gotunnel: a minimal reverse TCP tunnel over a Go stream multiplexer,
// either github.com/xtaci/smux (protocol version 2) or
// github.com/hashicorp/yamux, used by warren's benchmarks as the peer to
// compare against. This is how frp (yamux) and the smux-based tunnels
// multiplex their public connections over one control connection, written
// down as a benchmark peer, not a product: no authentication, no
// encryption, no reconnection logic, no configuration beyond the flags.
//
//	gotunnel server --mux smux|yamux --control ADDR --public ADDR
//	gotunnel client --mux smux|yamux --server ADDR --local ADDR
//
// server: listens on --control for tunnel clients and on --public for the
// connections to forward. Each control connection becomes a session on
// which the server plays the mux client (it opens the streams); the newest
// session takes the new public connections, older ones keep the streams
// they carry until they die. Each public connection gets a stream on the
// current session (or is closed at once if there is none) and bytes are
// copied both ways. Prints "listening control ADDR public ADDR" (the bound
// addresses, so that port 0 works) once both listeners are up.
//
// client: dials --server, plays the mux server (accepts the streams),
// dials --local for each stream and copies bytes both ways. Prints
// "connected" once the session is up; exits 1 when the session dies (the
// benchmark then reports the path as gone).
//
// Closing: when the mux side of a connection ends (the peer closed the
// stream), the TCP side is half-closed (CloseWrite) and the other direction
// runs on. When the TCP side ends, the stream and the TCP connection are
// both closed: neither mux can half-close a stream (smux's Close ends both
// directions, and this yamux's Read returns EOF once the stream is locally
// closed), so a response still in flight towards a TCP side that sent FIN
// first is lost. A client that waits for its reply before closing is
// unaffected.
//
// Mux settings are the libraries' defaults except: smux protocol version 2;
// yamux AcceptBacklog 4096 (the benchmark holds 1,000 idle connections at
// once) and its log sent to stderr.
//
// Exit status: 0 on SIGTERM/SIGINT, 1 on a runtime failure (client: the
// session ended), 2 on a usage or setup error.
//
// Build (GOPATH mode, Debian's golang-github-xtaci-smux-dev and
// golang-github-hashicorp-yamux-dev, no go.mod, no network):
//
//	cd bench/gotunnel && GO111MODULE=off GOPATH=/usr/share/gocode \
//	    GOCACHE=$PWD/.cache GOFLAGS= go build -o gotunnel main.go
package main

import (
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/hashicorp/yamux"
	"github.com/xtaci/smux"
)

const (
	dialTimeout = 10 * time.Second
	copyBuffer  = 64 * 1024
)

func usage(msg string) {
	fmt.Fprintf(os.Stderr, "gotunnel: %s\n", msg)
	fmt.Fprintln(os.Stderr, "usage: gotunnel server --mux smux|yamux --control ADDR --public ADDR")
	fmt.Fprintln(os.Stderr, "       gotunnel client --mux smux|yamux --server ADDR --local ADDR")
	os.Exit(2)
}

func logf(format string, a ...interface{}) {
	fmt.Fprintf(os.Stderr, "gotunnel: "+format+"\n", a...)
}

// session is what both muxes offer: open a stream, accept one, close.
type session interface {
	open() (io.ReadWriteCloser, error)
	accept() (io.ReadWriteCloser, error)
	Close() error
}

type smuxSession struct{ *smux.Session }

func (s smuxSession) open() (io.ReadWriteCloser, error)   { return s.OpenStream() }
func (s smuxSession) accept() (io.ReadWriteCloser, error) { return s.AcceptStream() }

type yamuxSession struct{ *yamux.Session }

func (s yamuxSession) open() (io.ReadWriteCloser, error)   { return s.OpenStream() }
func (s yamuxSession) accept() (io.ReadWriteCloser, error) { return s.AcceptStream() }

// newSession wraps conn in a session of the chosen mux; opener is the side
// that opens streams (the mux client).
func newSession(mux string, conn net.Conn, opener bool) (session, error) {
	switch mux {
	case "smux":
		c := smux.DefaultConfig()
		c.Version = 2
		var s *smux.Session
		var err error
		if opener {
			s, err = smux.Client(conn, c)
		} else {
			s, err = smux.Server(conn, c)
		}
		if err != nil {
			return nil, err
		}
		return smuxSession{s}, nil
	default:
		c := yamux.DefaultConfig()
		c.AcceptBacklog = 4096
		c.LogOutput = os.Stderr
		var s *yamux.Session
		var err error
		if opener {
			s, err = yamux.Client(conn, c)
		} else {
			s, err = yamux.Server(conn, c)
		}
		if err != nil {
			return nil, err
		}
		return yamuxSession{s}, nil
	}
}

// Hide ReadFrom/WriteTo of the TCP side so that io.CopyBuffer uses our
// buffer (a stream's own WriteTo, smux's, is still used: it writes the
// received frames out without a copy).
type writerOnly struct{ io.Writer }
type readerOnly struct{ io.Reader }

// join copies between a TCP connection and a stream until both directions
// are done, then closes both. See the header comment for the closing rules.
func join(tcp *net.TCPConn, st io.ReadWriteCloser) {
	done := make(chan struct{})
	go func() {
		buf := make([]byte, copyBuffer)
		io.CopyBuffer(writerOnly{tcp}, st, buf)
		tcp.CloseWrite()
		close(done)
	}()
	buf := make([]byte, copyBuffer)
	io.CopyBuffer(st, readerOnly{tcp}, buf)
	st.Close()
	tcp.Close()
	<-done
}

func listen(addr string) *net.TCPListener {
	a, err := net.ResolveTCPAddr("tcp", addr)
	if err != nil {
		usage(err.Error())
	}
	l, err := net.ListenTCP("tcp", a)
	if err != nil {
		logf("listen %s: %v", addr, err)
		os.Exit(2)
	}
	return l
}

// server: sessions from --control, streams for --public.
func server(mux, controlAddr, publicAddr string) {
	control := listen(controlAddr)
	public := listen(publicAddr)

	var mu sync.Mutex
	var current session

	go func() {
		for {
			conn, err := control.AcceptTCP()
			if err != nil {
				logf("accept control: %v", err)
				os.Exit(1)
			}
			conn.SetNoDelay(true)
			s, err := newSession(mux, conn, true)
			if err != nil {
				logf("session: %v", err)
				conn.Close()
				continue
			}
			mu.Lock()
			current = s
			mu.Unlock()
			// The client never opens streams: AcceptStream returns
			// when the session dies.
			go func() {
				_, err := s.accept()
				logf("session closed: %v", err)
				s.Close()
				mu.Lock()
				if current == s {
					current = nil
				}
				mu.Unlock()
			}()
		}
	}()

	go func() {
		for {
			conn, err := public.AcceptTCP()
			if err != nil {
				logf("accept public: %v", err)
				os.Exit(1)
			}
			conn.SetNoDelay(true)
			mu.Lock()
			s := current
			mu.Unlock()
			if s == nil {
				conn.Close()
				continue
			}
			go func() {
				st, err := s.open()
				if err != nil {
					logf("open stream: %v", err)
					conn.Close()
					return
				}
				join(conn, st)
			}()
		}
	}()

	fmt.Printf("listening control %s public %s\n", control.Addr(), public.Addr())
}

// client: one session to --server, a --local connection per stream.
func client(mux, serverAddr, localAddr string) {
	conn, err := net.DialTimeout("tcp", serverAddr, dialTimeout)
	if err != nil {
		logf("dial %s: %v", serverAddr, err)
		os.Exit(1)
	}
	conn.(*net.TCPConn).SetNoDelay(true)
	s, err := newSession(mux, conn, false)
	if err != nil {
		logf("session: %v", err)
		os.Exit(1)
	}
	fmt.Println("connected")

	go func() {
		for {
			st, err := s.accept()
			if err != nil {
				logf("session closed: %v", err)
				os.Exit(1)
			}
			go func() {
				c, err := net.DialTimeout("tcp", localAddr, dialTimeout)
				if err != nil {
					logf("dial %s: %v", localAddr, err)
					st.Close()
					return
				}
				tcp := c.(*net.TCPConn)
				tcp.SetNoDelay(true)
				join(tcp, st)
			}()
		}
	}()
}

func main() {
	if len(os.Args) < 2 {
		usage("missing mode")
	}
	mode := os.Args[1]
	fs := flag.NewFlagSet("gotunnel "+mode, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	mux := fs.String("mux", "", "multiplexer: smux or yamux")
	var a, b *string
	switch mode {
	case "server":
		a = fs.String("control", "", "listen for tunnel clients on `ADDR`")
		b = fs.String("public", "", "listen for public connections on `ADDR`")
	case "client":
		a = fs.String("server", "", "tunnel server control `ADDR`")
		b = fs.String("local", "", "forward streams to `ADDR`")
	default:
		usage("unknown mode " + mode)
	}
	if err := fs.Parse(os.Args[2:]); err != nil {
		usage(err.Error())
	}
	if fs.NArg() > 0 {
		usage("unexpected argument " + fs.Arg(0))
	}
	if *mux != "smux" && *mux != "yamux" {
		usage("--mux must be smux or yamux")
	}
	if *a == "" || *b == "" {
		usage("missing address")
	}

	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	if mode == "server" {
		server(*mux, *a, *b)
	} else {
		client(*mux, *a, *b)
	}
	<-sigs
	os.Exit(0)
}
