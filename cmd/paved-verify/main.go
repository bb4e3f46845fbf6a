// Command paved-verify runs paved's offline validators; `paved verify`
// runs it. It is a program of its own so that the libraries behind the
// checks (Helm, Kubernetes, BuildKit, Prometheus, ...) and their start-up
// cost stay out of the paved binary.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/paved-dev/paved/scaffold/verify"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := verify.Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
