package funchost

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/google/uuid"
)

// routeSegment is one "/"-separated part of an ASP.NET route template.
type routeSegment struct {
	literal    string
	parameter  string
	constraint string
	optional   bool
	catchAll   bool
	// pattern matches a segment that mixes literals and parameters, such as
	// "{name}.{extension}"; its groups are named after the parameters.
	pattern *regexp.Regexp
}

// Route is a compiled ASP.NET route template such as "documents/{id:guid}",
// "files/{*path}" or "items/{page?}", as the Functions host accepts in a
// function's "route". Literal segments match case-insensitively.
type Route struct {
	Template string
	segments []routeSegment
}

var (
	templateParameter = regexp.MustCompile(`\{[^{}]*\}`)
	parameterName     = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

// ParseRoute compiles a route template. A leading or trailing "/" is ignored.
func ParseRoute(template string) (*Route, error) {
	route := &Route{Template: template}
	trimmed := strings.Trim(template, "/")
	if trimmed == "" {
		return route, nil
	}

	parts := strings.Split(trimmed, "/")
	for i, part := range parts {
		segment, err := parseRouteSegment(part)
		if err != nil {
			return nil, fmt.Errorf("invalid route %q: %w", template, err)
		}
		if segment.catchAll && i != len(parts)-1 {
			return nil, fmt.Errorf("invalid route %q: catch-all parameter %s must be the last segment", template, segment.parameter)
		}
		if segment.optional && i != len(parts)-1 {
			return nil, fmt.Errorf("invalid route %q: optional parameter %s must be the last segment", template, segment.parameter)
		}
		route.segments = append(route.segments, segment)
	}
	return route, nil
}

func parseRouteSegment(part string) (routeSegment, error) {
	if part == "" {
		return routeSegment{}, fmt.Errorf("empty segment")
	}
	if !strings.ContainsAny(part, "{}") {
		return routeSegment{literal: part}, nil
	}

	whole := templateParameter.FindStringIndex(part)
	if whole != nil && whole[0] == 0 && whole[1] == len(part) {
		return parseRouteParameter(part[1 : len(part)-1])
	}

	// A complex segment: literals around parameters, such as
	// "{name}.{extension}". Each parameter matches lazily up to the next
	// literal, as ASP.NET does.
	var expression strings.Builder
	expression.WriteString("(?i)^")
	last := 0
	for _, bounds := range templateParameter.FindAllStringIndex(part, -1) {
		expression.WriteString(regexp.QuoteMeta(part[last:bounds[0]]))
		parameter, err := parseRouteParameter(part[bounds[0]+1 : bounds[1]-1])
		if err != nil {
			return routeSegment{}, err
		}
		if parameter.catchAll || parameter.optional {
			return routeSegment{}, fmt.Errorf("segment %q: a parameter inside a segment cannot be optional or catch-all", part)
		}
		fmt.Fprintf(&expression, "(?P<%s>.+?)", parameter.parameter)
		last = bounds[1]
	}
	expression.WriteString(regexp.QuoteMeta(part[last:]))
	expression.WriteString("$")
	if strings.ContainsAny(part[last:], "{}") {
		return routeSegment{}, fmt.Errorf("segment %q: unbalanced braces", part)
	}
	pattern, err := regexp.Compile(expression.String())
	if err != nil {
		return routeSegment{}, fmt.Errorf("segment %q: %w", part, err)
	}
	return routeSegment{pattern: pattern}, nil
}

func parseRouteParameter(text string) (routeSegment, error) {
	segment := routeSegment{}
	if strings.HasPrefix(text, "**") {
		segment.catchAll = true
		text = text[2:]
	} else if strings.HasPrefix(text, "*") {
		segment.catchAll = true
		text = text[1:]
	}

	name := text
	if colon := strings.IndexByte(text, ':'); colon >= 0 {
		name = text[:colon]
		segment.constraint = strings.ToLower(text[colon+1:])
	}
	if strings.HasSuffix(name, "?") {
		segment.optional = true
		name = strings.TrimSuffix(name, "?")
	}
	if strings.HasSuffix(segment.constraint, "?") {
		segment.optional = true
		segment.constraint = strings.TrimSuffix(segment.constraint, "?")
	}
	if equals := strings.IndexByte(name, '='); equals >= 0 {
		// NOTE: default values ({page=1}) make the parameter optional here
		// but the default is not passed on, because forwarding sends the
		// original path and the handler applies its own defaults.
		name = name[:equals]
		segment.optional = true
	}
	if name == "" || !parameterName.MatchString(name) {
		return routeSegment{}, fmt.Errorf("invalid parameter name %q", name)
	}
	segment.parameter = name
	return segment, nil
}

// Match reports whether path (without the route prefix and without leading
// "/") matches the route, and returns the route values.
func (r *Route) Match(path string) (map[string]string, bool) {
	path = strings.Trim(path, "/")
	var parts []string
	if path != "" {
		parts = strings.Split(path, "/")
	}
	values := map[string]string{}

	for i, segment := range r.segments {
		if segment.catchAll {
			values[segment.parameter] = strings.Join(parts[min(i, len(parts)):], "/")
			if !checkConstraint(segment.constraint, values[segment.parameter]) {
				return nil, false
			}
			return values, true
		}
		if i >= len(parts) {
			if segment.optional {
				return values, true
			}
			return nil, false
		}

		part := parts[i]
		switch {
		case segment.pattern != nil:
			match := segment.pattern.FindStringSubmatch(part)
			if match == nil {
				return nil, false
			}
			for index, name := range segment.pattern.SubexpNames() {
				if name != "" {
					values[name] = match[index]
				}
			}
		case segment.parameter != "":
			if part == "" || !checkConstraint(segment.constraint, part) {
				return nil, false
			}
			values[segment.parameter] = part
		default:
			if !strings.EqualFold(segment.literal, part) {
				return nil, false
			}
		}
	}
	if len(parts) != len(r.segments) {
		return nil, false
	}
	return values, true
}

// checkConstraint applies the common ASP.NET inline constraints. Unknown
// constraints, such as regex(...) or length(...), accept any value.
func checkConstraint(constraint, value string) bool {
	switch constraint {
	case "":
		return true
	case "guid":
		_, err := uuid.Parse(value)
		return err == nil
	case "int":
		_, err := strconv.ParseInt(value, 10, 32)
		return err == nil
	case "long":
		_, err := strconv.ParseInt(value, 10, 64)
		return err == nil
	case "bool":
		_, err := strconv.ParseBool(value)
		return err == nil && (strings.EqualFold(value, "true") || strings.EqualFold(value, "false"))
	case "double", "float", "decimal":
		_, err := strconv.ParseFloat(value, 64)
		return err == nil
	case "alpha":
		return value != "" && strings.IndexFunc(value, func(r rune) bool {
			return (r < 'a' || r > 'z') && (r < 'A' || r > 'Z')
		}) < 0
	default:
		return true
	}
}

// precedence orders routes so the most specific wins, as ASP.NET routing
// does: per segment, a literal beats a complex segment, which beats a
// constrained parameter, then a plain one, then an optional one, then a
// catch-all. A lower rank is more specific.
func (r *Route) precedence() []int {
	ranks := make([]int, 0, len(r.segments))
	for _, segment := range r.segments {
		rank := 0
		switch {
		case segment.catchAll:
			rank = 5
		case segment.optional:
			rank = 4
		case segment.pattern != nil:
			rank = 1
		case segment.parameter != "" && segment.constraint != "":
			rank = 2
		case segment.parameter != "":
			rank = 3
		}
		ranks = append(ranks, rank)
	}
	return ranks
}

// lessSpecific reports whether route a should be tried after route b.
func lessSpecific(a, b *Route) bool {
	rankA, rankB := a.precedence(), b.precedence()
	for i := 0; i < len(rankA) && i < len(rankB); i++ {
		if rankA[i] != rankB[i] {
			return rankA[i] > rankB[i]
		}
	}
	return len(rankA) < len(rankB)
}
