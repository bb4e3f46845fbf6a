package main

import (
	"runtime/debug"
	"testing"
)

// TestLessGC: paved new raises the collector's target to GOGC=400, unless
// the user set GOGC.
func TestLessGC(t *testing.T) {
	orig := debug.SetGCPercent(100)
	defer debug.SetGCPercent(orig)
	for _, tt := range []struct {
		env  string
		want int
	}{{"", 400}, {"50", 100}, {"off", 100}} {
		t.Setenv("GOGC", tt.env)
		debug.SetGCPercent(100)
		lessGC()
		if got := debug.SetGCPercent(100); got != tt.want {
			t.Errorf("GOGC=%q: collector at %d%%, want %d%%", tt.env, got, tt.want)
		}
	}
}
