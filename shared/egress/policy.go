// Package egress enforces the platform's data boundary on outbound HTTP.
// Every client the platform builds sends through one Policy. A request to a
// host on the allow-list goes out and is audited without its payload. A
// request to any other host fails before a connection is opened, with a
// logged error naming the host, and the rejection is counted.
//
// The allow-list comes from configuration. WorkOS, for identity only, is the
// one destination outside the customer's cloud. The others are the
// customer's own storage account, Service Bus namespace and model endpoints.
package egress

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Class is the kind of data a destination may receive.
type Class string

// Classes of destinations, as the data classification of the platform
// defines them.
const (
	// ClassIdentity is identity traffic to WorkOS: code exchange and
	// refresh, events, the JWKS, sessions and portal links.
	ClassIdentity Class = "identity"
	// ClassBusiness is business data inside the customer's cloud:
	// documents in Blob Storage, jobs on Service Bus, prompts to the
	// customer's model deployments.
	ClassBusiness Class = "business"
	// ClassInfrastructure is platform plumbing inside the customer's
	// cloud, such as the managed-identity token endpoint.
	ClassInfrastructure Class = "infrastructure"
)

// ErrDestinationNotAllowed is returned for a request to a host outside the
// allow-list.
var ErrDestinationNotAllowed = errors.New("egress: destination is not on the allow-list")

// Destination is one allow-listed host.
type Destination struct {
	// Name labels the destination in logs and reports, such as "workos".
	Name string
	// Host is the host name, or host:port when only that port is allowed.
	Host string
	// Class is the kind of data the destination may receive.
	Class Class
	// OutsideCustomerCloud marks destinations outside the customer's cloud.
	// Only WorkOS has it.
	OutsideCustomerCloud bool
	// PathSegments, when above zero, keeps only that many leading path
	// segments in the audit: Blob Storage paths end in file names.
	PathSegments int
}

// Policy is the allow-list with its audit. It is safe for concurrent use.
type Policy struct {
	byHost   map[string]Destination
	auditor  Auditor
	logger   *slog.Logger
	now      func() time.Time
	refusals sync.Map // host -> *atomic.Int64
}

// NewPolicy returns a Policy allowing destinations, auditing every allowed
// request to auditor (nil for none).
func NewPolicy(destinations []Destination, auditor Auditor, logger *slog.Logger) (*Policy, error) {
	p := &Policy{byHost: map[string]Destination{}, auditor: auditor, logger: logger, now: time.Now}
	for _, d := range destinations {
		host := strings.ToLower(strings.TrimSpace(d.Host))
		if host == "" {
			return nil, fmt.Errorf("egress: destination %q has no host", d.Name)
		}
		switch d.Class {
		case ClassIdentity, ClassBusiness, ClassInfrastructure:
		default:
			return nil, fmt.Errorf("egress: destination %q has invalid class %q", d.Name, d.Class)
		}
		if existing, ok := p.byHost[host]; ok && existing.Class != d.Class {
			return nil, fmt.Errorf("egress: host %s is both %s (%s) and %s (%s); one host carries one class of data",
				host, existing.Name, existing.Class, d.Name, d.Class)
		}
		d.Host = host
		p.byHost[host] = d
	}
	if logger == nil {
		p.logger = slog.Default()
	}
	return p, nil
}

// Destinations returns the allow-list.
func (p *Policy) Destinations() []Destination {
	out := make([]Destination, 0, len(p.byHost))
	for _, d := range p.byHost {
		out = append(out, d)
	}
	return out
}

// Lookup returns the destination that allows u, if any. An entry with a port
// allows only that port; an entry without one allows any port of the host.
func (p *Policy) Lookup(u *url.URL) (Destination, bool) {
	host := strings.ToLower(u.Hostname())
	port := u.Port()
	if port == "" {
		switch u.Scheme {
		case "https":
			port = "443"
		case "http":
			port = "80"
		}
	}
	if d, ok := p.byHost[net.JoinHostPort(host, port)]; ok {
		return d, true
	}
	d, ok := p.byHost[host]
	return d, ok
}

// Refusals returns how many requests each refused host received.
func (p *Policy) Refusals() map[string]int64 {
	out := map[string]int64{}
	p.refusals.Range(func(key, value any) bool {
		out[key.(string)] = value.(*atomic.Int64).Load()
		return true
	})
	return out
}

// Transport wraps base (http.DefaultTransport when nil) so that every
// request passes the policy.
func (p *Policy) Transport(base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return &transport{policy: p, base: base}
}

// Client returns an *http.Client whose transport and redirects pass the
// policy. timeout bounds each request; 0 means none.
func (p *Policy) Client(base http.RoundTripper, timeout time.Duration) *http.Client {
	return &http.Client{
		Transport: p.Transport(base),
		Timeout:   timeout,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 10 {
				return errors.New("egress: stopped after 10 redirects")
			}
			if _, ok := p.Lookup(req.URL); !ok {
				return p.refuse(req, "redirect")
			}
			return nil
		},
	}
}

func (p *Policy) refuse(req *http.Request, reason string) error {
	host := req.URL.Host
	counter, _ := p.refusals.LoadOrStore(host, new(atomic.Int64))
	count := counter.(*atomic.Int64).Add(1)
	p.logger.ErrorContext(req.Context(), "outbound request rejected: host is not on the egress allow-list",
		slog.String("host", host), slog.String("method", req.Method), slog.String("reason", reason),
		slog.Int64("refusals_for_host", count))
	return fmt.Errorf("%w: %s", ErrDestinationNotAllowed, host)
}

type transport struct {
	policy *Policy
	base   http.RoundTripper
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	destination, ok := t.policy.Lookup(req.URL)
	if !ok {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, t.policy.refuse(req, "request")
	}

	record := Record{
		Time: t.policy.now().UTC(), Function: functionName(req.Context()), Destination: destination.Name,
		Class: destination.Class, Host: req.URL.Host, Method: req.Method, PathTemplate: PathTemplate(req.URL.Path, destination.PathSegments),
		OutsideCustomerCloud: destination.OutsideCustomerCloud,
	}
	var sent *countingReader
	if req.Body != nil && req.Body != http.NoBody {
		sent = &countingReader{ReadCloser: req.Body}
		req = req.Clone(req.Context())
		req.Body = sent
	}

	resp, err := t.base.RoundTrip(req)
	if sent != nil {
		record.BytesSent = sent.count.Load()
	}
	if err != nil {
		record.Status = 0
		t.policy.audit(record)
		return nil, err
	}
	record.Status = resp.StatusCode
	resp.Body = &auditedBody{ReadCloser: resp.Body, policy: t.policy, record: record}
	return resp, nil
}

func (p *Policy) audit(r Record) {
	if p.auditor != nil {
		p.auditor.Audit(r)
	}
}

type countingReader struct {
	io.ReadCloser
	count atomic.Int64
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.ReadCloser.Read(b)
	c.count.Add(int64(n))
	return n, err
}

// auditedBody counts the bytes received and writes the audit record once,
// when the caller closes the body.
type auditedBody struct {
	io.ReadCloser
	policy   *Policy
	record   Record
	received int64
	once     sync.Once
}

func (b *auditedBody) Read(buf []byte) (int, error) {
	n, err := b.ReadCloser.Read(buf)
	b.received += int64(n)
	return n, err
}

func (b *auditedBody) Close() error {
	err := b.ReadCloser.Close()
	b.once.Do(func() {
		b.record.BytesReceived = b.received
		b.policy.audit(b.record)
	})
	return err
}
