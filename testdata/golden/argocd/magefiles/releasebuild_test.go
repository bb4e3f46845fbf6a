//go:build mage

package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestReadReleaseBuild: the build flags come from builds[0] of
// .goreleaser.yaml as GoReleaser reads it, and what the reader does not
// model is an error naming the line, never a guess.
// Run with: go test -tags mage ./magefiles
func TestReadReleaseBuild(t *testing.T) {
	t.Parallel()
	const good = `version: 2
builds:
  - id: svc # the service
    main: ./cmd/svc
    binary: 'svc'
    env:
      - CGO_ENABLED=0
    goos: [linux, darwin]
    flags:
      - -trimpath
    tags: [netgo, osusergo]
    ldflags:
      - -s -w
      - "-X example.com/svc/internal/buildinfo.Version={{ .Version }}"
      - -X example.com/svc/internal/buildinfo.Commit={{.FullCommit}} # commit
    mod_timestamp: "{{ .CommitTimestamp }}"
archives:
  - id: default
`
	tests := []struct {
		name, yaml, wantErr string
	}{
		{name: "good", yaml: good},
		{name: "no builds", yaml: "version: 2\n", wantErr: ":1: no top-level builds"},
		{name: "second build", yaml: strings.Replace(good, "archives:", "  - id: other\n    main: ./cmd/other\narchives:", 1), wantErr: ":17: a second build entry"},
		{name: "unmodelled key", yaml: strings.Replace(good, "    flags:", "    gobinary: go1.20\n    flags:", 1), wantErr: ":9: builds[0].gobinary may change the binary"},
		{name: "block scalar", yaml: strings.Replace(good, "main: ./cmd/svc", "main: |", 1), wantErr: ":4: builds[0].main: want one plain or quoted value"},
		{name: "no main", yaml: strings.Replace(good, "    main: ./cmd/svc\n", "", 1), wantErr: "has no main"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(t.TempDir(), ".goreleaser.yaml")
			if err := os.WriteFile(path, []byte(tt.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			b, err := readReleaseBuild(path)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if b.Main != "./cmd/svc" || b.Binary != "svc" || !slices.Equal(b.Env, []string{"CGO_ENABLED=0"}) {
				t.Errorf("main %q, binary %q, env %q", b.Main, b.Binary, b.Env)
			}
			if want := []string{"-trimpath", "-tags=netgo,osusergo", "-buildvcs=auto"}; !slices.Equal(b.goFlags(), want) {
				t.Errorf("go flags %q, want %q", b.goFlags(), want)
			}
			ld, err := b.ldflags(reproStamps)
			if want := "-s -w -X example.com/svc/internal/buildinfo.Version=v0.0.0-repro -X example.com/svc/internal/buildinfo.Commit=" + reproStamps["FullCommit"]; err != nil || ld != want {
				t.Errorf("ldflags %q, %v; want %q", ld, err, want)
			}
			if _, err := b.ldflags(map[string]string{"Version": "v1"}); err == nil || !strings.Contains(err.Error(), "{{ .FullCommit }}") {
				t.Errorf("a template variable without a value: error %v", err)
			}
		})
	}
}
