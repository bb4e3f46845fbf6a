//go:build ignore

// kubetools builds, caches and locates what the apiserver test tier
// (scaffold/verify/apiserver_test.go, `go test -tags apiserver`) runs: an
// etcd and a kube-apiserver built from the wrapper modules beside this file,
// and the custom resource definitions of Istio, Chaos Mesh, the Prometheus
// Operator, Argo Rollouts and Argo CD, read from their module zips.
//
//	go run kubetools.go binaries   # build or reuse; print {"kube-apiserver": PATH, "etcd": PATH, ...} as JSON
//	go run kubetools.go crds       # download; print the CRD files as a JSON array
//	go run kubetools.go key        # print the cache directory
//	go run kubetools.go apiserver-mod v1.33.14   # rewrite apiserver/go.mod for another release
//
// To move to another Kubernetes release, run apiserver-mod with it and set
// KubeVersion below to the same; the next run of the tier builds it.
// Run it from this directory. Binaries are cached outside the repository,
// in $PAVED_TOOLS_CACHE or else os.UserCacheDir()/paved-tools, each under a
// key made of its wrapper module's go.mod and go.sum, the Go version, the
// platform and the build flags: a change to any of them builds it anew. A cold
// build of kube-apiserver takes 10-20 minutes on 2 cores and about 1.8 GB of
// memory; etcd about 2 minutes. With the Go build cache still warm a rebuild
// is a relink (seconds).
//
// The module proxy must serve the pinned versions (go.sum is committed); the
// CRD modules are fetched with `go mod download -json`, so they come from
// the module cache when it has them. A module whose go.mod asks for a newer
// Go than the one running (Argo Rollouts, Argo CD) is still downloaded, but
// not extracted: its CRDs are then read from the zip, once its hash matches
// the checksum the go command verified it against, into the cache directory.
package main

import (
	"archive/zip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"golang.org/x/mod/module"
	"golang.org/x/mod/sumdb/dirhash"
)

// KubeVersion is the Kubernetes release the test tier runs; the wrapper
// module tools/kube/apiserver pins the same one (see apiserver-mod).
const KubeVersion = "v1.33.13"

// kubeMinor is KubeVersion's minor version ("33").
var kubeMinor = strings.Split(KubeVersion, ".")[1]

// A binary is one executable built from a wrapper module.
type binary struct {
	name    string // file name in the cache
	module  string // wrapper module directory, relative to this directory
	pkg     string // main package to build
	ldflags string
}

var binaries = []binary{
	{name: "etcd", module: "etcd", pkg: "go.etcd.io/etcd/server/v3", ldflags: "-s -w"},
	{
		name: "kube-apiserver", module: "apiserver", pkg: "k8s.io/kubernetes/cmd/kube-apiserver",
		// Without the version the server reports v0.0.0-master, which
		// Helm's kubeVersion checks and kubectl's version skew read.
		ldflags: "-s -w" +
			" -X k8s.io/component-base/version.gitVersion=" + KubeVersion +
			" -X k8s.io/component-base/version.gitMajor=1" +
			" -X k8s.io/component-base/version.gitMinor=" + kubeMinor +
			" -X k8s.io/component-base/version.gitTreeState=clean",
	},
}

// A crdSource is a module whose zip holds CRDs.
type crdSource struct {
	module, version string
	files           []string // paths inside the module; a trailing / means every .yaml in that directory
}

// crdSources are the CRDs installed before generated manifests are applied.
var crdSources = []crdSource{
	// Istio: VirtualService, DestinationRule and the rest (15 CRDs).
	{"istio.io/api", "v1.32.0", []string{"kubernetes/customresourcedefinitions.gen.yaml"}},
	// Chaos Mesh: its v2 tags are unusable as Go versions (no /v2 in the
	// module path), so a pseudo-version of the main branch.
	{"github.com/chaos-mesh/chaos-mesh", "v0.9.1-0.20260902003049-47411975a8cb", []string{"config/crd/bases/"}},
	// Prometheus Operator: PrometheusRule, ServiceMonitor, PodMonitor, Probe
	// (the operator's own Prometheus/Alertmanager CRDs are not needed).
	{"github.com/prometheus-operator/prometheus-operator", "v0.85.0", []string{
		"example/prometheus-operator-crd/monitoring.coreos.com_prometheusrules.yaml",
		"example/prometheus-operator-crd/monitoring.coreos.com_servicemonitors.yaml",
		"example/prometheus-operator-crd/monitoring.coreos.com_podmonitors.yaml",
		"example/prometheus-operator-crd/monitoring.coreos.com_probes.yaml",
	}},
	// Argo Rollouts: Rollout, AnalysisTemplate and the rest (the chart's
	// canary). Its go.mod needs Go >= 1.26.10: read from the zip.
	{"github.com/argoproj/argo-rollouts", "v1.10.2", []string{
		"manifests/crds/rollout-crd.yaml",
		"manifests/crds/analysis-template-crd.yaml",
		"manifests/crds/cluster-analysis-template-crd.yaml",
		"manifests/crds/analysis-run-crd.yaml",
		"manifests/crds/experiment-crd.yaml",
	}},
	// Argo CD: Application and AppProject (deploy/argocd with Delivery=argocd).
	// Its go.mod needs Go >= 1.27.0: read from the zip.
	{"github.com/argoproj/argo-cd/v3", "v3.6.1", []string{
		"manifests/crds/application-crd.yaml",
		"manifests/crds/appproject-crd.yaml",
	}},
}

func main() {
	cmd := "binaries"
	if len(os.Args) > 1 {
		cmd = os.Args[1]
	}
	var err error
	switch cmd {
	case "binaries":
		err = cmdBinaries()
	case "crds":
		err = cmdCRDs()
	case "apiserver-mod":
		if len(os.Args) != 3 {
			err = errors.New("usage: go run kubetools.go apiserver-mod v1.X.Y")
			break
		}
		err = cmdAPIServerMod(os.Args[2])
	case "key":
		var dir string
		if dir, err = cacheBase(); err == nil {
			fmt.Println(dir)
		}
	default:
		err = fmt.Errorf("unknown command %q: use binaries, crds, key or apiserver-mod", cmd)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "kubetools:", err)
		os.Exit(1)
	}
}

// cacheBase is the directory that holds the cached binaries.
func cacheBase() (string, error) {
	if base := os.Getenv("PAVED_TOOLS_CACHE"); base != "" {
		return base, nil
	}
	uc, err := os.UserCacheDir()
	if err != nil {
		return "", fmt.Errorf("no cache directory (set PAVED_TOOLS_CACHE): %w", err)
	}
	return filepath.Join(uc, "paved-tools"), nil
}

// cachePath is where binary b is cached: its name and a key made of the Go
// version, the platform, the build flags and its wrapper module's go.mod
// and go.sum.
func cachePath(base, goVersion string, b binary) (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "kubetools 1\n%s %s/%s\n%s %s\n", goVersion, runtime.GOOS, runtime.GOARCH, b.pkg, b.ldflags)
	for _, f := range []string{"go.mod", "go.sum"} {
		data, err := os.ReadFile(filepath.Join(b.module, f))
		if err != nil {
			return "", fmt.Errorf("%w (run kubetools from tools/kube)", err)
		}
		fmt.Fprintf(h, "%s %d\n", f, len(data))
		h.Write(data)
	}
	return filepath.Join(base, b.name+"-"+hex.EncodeToString(h.Sum(nil))[:16]), nil
}

type binariesResult struct {
	KubeVersion   string   `json:"kubeVersion"`
	KubeAPIServer string   `json:"kube-apiserver"`
	Etcd          string   `json:"etcd"`
	Dir           string   `json:"dir"`
	Built         []string `json:"built"`
	BuildSeconds  float64  `json:"buildSeconds"`
}

func cmdBinaries() error {
	base, err := cacheBase()
	if err != nil {
		return err
	}
	if err := os.MkdirAll(base, 0o755); err != nil {
		return err
	}
	goVersion, err := output("", "go", "env", "GOVERSION")
	if err != nil {
		return err
	}
	// One builder at a time: a second test process waits for the first
	// one's binaries instead of compiling them again.
	lock, err := os.OpenFile(filepath.Join(base, ".kubetools.lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return err
	}
	res := binariesResult{KubeVersion: KubeVersion, Dir: base, Built: []string{}}
	start := time.Now()
	for _, b := range binaries {
		out, err := cachePath(base, strings.TrimSpace(goVersion), b)
		if err != nil {
			return err
		}
		if st, err := os.Stat(out); err != nil || !st.Mode().IsRegular() || st.Size() == 0 {
			if err := build(b, out); err != nil {
				return err
			}
			res.Built = append(res.Built, b.name)
		}
		switch b.name {
		case "kube-apiserver":
			res.KubeAPIServer = out
		case "etcd":
			res.Etcd = out
		}
	}
	res.BuildSeconds = time.Since(start).Seconds()
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(res)
}

// build compiles one binary into out, through a temporary file in the same
// directory so that a failed or interrupted build leaves nothing behind.
func build(b binary, out string) error {
	tmp := fmt.Sprintf("%s.tmp%d", out, os.Getpid())
	defer os.Remove(tmp)
	args := []string{"go", "build", "-trimpath", "-o", tmp, "-ldflags", b.ldflags, b.pkg}
	// Heavy: keep the machine usable for others.
	if nice, err := exec.LookPath("nice"); err == nil {
		args = append([]string{nice, "-n", "10"}, args...)
	}
	fmt.Fprintf(os.Stderr, "kubetools: building %s in %s (kube-apiserver: 10-20 min cold on 2 cores, seconds with a warm build cache)\n", b.name, b.module)
	start := time.Now()
	c := exec.Command(args[0], args[1:]...)
	c.Dir = b.module
	c.Env = append(os.Environ(), "CGO_ENABLED=0", "GOFLAGS="+strings.TrimSpace(os.Getenv("GOFLAGS")+" -mod=readonly"), "GOWORK=off")
	c.Stdout, c.Stderr = os.Stderr, os.Stderr
	if err := c.Run(); err != nil {
		return fmt.Errorf("building %s: %w", b.name, err)
	}
	fmt.Fprintf(os.Stderr, "kubetools: built %s in %s\n", b.name, time.Since(start).Round(time.Second))
	return os.Rename(tmp, out)
}

func cmdCRDs() error {
	var files []string
	for _, s := range crdSources {
		dir, err := moduleDir(s.module, s.version, s.files)
		if err != nil {
			return err
		}
		for _, f := range s.files {
			p := filepath.Join(dir, filepath.FromSlash(f))
			if !strings.HasSuffix(f, "/") {
				if _, err := os.Stat(p); err != nil {
					return fmt.Errorf("%s@%s: %w", s.module, s.version, err)
				}
				files = append(files, p)
				continue
			}
			m, err := filepath.Glob(filepath.Join(p, "*.yaml"))
			if err != nil {
				return err
			}
			if len(m) == 0 {
				return fmt.Errorf("%s@%s: no CRDs in %s", s.module, s.version, f)
			}
			files = append(files, m...)
		}
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(files)
}

// moduleDir downloads a module and returns the directory that holds the
// given files of it: the module cache's, or, when the go command downloaded
// the zip but did not extract it, a directory in the tools cache where just
// those files are extracted after the zip's hash is checked against the
// checksum the go command verified.
func moduleDir(mod, version string, files []string) (string, error) {
	out, runErr := output("", "go", "mod", "download", "-json", mod+"@"+version)
	var info struct{ Dir, Zip, Sum, Error string }
	if err := json.Unmarshal([]byte(out), &info); err != nil {
		if runErr != nil {
			return "", fmt.Errorf("go mod download %s@%s: %w", mod, version, runErr)
		}
		return "", fmt.Errorf("go mod download %s@%s: %w", mod, version, err)
	}
	if info.Dir != "" && info.Error == "" && runErr == nil {
		return info.Dir, nil
	}
	// A go.mod that needs a newer Go makes the go command report an Error
	// after it has downloaded and verified the zip (Zip and Sum are set).
	if info.Zip == "" || info.Sum == "" {
		return "", fmt.Errorf("go mod download %s@%s: %s", mod, version, cmpOr(info.Error, fmt.Sprint(runErr)))
	}
	sum, err := dirhash.HashZip(info.Zip, dirhash.Hash1)
	if err != nil {
		return "", fmt.Errorf("%s@%s: %w", mod, version, err)
	}
	if sum != info.Sum {
		return "", fmt.Errorf("%s: hash %s, but the go command verified %s", info.Zip, sum, info.Sum)
	}
	base, err := cacheBase()
	if err != nil {
		return "", err
	}
	esc, err := module.EscapePath(mod)
	if err != nil {
		return "", err
	}
	dir := filepath.Join(base, "modules", esc+"@"+version)
	// What the directory holds: a directory from another zip, or with
	// other files, is never reused.
	stamp := sum + "\n" + strings.Join(files, "\n") + "\n"
	fresh := func() bool {
		got, err := os.ReadFile(filepath.Join(dir, ".paved-stamp"))
		return err == nil && string(got) == stamp
	}
	if fresh() {
		return dir, nil
	}
	// One extractor at a time: another run may be reading the directory
	// this one would replace.
	if err := os.MkdirAll(base, 0o755); err != nil {
		return "", err
	}
	lock, err := os.OpenFile(filepath.Join(base, ".kubetools-modules.lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return "", err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return "", err
	}
	if fresh() {
		return dir, nil
	}
	fmt.Fprintf(os.Stderr, "kubetools: %s@%s: %s; reading %d file(s) from its zip\n", mod, version, info.Error, len(files))
	tmp := fmt.Sprintf("%s.tmp%d", dir, os.Getpid())
	defer os.RemoveAll(tmp)
	if err := extract(info.Zip, mod+"@"+version+"/", files, tmp); err != nil {
		return "", fmt.Errorf("%s: %w", info.Zip, err)
	}
	if err := os.WriteFile(filepath.Join(tmp, ".paved-stamp"), []byte(stamp), 0o644); err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return "", err
	}
	if err := os.RemoveAll(dir); err != nil {
		return "", err
	}
	return dir, os.Rename(tmp, dir)
}

// extract writes the named files of a module zip (a trailing / names every
// .yaml file directly in that directory) under dir. Only names the go
// command's own checks accept are written.
func extract(zipPath, prefix string, files []string, dir string) error {
	zr, err := zip.OpenReader(zipPath)
	if err != nil {
		return err
	}
	defer zr.Close()
	found := map[string]bool{}
	for _, zf := range zr.File {
		name, ok := strings.CutPrefix(zf.Name, prefix)
		if !ok {
			continue
		}
		var want string
		for _, f := range files {
			inDir := strings.HasSuffix(f, "/") && path.Dir(name)+"/" == f && path.Ext(name) == ".yaml"
			if name == f || inDir {
				want = f
			}
		}
		if want == "" {
			continue
		}
		if err := module.CheckFilePath(name); err != nil {
			return err
		}
		if zf.UncompressedSize64 > 64<<20 {
			return fmt.Errorf("%s: %d bytes, more than a CRD file can be", name, zf.UncompressedSize64)
		}
		found[want] = true
		if err := extractFile(zf, filepath.Join(dir, filepath.FromSlash(name))); err != nil {
			return err
		}
	}
	for _, f := range files {
		if !found[f] {
			return fmt.Errorf("no %s in the zip", f)
		}
	}
	return nil
}

func extractFile(zf *zip.File, dst string) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	r, err := zf.Open()
	if err != nil {
		return err
	}
	defer r.Close()
	w, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(w, io.LimitReader(r, int64(zf.UncompressedSize64)+1)); err != nil {
		w.Close()
		return err
	}
	return w.Close()
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// output runs a command and returns its standard output.
func output(dir string, name string, args ...string) (string, error) {
	c := exec.Command(name, args...)
	c.Dir = dir
	c.Env = append(os.Environ(), "GOWORK=off")
	var stderr strings.Builder
	c.Stderr = &stderr
	out, err := c.Output()
	if err != nil {
		return string(out), fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return string(out), nil
}

// cmdAPIServerMod writes apiserver/go.mod for a k8s.io/kubernetes release:
// kubernetes' go.mod replaces each staging module (k8s.io/api, ...) with
// ./staging/src/..., which a dependent module cannot use; the wrapper
// replaces each with its published v0.X.Y instead. Then go mod tidy.
func cmdAPIServerMod(version string) error {
	out, err := output("", "go", "mod", "download", "-json", "k8s.io/kubernetes@"+version)
	var info struct{ GoMod, Error string }
	if jerr := json.Unmarshal([]byte(out), &info); jerr != nil && err == nil {
		err = jerr
	}
	if info.Error != "" {
		err = errors.New(info.Error)
	}
	if err != nil {
		return err
	}
	gomod, err := os.ReadFile(info.GoMod)
	if err != nil {
		return err
	}
	staging := "v0." + strings.TrimPrefix(version, "v1.")
	var b strings.Builder
	b.WriteString(`// Wrapper module that pins the kube-apiserver built for the apiserver test
// tier (scaffold/verify/apiserver_test.go). The replace block maps every
// staging module of k8s.io/kubernetes to its published version, as
// kubernetes' own go.mod maps them to ./staging. Regenerate with
// ` + "`go run kubetools.go apiserver-mod VERSION`" + ` in tools/kube.
module github.com/paved-dev/paved/tools/kube/apiserver

go 1.24.0

tool k8s.io/kubernetes/cmd/kube-apiserver

`)
	fmt.Fprintf(&b, "require k8s.io/kubernetes %s\n\nreplace (\n", version)
	n := 0
	for _, line := range strings.Split(string(gomod), "\n") {
		f := strings.Fields(line)
		if len(f) == 3 && f[1] == "=>" && strings.HasPrefix(f[0], "k8s.io/") && strings.HasPrefix(f[2], "./staging/") {
			fmt.Fprintf(&b, "\t%s => %s %s\n", f[0], f[0], staging)
			n++
		}
	}
	b.WriteString(")\n")
	if n == 0 {
		return fmt.Errorf("k8s.io/kubernetes@%s: no ./staging replace directives in its go.mod", version)
	}
	if err := os.WriteFile(filepath.Join("apiserver", "go.mod"), []byte(b.String()), 0o644); err != nil {
		return err
	}
	if err := os.Remove(filepath.Join("apiserver", "go.sum")); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	c := exec.Command("go", "mod", "tidy")
	c.Dir = "apiserver"
	c.Env = append(os.Environ(), "GOWORK=off")
	c.Stdout, c.Stderr = os.Stderr, os.Stderr
	if err := c.Run(); err != nil {
		return fmt.Errorf("go mod tidy: %w", err)
	}
	fmt.Fprintf(os.Stderr, "kubetools: apiserver/go.mod now requires k8s.io/kubernetes %s with %d staging replacements; set KubeVersion = %q\n", version, n, version)
	return nil
}
