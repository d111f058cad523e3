package boundarytest

import (
	"bytes"
	"fmt"
	"regexp"
)

// IdentityEndpoints are the WorkOS API paths that carry identity traffic:
// sign-in (authorize, authenticate), token checks (JWKS), sessions, the
// Events API, Admin Portal links, and the User Management, Organizations
// and Directory Sync objects the identity mirror reads.
var IdentityEndpoints = []*regexp.Regexp{
	regexp.MustCompile(`^/user_management/authorize$`),
	regexp.MustCompile(`^/user_management/authenticate$`),
	regexp.MustCompile(`^/sso/jwks/[^/]+$`),
	regexp.MustCompile(`^/user_management/sessions/(revoke|logout)$`),
	regexp.MustCompile(`^/events$`),
	regexp.MustCompile(`^/portal/generate_link$`),
	regexp.MustCompile(`^/user_management/(users|organization_memberships)(/[^/]+)?$`),
	regexp.MustCompile(`^/(organizations|Organizations)(/[^/]+)?$`),
	regexp.MustCompile(`^/(directories|directory_users|directory_groups)(/[^/]+)?$`),
}

// Violation is one way the traffic broke the boundary.
type Violation struct {
	Kind   string
	Detail string
}

func (v Violation) String() string {
	return v.Kind + ": " + v.Detail
}

// Check returns every violation of the data boundary in the traffic a
// RecordingProxy saw on the way to WorkOS:
//   - a request to a path that is not an identity endpoint;
//   - a canary string in any byte sent;
//   - more requests on the wire than the egress audit recorded for that
//     destination, which means some client sent without the egress policy.
func Check(seen []Request, sent []byte, audited int, canaries []string) []Violation {
	var violations []Violation
	for _, r := range seen {
		if !isIdentityEndpoint(r.Path) {
			violations = append(violations, Violation{"non-identity request", r.Method + " " + r.Path})
		}
	}
	for _, canary := range canaries {
		if bytes.Contains(sent, []byte(canary)) {
			violations = append(violations, Violation{"canary sent", canary})
		}
	}
	if len(seen) > audited {
		violations = append(violations, Violation{"unaudited requests",
			fmt.Sprintf("%d requests reached WorkOS but the egress audit recorded %d: a client bypassed the egress policy", len(seen), audited)})
	}
	return violations
}

func isIdentityEndpoint(path string) bool {
	for _, pattern := range IdentityEndpoints {
		if pattern.MatchString(path) {
			return true
		}
	}
	return false
}
