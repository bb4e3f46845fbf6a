// Package buildinfo holds what identifies this build of the service.
//
// Version, Commit, Date and BuildID are set at link time:
//
//	go build -ldflags "-X <module>/internal/buildinfo.Version=v1.2.3 -X <module>/internal/buildinfo.BuildID=<id> ..."
//
// `mage build`, the Dockerfile and goreleaser do this for you.
package buildinfo

import "strings"

// Set with -ldflags -X at build time; see the package documentation.
var (
	// Version is the release version, e.g. v1.2.3.
	Version = "dev"
	// Commit is the VCS revision the binary was built from.
	Commit = "unknown"
	// Date is when that commit was made (RFC 3339), so builds stay reproducible.
	Date = "unknown"
	// BuildID identifies the exact build, e.g. the commit it was built from.
	BuildID = "unknown"
)

// MetricPrefix is Name made safe for a Prometheus metric name
// (a service called "payments-api" gets "payments_api").
func MetricPrefix() string { return metricSafe(Name) }

func metricSafe(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_':
			return r
		default:
			return '_'
		}
	}, s)
}
