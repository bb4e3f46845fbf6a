// Command service runs the HTTP service. Run it with -h for its settings.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"example.com/acme/payments/internal/app"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	context.AfterFunc(ctx, stop) // after the first signal, a second one ends the process at once
	os.Exit(app.Run(ctx, app.Options{
		Args:   os.Args[1:],
		Getenv: os.Getenv,
		Stdout: os.Stdout,
		Stderr: os.Stderr,
	}))
}
