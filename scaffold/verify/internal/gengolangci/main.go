// Command gengolangci writes the linter and formatter names a golangci-lint
// binary knows, from its own registry (golangci-lint linters/formatters
// --no-config --json), one "linter NAME" or "formatter NAME" a line, for
// scaffold/verify to embed:
//
//	go run ./scaffold/verify/internal/gengolangci GOLANGCI-LINT > scaffold/verify/schema/golangci-names.txt
//
// GOLANGCI-LINT is the version tools/go.mod pins (`go tool mage lint`
// builds it into the user cache as paved-tools/golangci-lint-VERSION).
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/paved-dev/paved/scaffold/verify"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: gengolangci GOLANGCI-LINT")
		os.Exit(2)
	}
	out, err := verify.GolangciNamesFile(context.Background(), os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "gengolangci:", err)
		os.Exit(1)
	}
	if _, err := os.Stdout.Write(out); err != nil {
		fmt.Fprintln(os.Stderr, "gengolangci:", err)
		os.Exit(1)
	}
}
