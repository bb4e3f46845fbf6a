// kubetools builds, caches and locates what the apiserver test tier
// (scaffold/verify/apiserver_test.go, `go test -tags apiserver`) runs: an
// etcd and a kube-apiserver built from the wrapper modules beside this directory,
// and the custom resource definitions of Istio, Chaos Mesh, the Prometheus
// Operator, Argo Rollouts and Argo CD, read from their module zips.
//
//	go run ./kubetools binaries   # build or reuse; print {"kube-apiserver": PATH, "etcd": PATH, ...} as JSON
//	go run ./kubetools crds       # download; print the CRD files as a JSON array
//	go run ./kubetools key        # print the cache directory
//	go run ./kubetools apiserver-mod v1.33.14   # rewrite apiserver/go.mod for another release
//
// To move to another Kubernetes release, run apiserver-mod with it and set
// KubeVersion (binaries.go) to the same; the next run of the tier builds it.
// Run it from tools/kube. Binaries are cached outside the repository,
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
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
)

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
			err = errors.New("usage: go run ./kubetools apiserver-mod v1.X.Y")
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

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
