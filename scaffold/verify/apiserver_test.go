//go:build apiserver

// The apiserver tier: the truth that `paved verify` models.
//
//	go test -tags apiserver -run APIServer -v ./scaffold/verify/
//
// It starts a real kube-apiserver (tools/kube: built once, 10-20 minutes
// cold, then cached outside the repository), installs the Istio, Chaos Mesh,
// Prometheus Operator, Argo Rollouts and Argo CD CRDs, and
//
//   - Golden: renders the built-in template for each golden case, renders
//     its chart with the default values and each values file, and applies
//     every object and every custom resource with dryRun=All and
//     fieldValidation=Strict in a namespace that enforces (and warns about)
//     the restricted Pod Security Standard. Every object must be accepted,
//     without a single warning.
//   - Differential: runs each broken (and each control) repository of
//     testdata/apiserver/*.txtar through both the server and `paved
//     verify`, logs a table of their verdicts, and fails where verify is
//     looser than the server: the server rejects (or warns about) what
//     verify lets pass. The server runs no admission webhooks (Istio's,
//     Chaos Mesh's, the Prometheus Operator's), so verify may be stricter
//     there; a case can demand that with "verify: flag".
//
// A corpus case is a txtar archive: the comment holds "key: value" lines
//
//	server: reject | warn | accept   what the server must say (keeps the corpus honest)
//	verify: flag | clean             optional: what verify must say
//	verify-gap: NOTE                 a known verify miss; the case is logged, not failed,
//	                                 and fails once verify catches it (remove the line then)
//
// and free text; the files are the repository.
package verify_test

import (
	"bytes"
	"cmp"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"text/tabwriter"
	"time"

	"github.com/rogpeppe/go-internal/txtar"

	"github.com/paved-dev/paved/scaffold/verify"
	"github.com/paved-dev/paved/templates/templatetest"
)

// kubeChecks are the verify checks that judge what a server would judge.
var kubeChecks = []string{"helm", "kubernetes", "istio", "chaos", "prometheus", "references", "consistency"}

func TestAPIServer(t *testing.T) {
	total := time.Now()
	k := startKube(t)
	t.Run("Golden", func(t *testing.T) { testGolden(t, k) })
	t.Run("Differential", func(t *testing.T) { testDifferential(t, k) })
	k.timings["total"] = time.Since(total)
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	for _, name := range sortedKeysOf(k.timings) {
		fmt.Fprintf(tw, "  %s\t%s\n", name, k.timings[name].Round(10*time.Millisecond))
	}
	tw.Flush()
	t.Logf("timings:\n%s", b.String())
}

// --- golden cases ---

func testGolden(t *testing.T, k *kubeEnv) {
	start := time.Now()
	defer func() { k.timings["golden cases"] = time.Since(start) }()
	ctx := t.Context()
	var rows [][]string
	for _, c := range templatetest.ServiceCases {
		t.Run(c.Name, func(t *testing.T) {
			dir, ns := renderGolden(t, c)
			docs, renderErrs, err := repoObjects(ctx, dir, ns, k.version)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range renderErrs {
				t.Errorf("render: %s", e)
			}
			kubernetes := !slices.Contains(c.Set, "Kubernetes=false")
			if !kubernetes {
				if len(docs) > 0 {
					t.Errorf("Kubernetes=false, yet %d objects to apply (first from %s)", len(docs), docs[0].Source)
				}
				rows = append(rows, []string{c.Name, "0", "nothing to apply", verdictOfVerify(t, dir)})
				return
			}
			if len(docs) == 0 {
				t.Fatal("no objects rendered")
			}
			// Kinds by the namespace they went to: the release's, or the
			// one an object names (Argo CD's Applications: argocd).
			kinds := map[string]map[string]int{}
			for _, d := range docs {
				res := k.applyDryRun(ctx, ns, d.Doc)
				at := cmp.Or(res.Namespace, "(cluster)")
				if kinds[at] == nil {
					kinds[at] = map[string]int{}
				}
				kinds[at][strings.SplitN(res.Object, "/", 2)[0]]++
				if res.Err != "" {
					t.Errorf("%s: %s rejected: %s", d.Source, res.Object, res.Err)
				}
				for _, w := range res.Warnings {
					t.Errorf("%s: %s: warning: %s", d.Source, res.Object, w)
				}
			}
			for _, at := range sortedKeysOf(kinds) {
				var ks []string
				n := 0
				for _, kind := range sortedKeysOf(kinds[at]) {
					ks = append(ks, fmt.Sprintf("%s×%d", kind, kinds[at][kind]))
					n += kinds[at][kind]
				}
				t.Logf("namespace %s: %d objects applied (dry run): %s", at, n, strings.Join(ks, " "))
			}
			server := "all accepted"
			if t.Failed() {
				server = "REJECTED/WARNED"
			}
			rows = append(rows, []string{c.Name, fmt.Sprint(len(docs)), server, verdictOfVerify(t, dir)})
		})
	}
	t.Logf("golden cases, server vs verify (checks %s):\n%s", strings.Join(kubeChecks, ","), table([]string{"case", "objects", "server", "verify"}, rows))
}

// renderGolden renders the built-in template from its zip into a temporary
// directory, as `paved new --defaults --no-hooks` would write it, and
// returns the directory and the service's name (the namespace the deploy
// workflow installs into, which the chaos manifests name).
func renderGolden(t *testing.T, c templatetest.Case) (string, string) {
	t.Helper()
	plan, files, err := templatetest.RenderCase(t.Context(), filepath.Join("..", "..", "templates", "service"), "service", c, "v0.0.0-apiserver")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, f := range files {
		p := filepath.Join(dir, filepath.FromSlash(f.Path))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if f.Mode&os.ModeSymlink != 0 {
			if err := os.Symlink(f.Link, p); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.WriteFile(p, f.Data, f.Mode.Perm()|0o600); err != nil {
			t.Fatal(err)
		}
	}
	name, _ := plan.Answers["Name"].(string)
	if name == "" {
		t.Fatal("no Name answer")
	}
	return dir, name
}

// verdictOfVerify runs the Kubernetes-facing verify checks on a golden
// repository and summarises them: the server accepted everything, so any
// finding here is verify being stricter than the server (fine for policy,
// suspicious for anything else: the table shows it).
func verdictOfVerify(t *testing.T, dir string) string {
	t.Helper()
	rep, err := verify.Run(t.Context(), dir, verify.Options{Checks: kubeChecks, Shellcheck: "-"})
	if err != nil {
		t.Errorf("verify: %v", err)
		return "error"
	}
	for _, e := range rep.Errors {
		t.Errorf("verify: %v", e)
	}
	if len(rep.Findings) == 0 {
		return "clean"
	}
	for _, f := range rep.Findings {
		t.Logf("verify (stricter than the server here): %s", f)
	}
	return fmt.Sprintf("%d finding(s), first: %s", len(rep.Findings), rep.Findings[0])
}

// --- differential corpus ---

// diffCase is one archive of testdata/apiserver.
type diffCase struct {
	Name      string
	File      string
	About     string
	Server    string // reject | warn | accept
	Verify    string // flag | clean | ""
	VerifyGap string
	Archive   *txtar.Archive
}

func loadCorpus(t *testing.T) []*diffCase {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("..", "..", "testdata", "apiserver", "*.txtar"))
	if err != nil {
		t.Fatal(err)
	}
	var out []*diffCase
	for _, f := range files {
		a, err := txtar.ParseFile(f)
		if err != nil {
			t.Fatal(err)
		}
		c := &diffCase{Name: strings.TrimSuffix(filepath.Base(f), ".txtar"), File: filepath.ToSlash(f), Archive: a}
		var about []string
		for _, line := range strings.Split(string(a.Comment), "\n") {
			key, val, ok := strings.Cut(line, ":")
			val = strings.TrimSpace(val)
			switch {
			case ok && key == "server":
				c.Server = val
			case ok && key == "verify":
				c.Verify = val
			case ok && key == "verify-gap":
				c.VerifyGap = val
			case strings.TrimSpace(line) != "":
				about = append(about, strings.TrimSpace(strings.TrimPrefix(line, "#")))
			}
		}
		c.About = strings.Join(about, " ")
		if !slices.Contains([]string{"reject", "warn", "accept"}, c.Server) {
			t.Fatalf("%s: the comment must say server: reject, warn or accept", f)
		}
		if c.Verify != "" && c.Verify != "flag" && c.Verify != "clean" {
			t.Fatalf("%s: verify: must be flag or clean", f)
		}
		if len(a.Files) == 0 {
			t.Fatalf("%s: no files", f)
		}
		out = append(out, c)
	}
	if len(out) < 30 {
		t.Errorf("the corpus has %d cases; keep at least 30", len(out))
	}
	return out
}

// outcome is what the server and verify said about one case.
type outcome struct {
	Case           *diffCase
	Server         string // reject | warn | accept
	ServerSays     string
	VerifyFlags    bool
	VerifySays     string
	Classification string
	Failure        string
}

var nsUnsafe = regexp.MustCompile(`[^a-z0-9-]+`)

func testDifferential(t *testing.T, k *kubeEnv) {
	start := time.Now()
	defer func() { k.timings["differential corpus"] = time.Since(start) }()
	cases := loadCorpus(t)
	var outs []*outcome
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			o := runCase(t, k, c)
			outs = append(outs, o)
			if o.Failure != "" {
				t.Errorf("%s: %s\n  about:  %s\n  server: %s: %s\n  verify: %s", c.File, o.Failure, c.About, o.Server, o.ServerSays, o.VerifySays)
			}
		})
	}
	var rows [][]string
	counts := map[string]int{}
	for _, o := range outs {
		counts[o.Classification]++
		rows = append(rows, []string{o.Case.Name, o.Server, map[bool]string{true: "flag", false: "clean"}[o.VerifyFlags], o.Classification})
	}
	t.Logf("differential: %d cases\n%s", len(outs), table([]string{"case", "server", "verify", "agreement"}, rows))
	var summary []string
	for _, k := range sortedKeysOf(counts) {
		summary = append(summary, fmt.Sprintf("%s: %d", k, counts[k]))
	}
	t.Logf("differential summary: %s", strings.Join(summary, "; "))
	var details strings.Builder
	for _, o := range outs {
		fmt.Fprintf(&details, "\n%s [%s]\n  about:  %s\n  server: %s\n  verify: %s\n", o.Case.Name, o.Classification, o.Case.About, o.ServerSays, o.VerifySays)
	}
	t.Logf("differential details:%s", details.String())
}

// runCase extracts a case into a directory and runs it through both.
func runCase(t *testing.T, k *kubeEnv, c *diffCase) *outcome {
	dir := t.TempDir()
	for _, f := range c.Archive.Files {
		p := filepath.Join(dir, filepath.FromSlash(f.Name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, f.Data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	o := &outcome{Case: c, Server: "accept"}
	ns := strings.Trim(nsUnsafe.ReplaceAllString("d-"+strings.ToLower(c.Name), "-"), "-")
	if len(ns) > 63 {
		ns = strings.Trim(ns[:63], "-")
	}

	// The server (and Helm before it).
	ctx := t.Context()
	docs, renderErrs, err := repoObjects(ctx, dir, ns, k.version)
	if err != nil {
		t.Fatal(err)
	}
	var says []string
	if len(renderErrs) > 0 {
		o.Server = "reject"
		for _, e := range renderErrs {
			says = append(says, "helm: "+e)
		}
	}
	if len(docs) == 0 && len(renderErrs) == 0 {
		t.Fatalf("%s: nothing to apply", c.File)
	}
	for _, d := range docs {
		res := k.applyDryRun(ctx, ns, d.Doc)
		if res.Err != "" {
			o.Server = "reject"
			says = append(says, fmt.Sprintf("%s: %s", res.Object, res.Err))
		}
		for _, w := range res.Warnings {
			if o.Server == "accept" {
				o.Server = "warn"
			}
			says = append(says, fmt.Sprintf("%s: warning: %s", res.Object, w))
		}
	}
	o.ServerSays = cmp.Or(strings.Join(says, " | "), "accepted")

	// paved verify, every check.
	rep, err := verify.Run(ctx, dir, verify.Options{Shellcheck: "-"})
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	for _, e := range rep.Errors {
		t.Errorf("verify: check could not run: %v", e)
	}
	o.VerifyFlags = len(rep.Findings) > 0
	var vs []string
	for _, f := range rep.Findings {
		vs = append(vs, f.String())
	}
	o.VerifySays = cmp.Or(strings.Join(vs, " | "), "no findings")

	serverFlags := o.Server != "accept"
	switch {
	case serverFlags && o.VerifyFlags:
		o.Classification = "agree: both flag"
	case !serverFlags && !o.VerifyFlags:
		o.Classification = "agree: both accept"
	case !serverFlags && o.VerifyFlags:
		o.Classification = "verify stricter"
	default:
		o.Classification = "VERIFY LOOSER"
	}

	var failures []string
	if o.Server != c.Server {
		failures = append(failures, fmt.Sprintf("the server says %s, the case expects %s (fix the case)", o.Server, c.Server))
	}
	var verifyWrong string
	switch {
	case serverFlags && !o.VerifyFlags:
		verifyWrong = "verify passes what the server " + map[string]string{"reject": "rejects", "warn": "warns about"}[o.Server]
	case c.Verify == "flag" && !o.VerifyFlags:
		verifyWrong = "verify should flag this (webhook-level defect the server cannot see)"
	case c.Verify == "clean" && o.VerifyFlags:
		verifyWrong = "verify cries wolf on a valid repository"
	}
	switch {
	case verifyWrong != "" && c.VerifyGap != "":
		o.Classification += " (known gap)"
		t.Logf("known verify gap: %s: %s", verifyWrong, c.VerifyGap)
	case verifyWrong != "":
		failures = append(failures, verifyWrong)
	case c.VerifyGap != "":
		failures = append(failures, "verify now gets this right: remove the verify-gap line from "+c.File)
	}
	o.Failure = strings.Join(failures, "; ")
	return o
}

// --- helpers ---

func table(header []string, rows [][]string) string {
	var b bytes.Buffer
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  "+strings.Join(header, "\t"))
	for _, r := range rows {
		fmt.Fprintln(tw, "  "+strings.Join(r, "\t"))
	}
	tw.Flush()
	return b.String()
}

func sortedKeysOf[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
