package scaffoldtest

import "context"

// TB is the part of testing.TB these helpers use. It is declared here so
// that test support, like the engine, imports nothing of package testing:
// a *testing.T, *testing.B or *testing.F satisfies it.
type TB interface {
	Helper()
	Context() context.Context
	Cleanup(func())
	TempDir() string
	Errorf(format string, args ...any)
	Fatal(args ...any)
	Fatalf(format string, args ...any)
}
