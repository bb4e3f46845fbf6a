package main

import (
	"archive/zip"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"

	"golang.org/x/mod/module"
	"golang.org/x/mod/sumdb/dirhash"
)

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
