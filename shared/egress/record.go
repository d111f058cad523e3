package egress

import (
	"context"

	"github.com/bondingai/platform/shared/customhandler"
	"regexp"
	"strings"
	"time"
)

// Record is one outbound request as the audit keeps it: never the payload,
// never the query string, and the path with its identifiers removed.
type Record struct {
	Time                 time.Time
	Function             string
	Destination          string
	Class                Class
	Host                 string
	Method               string
	PathTemplate         string
	BytesSent            int64
	BytesReceived        int64
	Status               int
	OutsideCustomerCloud bool
}

// Auditor stores audit records. Audit must not block the request.
type Auditor interface {
	Audit(Record)
}

// functionName returns the function making the request, which the
// custom-handler runtime records in every invocation's context.
func functionName(ctx context.Context) string {
	return customhandler.FunctionName(ctx)
}

var (
	uuidSegment = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	// WorkOS ids are a type prefix and a 26-character ULID, such as
	// user_01H... or org_01H....
	workosSegment = regexp.MustCompile(`^[a-z]+(_[a-z]+)*_[0-9A-Za-z]{20,}$`)
	numberSegment = regexp.MustCompile(`^[0-9]+$`)
	longOpaque    = regexp.MustCompile(`^[0-9A-Za-z_\-.%=]{24,}$`)
	digit         = regexp.MustCompile(`[0-9]`)
)

// PathTemplate returns path with every segment that identifies an object
// (UUIDs, WorkOS ids, numbers, long opaque tokens) replaced by "{id}". With
// keepSegments above zero, every segment after the first keepSegments is
// replaced by "{name}", for APIs whose paths carry names, such as blob
// names that end in a file name.
func PathTemplate(path string, keepSegments int) string {
	segments := strings.Split(path, "/")
	kept := 0
	for i, s := range segments {
		if s == "" {
			continue
		}
		if keepSegments > 0 && kept >= keepSegments {
			segments[i] = "{name}"
			continue
		}
		kept++
		if uuidSegment.MatchString(s) || workosSegment.MatchString(s) || numberSegment.MatchString(s) || (longOpaque.MatchString(s) && digit.MatchString(s)) {
			segments[i] = "{id}"
		}
	}
	return strings.Join(segments, "/")
}
