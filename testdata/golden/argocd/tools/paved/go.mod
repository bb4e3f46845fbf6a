// paved, pinned: the release that made this repository (paved update moves
// it with the template; Dependabot bumps it too). `go tool mage verify` runs
//   go tool -modfile=tools/paved/go.mod paved verify .
// with the verifier of the same module, both built and cached by the go
// command and checked against tools/paved/go.sum: nothing is installed.
module example.com/acme/payments/tools/paved

go 1.27.3

tool (
	github.com/paved-dev/paved/cmd/paved
	github.com/paved-dev/paved/cmd/paved-verify
)

require github.com/paved-dev/paved v0.0.0-golden
