// The paved that checks and tests these templates, pinned like any
// dependency: go tool -modfile=tools/paved/go.mod paved template test NAME.
// Move it forward with: go -C tools/paved get github.com/paved-dev/paved@VERSION
module example.com/acme/templates/tools/paved

go 1.26.0

require github.com/paved-dev/paved v0.0.0-golden

tool (
	github.com/paved-dev/paved/cmd/paved
	github.com/paved-dev/paved/cmd/paved-verify
)
