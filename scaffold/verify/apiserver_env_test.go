//go:build apiserver

package verify_test

// A real, throwaway Kubernetes control plane for the apiserver tier: etcd
// and kube-apiserver (built and cached by tools/kube/kubetools) on
// loopback, with a fresh CA, a bearer token and RBAC, and the Istio, Chaos
// Mesh, Prometheus Operator, Argo Rollouts and Argo CD CRDs installed.
// Nothing else runs: no controllers, no kubelet, no ServiceAccount admission
// (there is no `default` ServiceAccount without the controller manager), so
// nothing ever rolls out: the golden and corpus objects are applied with
// dryRun=All, and what TestAPIServerTraffic installs just sits there.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utilnet "k8s.io/apimachinery/pkg/util/net"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	sigsyaml "sigs.k8s.io/yaml"
)

// fieldManager names this test in managedFields (dry run: never stored).
const fieldManager = "paved-apiserver-test"

// kubeEnv is one running control plane.
type kubeEnv struct {
	host    string // https://127.0.0.1:PORT
	version string // the server's Kubernetes version; charts are rendered for it
	cfg     *rest.Config
	client  *http.Client
	dir     string // PKI, data and logs
	timings map[string]time.Duration

	mu     sync.Mutex
	mapper meta.RESTMapper
	nss    map[string]bool // namespaces created
}

// toolsDir is tools/kube of this repository.
func toolsDir(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", "..", "tools", "kube"))
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// kubetools runs tools/kube/kubetools and decodes its JSON output into v.
func kubetools(t *testing.T, v any, args ...string) {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), "go", append([]string{"run", "./kubetools"}, args...)...)
	cmd.Dir = toolsDir(t)
	cmd.Env = append(os.Environ(), "GOWORK=off")
	var stdout bytes.Buffer
	cmd.Stdout = &stdout
	cmd.Stderr = testWriter{t}
	if err := cmd.Run(); err != nil {
		t.Fatalf("go run ./kubetools %s: %v", strings.Join(args, " "), err)
	}
	if err := json.Unmarshal(stdout.Bytes(), v); err != nil {
		t.Fatalf("kubetools %s: %v: %s", strings.Join(args, " "), err, stdout.String())
	}
}

// testWriter sends a subprocess's progress lines to the test log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// startKube builds or reuses the binaries, starts etcd and kube-apiserver,
// waits for /readyz and installs the CRDs. Everything it starts is stopped,
// and everything it writes removed, when t ends, whether it passed or not.
func startKube(t *testing.T) *kubeEnv {
	t.Helper()
	k := &kubeEnv{timings: map[string]time.Duration{}, nss: map[string]bool{}}
	k.dir = workDir(t)

	start := time.Now()
	var bins struct {
		KubeVersion   string   `json:"kubeVersion"`
		KubeAPIServer string   `json:"kube-apiserver"`
		Etcd          string   `json:"etcd"`
		Built         []string `json:"built"`
	}
	kubetools(t, &bins, "binaries")
	k.timings["binaries (build or cache lookup)"] = time.Since(start)
	k.version = bins.KubeVersion
	if len(bins.Built) > 0 {
		t.Logf("built %s in %s (cached for later runs)", strings.Join(bins.Built, ", "), time.Since(start).Round(time.Second))
	}

	start = time.Now()
	token := writePKI(t, k.dir)
	ports := freePorts(t, 3)
	etcdPort, etcdPeer, kubePort := ports[0], ports[1], ports[2]
	etcdURL := "http://127.0.0.1:" + strconv.Itoa(etcdPort)
	peerURL := "http://127.0.0.1:" + strconv.Itoa(etcdPeer)
	startProcess(t, k.dir, "etcd", bins.Etcd,
		"--name=paved",
		"--data-dir="+filepath.Join(k.dir, "etcd-data"),
		"--listen-client-urls="+etcdURL, "--advertise-client-urls="+etcdURL,
		"--listen-peer-urls="+peerURL, "--initial-advertise-peer-urls="+peerURL,
		"--initial-cluster=paved="+peerURL,
		"--unsafe-no-fsync", "--log-level=warn",
	)
	pki := func(f string) string { return filepath.Join(k.dir, "pki", f) }
	api := startProcess(t, k.dir, "kube-apiserver", bins.KubeAPIServer,
		"--etcd-servers="+etcdURL,
		"--bind-address=127.0.0.1", "--advertise-address=127.0.0.1",
		"--secure-port="+strconv.Itoa(kubePort),
		"--tls-cert-file="+pki("apiserver.crt"), "--tls-private-key-file="+pki("apiserver.key"),
		"--client-ca-file="+pki("ca.crt"),
		"--token-auth-file="+pki("tokens.csv"),
		"--authorization-mode=RBAC",
		"--service-account-issuer=https://kubernetes.default.svc",
		"--service-account-key-file="+pki("sa.key"), "--service-account-signing-key-file="+pki("sa.key"),
		"--service-cluster-ip-range=10.0.0.0/24",
		// Privileged pods are allowed by the server, so that only Pod
		// Security admission (restricted, per namespace) judges them.
		"--allow-privileged=true",
		// No controller manager: no default ServiceAccount to admit against,
		// and no endpoint reconciler for the kubernetes Service.
		"--disable-admission-plugins=ServiceAccount",
		"--endpoint-reconciler-type=none",
		"--profiling=false",
		"--cert-dir="+filepath.Join(k.dir, "certs"),
	)

	k.host = "https://127.0.0.1:" + strconv.Itoa(kubePort)
	ca, err := os.ReadFile(pki("ca.crt"))
	if err != nil {
		t.Fatal(err)
	}
	k.cfg = &rest.Config{
		Host:            k.host,
		BearerToken:     token,
		TLSClientConfig: rest.TLSClientConfig{CAData: ca},
		QPS:             500,
		Burst:           1000,
		Timeout:         60 * time.Second,
	}
	if k.client, err = rest.HTTPClientFor(k.cfg); err != nil {
		t.Fatal(err)
	}
	k.waitReady(t, api)
	// The version the binary was stamped with (-X ...version.gitVersion):
	// what Helm's kubeVersion checks and kubectl's skew check read.
	if code, body, _, err := k.do(t.Context(), http.MethodGet, "/version", nil, "", nil); err != nil || code != http.StatusOK {
		t.Fatalf("GET /version: %v %s", err, statusMessage(code, body))
	} else {
		var v struct{ GitVersion string }
		if err := json.Unmarshal(body, &v); err != nil || v.GitVersion != k.version {
			t.Fatalf("the server says it is %q (%v), kubetools built %s", v.GitVersion, err, k.version)
		}
	}
	k.timings["start etcd + kube-apiserver (to /readyz)"] = time.Since(start)

	start = time.Now()
	k.installCRDs(t)
	k.timings["install CRDs (server-side apply, until Established)"] = time.Since(start)
	if err := k.refreshMapper(); err != nil {
		t.Fatal(err)
	}
	return k
}

// workDirPrefix names the directories of running (and of crashed) tiers
// under os.TempDir().
const workDirPrefix = "paved-apiserver-"

// workDir makes the directory for PKI, data and logs, and removes it when
// the test ends, after the processes (registered later, so stopped first).
// A test binary that dies without cleanups (a -timeout panic) leaves its
// directory behind; Pdeathsig has already killed its servers. The next run
// removes such leftovers: directories whose owner process is gone, after
// killing, by their saved PIDs, any of their servers still running.
func workDir(t *testing.T) string {
	t.Helper()
	sweepStaleWorkDirs(t)
	dir, err := os.MkdirTemp("", workDirPrefix)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "owner.pid"), []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := os.RemoveAll(dir); err != nil {
			t.Errorf("removing %s: %v", dir, err)
		}
	})
	return dir
}

func sweepStaleWorkDirs(t *testing.T) {
	t.Helper()
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), workDirPrefix+"*"))
	for _, dir := range dirs {
		if pidAlive(readPID(filepath.Join(dir, "owner.pid"))) {
			continue // another run's
		}
		for _, name := range []string{"kube-apiserver", "etcd"} {
			pid := readPID(filepath.Join(dir, name+".pid"))
			// Only a process that is one of this directory's servers.
			if cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid)); pid > 0 && err == nil && bytes.Contains(cmdline, []byte(dir)) {
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
		if err := os.RemoveAll(dir); err == nil {
			t.Logf("removed %s, left behind by an earlier run", dir)
		}
	}
}

func readPID(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	return pid
}

func pidAlive(pid int) bool {
	return pid > 0 && syscall.Kill(pid, 0) == nil
}

// freePorts returns n distinct loopback TCP ports that were free a moment
// ago (all held open together, so none is handed out twice).
func freePorts(t *testing.T, n int) []int {
	t.Helper()
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports
}

// process is a started server; stop kills it by its PID.
type process struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
	err  error
}

// startProcess starts a server with its output in DIR/NAME.log and
// registers its stop: SIGTERM, then SIGKILL after 10 seconds. Pdeathsig
// kills it too when the test binary dies without running cleanups (a
// -timeout panic, a signal).
func startProcess(t *testing.T, dir, name, bin string, args ...string) *process {
	t.Helper()
	logPath := filepath.Join(dir, name+".log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if err := cmd.Start(); err != nil {
		logf.Close()
		t.Fatalf("start %s: %v", name, err)
	}
	p := &process{name: name, cmd: cmd, log: logPath, done: make(chan struct{})}
	if err := os.WriteFile(filepath.Join(dir, name+".pid"), []byte(strconv.Itoa(cmd.Process.Pid)+"\n"), 0o644); err != nil {
		t.Error(err)
	}
	go func() {
		p.err = cmd.Wait()
		logf.Close()
		close(p.done)
	}()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("last lines of %s.log:\n%s", name, tail(logPath, 30))
		}
		p.stop(t)
	})
	return p
}

func (p *process) stop(t *testing.T) {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		t.Logf("%s (pid %d) did not stop on SIGTERM; killing it", p.name, p.cmd.Process.Pid)
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// exited reports whether the process has ended.
func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// tail returns the last n lines of a file.
func tail(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// writePKI writes DIR/pki: a CA, the server's certificate for 127.0.0.1, a
// service-account key and a token file granting system:masters to a random
// bearer token, which it returns.
func writePKI(t *testing.T, dir string) string {
	t.Helper()
	pkiDir := filepath.Join(dir, "pki")
	if err := os.MkdirAll(pkiDir, 0o700); err != nil {
		t.Fatal(err)
	}
	write := func(name, typ string, der []byte) {
		if err := os.WriteFile(filepath.Join(pkiDir, name), pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "paved-apiserver-test-ca"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	write("ca.crt", "CERTIFICATE", caDER)

	srvKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	srvTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "kube-apiserver"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:     []string{"localhost"},
	}
	srvDER, err := x509.CreateCertificate(rand.Reader, srvTmpl, caCert, &srvKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	write("apiserver.crt", "CERTIFICATE", srvDER)
	srvKeyDER, err := x509.MarshalECPrivateKey(srvKey)
	if err != nil {
		t.Fatal(err)
	}
	write("apiserver.key", "EC PRIVATE KEY", srvKeyDER)

	saKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	write("sa.key", "RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(saKey))

	tok := make([]byte, 24)
	if _, err := rand.Read(tok); err != nil {
		t.Fatal(err)
	}
	token := hex.EncodeToString(tok)
	if err := os.WriteFile(filepath.Join(pkiDir, "tokens.csv"), []byte(token+",paved-admin,1,system:masters\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return token
}

// waitReady polls /readyz until the server answers ok.
func (k *kubeEnv) waitReady(t *testing.T, api *process) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Minute)
	var last string
	for time.Now().Before(deadline) {
		if api.exited() {
			t.Fatalf("kube-apiserver exited (%v):\n%s", api.err, tail(api.log, 40))
		}
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		status, body, _, err := k.do(ctx, http.MethodGet, "/readyz", nil, "", nil)
		cancel()
		if err == nil && status == http.StatusOK {
			return
		}
		if err != nil {
			last = err.Error()
		} else {
			last = fmt.Sprintf("HTTP %d: %s", status, body)
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Fatalf("kube-apiserver not ready after 3 minutes: %s\n%s", last, tail(api.log, 40))
}

// do sends one request and returns the status, body and warnings.
func (k *kubeEnv) do(ctx context.Context, method, path string, query url.Values, contentType string, body []byte) (int, []byte, []string, error) {
	u := k.host + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(body))
	if err != nil {
		return 0, nil, nil, err
	}
	req.Header.Set("Accept", "application/json")
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := k.client.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, nil, err
	}
	var warnings []string
	ws, _ := utilnet.ParseWarningHeaders(resp.Header.Values("Warning"))
	for _, w := range ws {
		warnings = append(warnings, w.Text)
	}
	return resp.StatusCode, data, warnings, nil
}

// statusMessage is the message of a metav1.Status body, else the body.
func statusMessage(code int, body []byte) string {
	var st metav1.Status
	if json.Unmarshal(body, &st) == nil && st.Message != "" {
		return st.Message
	}
	return fmt.Sprintf("HTTP %d: %s", code, strings.TrimSpace(string(body)))
}

// refreshMapper rereads the server's API groups (after CRDs are added).
func (k *kubeEnv) refreshMapper() error {
	dc, err := discovery.NewDiscoveryClientForConfig(k.cfg)
	if err != nil {
		return err
	}
	groups, err := restmapper.GetAPIGroupResources(dc)
	if err != nil {
		return err
	}
	k.mu.Lock()
	k.mapper = restmapper.NewDiscoveryRESTMapper(groups)
	k.mu.Unlock()
	return nil
}

// installCRDs applies every CRD that kubetools lists, server-side (the
// Chaos Mesh CRDs are too large for client-side apply's annotation), and
// waits until each is Established.
func (k *kubeEnv) installCRDs(t *testing.T) {
	t.Helper()
	var files []string
	kubetools(t, &files, "crds")
	type crd struct {
		name string
		doc  []byte
	}
	var crds []crd
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		docs, err := splitDocs(data)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, doc := range docs {
			var head objectHead
			if err := sigsyaml.Unmarshal(doc, &head); err != nil {
				t.Fatalf("%s: %v", f, err)
			}
			if head.Kind != "CustomResourceDefinition" {
				continue
			}
			crds = append(crds, crd{head.Metadata.Name, doc})
		}
	}
	ctx := t.Context()
	errs := make([]error, len(crds))
	sem := make(chan struct{}, 4)
	var wg sync.WaitGroup
	for i, c := range crds {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			q := url.Values{"fieldManager": {fieldManager}, "force": {"true"}}
			code, body, _, err := k.do(ctx, http.MethodPatch, "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/"+c.name, q, "application/apply-patch+yaml", c.doc)
			if err == nil && code >= 300 {
				err = errors.New(statusMessage(code, body))
			}
			if err != nil {
				errs[i] = fmt.Errorf("CRD %s: %w", c.name, err)
			}
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	// Established: the CRD's REST endpoint serves.
	want := map[string]bool{}
	for _, c := range crds {
		want[c.name] = true
	}
	deadline := time.Now().Add(time.Minute)
	for {
		code, body, _, err := k.do(ctx, http.MethodGet, "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", nil, "", nil)
		if err != nil || code != http.StatusOK {
			t.Fatalf("listing CRDs: %v %s", err, statusMessage(code, body))
		}
		var list struct {
			Items []struct {
				Metadata struct{ Name string }
				Status   struct {
					Conditions []struct{ Type, Status string }
				}
			}
		}
		if err := json.Unmarshal(body, &list); err != nil {
			t.Fatal(err)
		}
		pending := map[string]bool{}
		for n := range want {
			pending[n] = true
		}
		for _, it := range list.Items {
			for _, c := range it.Status.Conditions {
				if c.Type == "Established" && c.Status == "True" {
					delete(pending, it.Metadata.Name)
				}
			}
		}
		if len(pending) == 0 {
			t.Logf("installed %d CRDs from %d files", len(crds), len(files))
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("CRDs not Established after a minute: %v", pending)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// ensureNamespace creates a namespace that enforces, and warns about, the
// restricted Pod Security Standard: pods that break it are rejected, and
// workloads (Deployments, Jobs) whose pod template breaks it draw a warning.
func (k *kubeEnv) ensureNamespace(ctx context.Context, name string) error {
	k.mu.Lock()
	done := k.nss[name]
	k.mu.Unlock()
	if done {
		return nil
	}
	ns := map[string]any{
		"apiVersion": "v1",
		"kind":       "Namespace",
		"metadata": map[string]any{
			"name": name,
			"labels": map[string]string{
				"pod-security.kubernetes.io/enforce":         "restricted",
				"pod-security.kubernetes.io/enforce-version": "latest",
				"pod-security.kubernetes.io/warn":            "restricted",
				"pod-security.kubernetes.io/warn-version":    "latest",
			},
		},
	}
	body, err := json.Marshal(ns)
	if err != nil {
		return err
	}
	code, resp, _, err := k.do(ctx, http.MethodPost, "/api/v1/namespaces", url.Values{"fieldManager": {fieldManager}}, "application/json", body)
	if err != nil {
		return err
	}
	if code >= 300 && code != http.StatusConflict {
		return fmt.Errorf("create namespace %s: %s", name, statusMessage(code, resp))
	}
	k.mu.Lock()
	k.nss[name] = true
	k.mu.Unlock()
	return nil
}

// objectHead is what locating an object needs.
type objectHead struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
	} `json:"metadata"`
}

// applyResult is the server's verdict on one object.
type applyResult struct {
	Object    string   // Kind/name
	Namespace string   // where it was applied; empty for a cluster-scoped object
	Err       string   // empty: accepted
	Warnings  []string // e.g. Pod Security "would violate PodSecurity"
}

// applyDryRun server-side applies one YAML document with dryRun=All and
// fieldValidation=Strict, in namespace ns unless the object names its own
// (which is created first). The document is sent as written, so the
// server's own YAML decoding (duplicate fields included) judges it.
func (k *kubeEnv) applyDryRun(ctx context.Context, ns string, doc []byte) applyResult {
	var head objectHead
	if err := sigsyaml.Unmarshal(doc, &head); err != nil {
		return applyResult{Object: "?", Err: "YAML: " + err.Error()}
	}
	res := applyResult{Object: head.Kind + "/" + head.Metadata.Name}
	gv, err := schema.ParseGroupVersion(head.APIVersion)
	if err != nil || head.Kind == "" {
		res.Err = fmt.Sprintf("apiVersion %q, kind %q: not a Kubernetes object", head.APIVersion, head.Kind)
		return res
	}
	k.mu.Lock()
	mapper := k.mapper
	k.mu.Unlock()
	m, err := mapper.RESTMapping(schema.GroupKind{Group: gv.Group, Kind: head.Kind}, gv.Version)
	if err != nil {
		// What kubectl says: the server has no such kind.
		res.Err = fmt.Sprintf("no matches for kind %q in version %q", head.Kind, head.APIVersion)
		return res
	}
	if head.Metadata.Name == "" {
		res.Err = "metadata.name: Required value"
		return res
	}
	path := "/apis/" + gv.Group + "/" + gv.Version
	if gv.Group == "" {
		path = "/api/" + gv.Version
	}
	if m.Scope.Name() == meta.RESTScopeNameNamespace {
		if head.Metadata.Namespace != "" {
			ns = head.Metadata.Namespace
		}
		res.Namespace = ns
		if err := k.ensureNamespace(ctx, ns); err != nil {
			res.Err = err.Error()
			return res
		}
		path += "/namespaces/" + ns
	}
	path += "/" + m.Resource.Resource + "/" + head.Metadata.Name
	q := url.Values{
		"dryRun":          {"All"},
		"fieldManager":    {fieldManager},
		"fieldValidation": {"Strict"},
		"force":           {"true"},
	}
	code, body, warnings, err := k.do(ctx, http.MethodPatch, path, q, "application/apply-patch+yaml", doc)
	res.Warnings = warnings
	switch {
	case err != nil:
		res.Err = err.Error()
	case code >= 300:
		res.Err = statusMessage(code, body)
	}
	return res
}

// splitDocs splits a YAML stream into its documents, dropping those that
// hold nothing (only comments, or an empty document).
func splitDocs(data []byte) ([][]byte, error) {
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	var out [][]byte
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		js, err := sigsyaml.YAMLToJSON(doc)
		if err == nil && (len(bytes.TrimSpace(js)) == 0 || string(bytes.TrimSpace(js)) == "null") {
			continue
		}
		out = append(out, doc)
	}
}
