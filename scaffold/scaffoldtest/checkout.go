package scaffoldtest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// CopyCheckout copies the checkout in root to dst, as a fresh clone would
// hold it with the work tree's changes: the files git tracks or would track
// (nested modules included), modes kept. dst must not exist.
func CopyCheckout(t TB, root, dst string) {
	t.Helper()
	for _, name := range checkoutFiles(t, root) {
		src := filepath.Join(root, filepath.FromSlash(name))
		fi, err := os.Stat(src)
		if err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(dst, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(out, data, fi.Mode().Perm()); err != nil {
			t.Fatal(err)
		}
	}
}

// FrontEnv is env with the proxy in front of the go command's own GOPROXY
// (so a module it lacks comes from there) and modPath exempt from the
// checksum database, whose tree holds no version the proxy made up.
func (p *Proxy) FrontEnv(t TB, env []string, modPath string) []string {
	t.Helper()
	goenv := func(key string) string {
		cmd := exec.CommandContext(t.Context(), "go", "env", key)
		cmd.Env = env
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("go env %s: %v", key, err)
		}
		return strings.TrimSpace(string(out))
	}
	goproxy, nosumdb := p.URL(), modPath
	if upstream := goenv("GOPROXY"); upstream != "" && upstream != "off" {
		goproxy += "," + upstream
	}
	if v := goenv("GONOSUMDB"); v != "" {
		nosumdb = v + "," + nosumdb
	}
	var out []string
	for _, kv := range env {
		if key, _, _ := strings.Cut(kv, "="); key != "GOPROXY" && key != "GONOSUMDB" {
			out = append(out, kv)
		}
	}
	return append(out, "GOPROXY="+goproxy, "GONOSUMDB="+nosumdb)
}
