package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
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
