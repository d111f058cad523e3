// Package boundarytest proves the data boundary in tests. A RecordingProxy
// sits between the platform and an outside service (the WorkOS stand-in)
// and keeps every byte that crosses it at the TCP level, so it records the
// traffic of any client, including one built without the egress policy.
// Check compares that traffic with the platform's egress audit and looks
// for canary strings.
package boundarytest

import (
	"bufio"
	"bytes"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
)

// RecordingProxy forwards TCP connections to a target address and records
// what the client sent on each one.
type RecordingProxy struct {
	listener net.Listener
	target   string

	mu       sync.Mutex
	streams  []*bytes.Buffer
	conns    []net.Conn
	connWait sync.WaitGroup
}

// NewRecordingProxy listens on a loopback port and forwards to target
// (host:port). An empty target closes connections until SetTarget names
// one. The proxy stops when the test ends.
func NewRecordingProxy(t testing.TB, target string) *RecordingProxy {
	t.Helper()
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &RecordingProxy{listener: listener, target: target}
	go p.accept()
	t.Cleanup(func() {
		listener.Close()
		// Clients keep idle connections open; close them so relays end.
		p.mu.Lock()
		for _, c := range p.conns {
			c.Close()
		}
		p.mu.Unlock()
		p.connWait.Wait()
	})
	return p
}

// Addr returns the proxy's host:port.
func (p *RecordingProxy) Addr() string {
	return p.listener.Addr().String()
}

func (p *RecordingProxy) accept() {
	for {
		client, err := p.listener.Accept()
		if err != nil {
			return
		}
		p.connWait.Add(1)
		go p.relay(client)
	}
}

// SetTarget makes new connections go to target (host:port), for a
// service that starts after the proxy must be known.
func (p *RecordingProxy) SetTarget(target string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.target = target
}

func (p *RecordingProxy) relay(client net.Conn) {
	defer p.connWait.Done()
	defer client.Close()
	p.mu.Lock()
	target := p.target
	p.mu.Unlock()
	if target == "" {
		return
	}
	server, err := net.Dial("tcp", target)
	if err != nil {
		return
	}
	defer server.Close()

	captured := &bytes.Buffer{}
	p.mu.Lock()
	p.streams = append(p.streams, captured)
	p.conns = append(p.conns, client, server)
	p.mu.Unlock()
	recorder := &lockedWriter{mu: &p.mu, buf: captured}

	done := make(chan struct{})
	go func() {
		io.Copy(client, server)
		client.(*net.TCPConn).CloseWrite()
		close(done)
	}()
	io.Copy(io.MultiWriter(server, recorder), client)
	server.(*net.TCPConn).CloseWrite()
	<-done
}

type lockedWriter struct {
	mu  *sync.Mutex
	buf *bytes.Buffer
}

func (w *lockedWriter) Write(b []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.Write(b)
}

// Request is one HTTP request the proxy saw.
type Request struct {
	Method string
	Path   string
}

// Sent returns every byte clients sent through the proxy so far.
func (p *RecordingProxy) Sent() []byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	var all bytes.Buffer
	for _, s := range p.streams {
		all.Write(s.Bytes())
	}
	return all.Bytes()
}

// Requests parses the HTTP requests clients sent through the proxy so far.
func (p *RecordingProxy) Requests() []Request {
	p.mu.Lock()
	streams := make([][]byte, len(p.streams))
	for i, s := range p.streams {
		streams[i] = append([]byte(nil), s.Bytes()...)
	}
	p.mu.Unlock()

	var requests []Request
	for _, stream := range streams {
		reader := bufio.NewReader(bytes.NewReader(stream))
		for {
			req, err := http.ReadRequest(reader)
			if err != nil {
				break
			}
			io.Copy(io.Discard, req.Body)
			req.Body.Close()
			requests = append(requests, Request{Method: req.Method, Path: req.URL.Path})
		}
	}
	return requests
}
