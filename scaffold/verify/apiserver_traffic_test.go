//go:build apiserver

package verify_test

// Who owns a canary's traffic split, proved on a real kube-apiserver.
//
//	go test -tags apiserver -run TestAPIServerTraffic -v ./scaffold/verify/
//
// During a canary the Argo Rollouts controller rewrites the chart's
// VirtualService weights and its DestinationRule subset labels
// (rollouts-pod-template-hash) with plain Updates. Both spec.http and
// spec.subsets are atomic lists in Istio's CRDs (no x-kubernetes-list-type),
// so after such an Update the controller's field manager owns the whole
// list, and a server-side apply that sends the chart's own 100/0 either
// conflicts (Helm 4's default: no --force-conflicts) or, forced, resets the
// canary. The chart therefore renders the live weights and hashes through
// `lookup`; this test installs and upgrades the real chart with Helm's Go
// SDK (the code `helm upgrade` runs), acting as the controller in between,
// and shows what the chart without that lookup would have done.

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/paved-dev/paved/templates/templatetest"
	"helm.sh/helm/v4/pkg/action"
	"helm.sh/helm/v4/pkg/chart/common"
	chartutil "helm.sh/helm/v4/pkg/chart/common/util"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	"helm.sh/helm/v4/pkg/kube"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	sigsyaml "sigs.k8s.io/yaml"
)

// rolloutsUserAgent is what the Argo Rollouts controller (v1.10.2) sends.
// It updates without naming a field manager, so the server names it after
// the user agent's first word: "rollouts-controller".
const (
	rolloutsUserAgent = "rollouts-controller/v1.10.2 (linux/amd64) argo-rollouts/v1.10.2"
	rolloutsManager   = "rollouts-controller"
	helmManager       = "helm" // what the helm CLI sets kube.ManagedFieldsManager to
)

var (
	vsGVR = schema.GroupVersionResource{Group: "networking.istio.io", Version: "v1", Resource: "virtualservices"}
	drGVR = schema.GroupVersionResource{Group: "networking.istio.io", Version: "v1", Resource: "destinationrules"}
)

// split is the traffic state the controller owns: a weight per
// "route/subset" and a rollouts-pod-template-hash per subset.
type split struct {
	weights map[string]int64
	hashes  map[string]string
}

func weightsOf(stable, canary int64) map[string]int64 {
	return map[string]int64{
		"idempotent/stable": stable, "idempotent/canary": canary,
		"default/stable": stable, "default/canary": canary,
	}
}

func TestAPIServerTraffic(t *testing.T) {
	k := startKube(t)
	var c templatetest.Case
	for _, sc := range templatetest.ServiceCases {
		if sc.Name == "defaults" {
			c = sc
		}
	}
	if c.Name == "" {
		t.Fatal("no golden case named defaults")
	}
	dir, name := renderGolden(t, c)
	chartDir := filepath.Join(dir, "deploy", "helm", name)
	kube.ManagedFieldsManager = helmManager

	for _, mode := range []struct {
		name              string
		ns                string
		serverSide, force bool
	}{
		// Helm 4's default, and the deploy workflow's.
		{"server-side apply", "traffic-ssa", true, false},
		{"server-side apply --force-conflicts", "traffic-force", true, true},
		// A release installed by Helm 3 (upgrades keep its apply method),
		// or --server-side=false: a three-way merge patch.
		{"client-side apply", "traffic-csa", false, false},
	} {
		t.Run(mode.name, func(t *testing.T) {
			h := newHelmRun(t, k, chartDir, name, mode.ns, mode.serverSide, mode.force)
			testTrafficOwnership(t, k, h)
		})
	}
}

func testTrafficOwnership(t *testing.T, k *kubeEnv, h *helmRun) {
	ctx := t.Context()
	ctl := newRolloutsController(t, k, h.ns, h.name)

	h.install(t, "1.0.0")
	h.expect(t, "after install", split{weightsOf(100, 0), map[string]string{}})

	// The controller's first reconcile: both subsets on the stable hash.
	ctl.set(t, split{nil, map[string]string{"stable": "5d8f9c7b6", "canary": "5d8f9c7b6"}})
	// A canary at its first step: 10% to the new pods.
	mid := split{weightsOf(90, 10), map[string]string{"stable": "5d8f9c7b6", "canary": "7c4b8d9f5"}}
	ctl.set(t, mid)
	h.expectManager(t, rolloutsManager, "f:http", "f:subsets")

	if h.serverSide {
		// What the chart without lookup would do: the objects as `helm
		// template` renders them (stable 100, canary 0, no hashes), applied
		// as Helm applies them, in a dry run.
		k.showUnfixedApply(t, h)
	}

	h.upgrade(t, "1.1.0", nil)
	h.expect(t, "after an upgrade in the middle of the canary", mid)
	h.expectImageTag(t, "1.1.0")

	// The canary is promoted: all traffic back to stable, and both subsets
	// on the promoted pods' hash, a label the chart never rendered.
	done := split{weightsOf(100, 0), map[string]string{"stable": "7c4b8d9f5", "canary": "7c4b8d9f5"}}
	ctl.set(t, done)
	h.upgrade(t, "1.2.0", nil)
	h.expect(t, "after an upgrade once the canary ended", done)
	h.expectImageTag(t, "1.2.0")

	// A release that changes the routes themselves (their timeout) while a
	// canary runs: the chart keeps the live weights either way, but an
	// unforced server-side apply may not change a list the controller has
	// written.
	next := split{weightsOf(75, 25), map[string]string{"stable": "7c4b8d9f5", "canary": "6f9d7c8b4"}}
	ctl.set(t, next)
	err := h.upgradeErr(ctx, "1.3.0", map[string]any{"istio": map[string]any{"timeout": "9s"}})
	if h.force || !h.serverSide {
		if err != nil {
			t.Fatalf("helm upgrade with a new route timeout: %v", err)
		}
		h.expect(t, "after an upgrade that changed the routes' timeout", next)
		if got := routeTimeouts(t, h.vs(t)); got != "9s,9s" {
			t.Errorf("route timeouts %s after the upgrade, want 9s,9s", got)
		}
	} else {
		if err == nil || !strings.Contains(err.Error(), "conflict") || !strings.Contains(err.Error(), rolloutsManager) {
			t.Fatalf("helm upgrade (no --force-conflicts) changing the routes' timeout during a canary: got %v, want a conflict with %s", err, rolloutsManager)
		}
		t.Logf("as expected, without --force-conflicts a chart change to the routes conflicts once the controller has written them (the split stays): %v", err)
		h.expect(t, "after the refused upgrade", next)
		if got := routeTimeouts(t, h.vs(t)); got != "10s,10s" {
			t.Errorf("route timeouts %s after a refused upgrade, want 10s,10s", got)
		}
	}

	// The analysis fails and the controller aborts the canary: all traffic
	// back to stable, the canary subset still on the aborted pods' hash.
	// Then what the deploy workflow does next: `helm rollback` to the
	// release before the canary (revision 3, rendered once the previous
	// canary had ended). A rollback is not rendered, so lookup cannot help:
	// it re-applies the manifest stored for that revision (stable 100,
	// both subsets on 7c4b8d9f5). Unforced server-side apply refuses it,
	// since the controller has rewritten the subsets since; forced or
	// client-side apply writes the stored split back, which here is right
	// (the rolled-back Rollout runs the stable pods again), and the
	// controller rewrites what it owns on its next reconcile in any case.
	aborted := split{weightsOf(100, 0), map[string]string{"stable": "7c4b8d9f5", "canary": "6f9d7c8b4"}}
	ctl.set(t, aborted)
	err = h.rollback(3)
	if h.serverSide && !h.force {
		if err == nil || !strings.Contains(err.Error(), rolloutsManager) || !strings.Contains(err.Error(), ".spec.subsets") {
			t.Fatalf("helm rollback after an aborted canary: got %v, want a conflict with %s on .spec.subsets", err, rolloutsManager)
		}
		t.Logf("helm rollback (no --force-conflicts) after an aborted canary is refused: %v", err)
		h.expect(t, "after the refused rollback", aborted)
		return
	}
	if err != nil {
		t.Fatalf("helm rollback after an aborted canary: %v", err)
	}
	h.expect(t, "after a rollback to revision 3 (its stored split)", done)
}

// --- Helm, through its Go SDK ---

// helmRun installs and upgrades one release as `helm upgrade --install`
// does: with server-side apply, forced or not, or client-side.
type helmRun struct {
	k                 *kubeEnv
	cfg               *action.Configuration
	chartDir          string
	name, ns          string
	serverSide, force bool
	dyn               dynamic.Interface
}

func newHelmRun(t *testing.T, k *kubeEnv, chartDir, name, ns string, serverSide, force bool) *helmRun {
	t.Helper()
	if err := k.ensureNamespace(t.Context(), ns); err != nil {
		t.Fatal(err)
	}
	host, token, ca, cache := k.host, k.cfg.BearerToken, filepath.Join(k.dir, "pki", "ca.crt"), t.TempDir()
	flags := genericclioptions.NewConfigFlags(false)
	flags.APIServer, flags.BearerToken, flags.CAFile, flags.CacheDir, flags.Namespace = &host, &token, &ca, &cache, &ns
	cfg := action.NewConfiguration(action.ConfigurationSetLogger(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if err := cfg.Init(flags, ns, "secret"); err != nil {
		t.Fatal(err)
	}
	dyn, err := dynamic.NewForConfig(k.cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &helmRun{k: k, cfg: cfg, chartDir: chartDir, name: name, ns: ns, serverSide: serverSide, force: force, dyn: dyn}
}

// values are what the deploy workflow passes: values-staging.yaml, then
// the image tag, then extra.
func (h *helmRun) values(tag string, extra map[string]any) (map[string]any, error) {
	vals, err := common.ReadValuesFile(filepath.Join(h.chartDir, "values-staging.yaml"))
	if err != nil {
		return nil, err
	}
	out := chartutil.MergeTables(map[string]any{"image": map[string]any{"tag": tag}}, vals)
	if extra != nil {
		out = chartutil.MergeTables(extra, out)
	}
	return out, nil
}

func (h *helmRun) install(t *testing.T, tag string) {
	t.Helper()
	ch, err := loader.Load(h.chartDir)
	if err != nil {
		t.Fatal(err)
	}
	in := action.NewInstall(h.cfg)
	in.ReleaseName, in.Namespace = h.name, h.ns
	in.ServerSideApply, in.ForceConflicts = h.serverSide, h.force
	// Nothing runs here (no controllers, no kubelet): no hook Job could
	// finish and no Pod become ready.
	in.DisableHooks, in.WaitStrategy, in.Timeout = true, kube.HookOnlyStrategy, time.Minute
	vals, err := h.values(tag, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := in.RunWithContext(t.Context(), ch, vals); err != nil {
		t.Fatalf("helm install: %v", err)
	}
}

func (h *helmRun) upgrade(t *testing.T, tag string, extra map[string]any) {
	t.Helper()
	if err := h.upgradeErr(t.Context(), tag, extra); err != nil {
		t.Fatalf("helm upgrade (image %s): %v", tag, err)
	}
}

func (h *helmRun) upgradeErr(ctx context.Context, tag string, extra map[string]any) error {
	ch, err := loader.Load(h.chartDir)
	if err != nil {
		return err
	}
	up := action.NewUpgrade(h.cfg)
	up.Namespace = h.ns
	up.ServerSideApply, up.ForceConflicts = "auto", h.force // auto: as the release was installed
	up.DisableHooks, up.WaitStrategy, up.Timeout = true, kube.HookOnlyStrategy, time.Minute
	vals, err := h.values(tag, extra)
	if err != nil {
		return err
	}
	_, err = up.RunWithContext(ctx, h.name, ch, vals)
	return err
}

func (h *helmRun) rollback(revision int) error {
	rb := action.NewRollback(h.cfg)
	rb.Version = revision
	rb.ServerSideApply, rb.ForceConflicts = "auto", h.force
	rb.DisableHooks, rb.WaitStrategy, rb.Timeout = true, kube.HookOnlyStrategy, time.Minute
	return rb.Run(h.name)
}

func (h *helmRun) get(t *testing.T, gvr schema.GroupVersionResource) *unstructured.Unstructured {
	t.Helper()
	obj, err := h.dyn.Resource(gvr).Namespace(h.ns).Get(t.Context(), h.name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get %s %s: %v", gvr.Resource, h.name, err)
	}
	return obj
}

func (h *helmRun) vs(t *testing.T) *unstructured.Unstructured { return h.get(t, vsGVR) }

// expect checks the live split against want.
func (h *helmRun) expect(t *testing.T, when string, want split) {
	t.Helper()
	got := split{liveWeights(t, h.vs(t)), liveHashes(t, h.get(t, drGVR))}
	if fmt.Sprint(got.weights) != fmt.Sprint(want.weights) {
		t.Errorf("%s: VirtualService weights %v, want %v", when, got.weights, want.weights)
	}
	if fmt.Sprint(got.hashes) != fmt.Sprint(want.hashes) {
		t.Errorf("%s: DestinationRule subset hashes %v, want %v", when, got.hashes, want.hashes)
	}
	if !t.Failed() {
		t.Logf("%s: weights %v, subset hashes %v", when, got.weights, got.hashes)
	}
}

// expectManager checks that the controller's Update made it the owner of
// the lists (what makes an unforced apply of other values conflict).
func (h *helmRun) expectManager(t *testing.T, manager string, fields ...string) {
	t.Helper()
	for i, gvr := range []schema.GroupVersionResource{vsGVR, drGVR} {
		var owns bool
		for _, mf := range h.get(t, gvr).GetManagedFields() {
			if mf.Manager == manager && mf.Operation == metav1.ManagedFieldsOperationUpdate && mf.FieldsV1 != nil {
				owns = strings.Contains(mf.FieldsV1.GetRawString(), `"`+fields[i]+`"`)
			}
		}
		if !owns {
			t.Errorf("%s: %s does not own spec.%s", gvr.Resource, manager, strings.TrimPrefix(fields[i], "f:"))
		}
	}
}

// expectImageTag checks that the upgrade reached the workload (the Rollout,
// or the Deployment of a chart from before it).
func (h *helmRun) expectImageTag(t *testing.T, tag string) {
	t.Helper()
	var found []string
	for _, gvr := range []schema.GroupVersionResource{
		{Group: "argoproj.io", Version: "v1alpha1", Resource: "rollouts"},
		{Group: "apps", Version: "v1", Resource: "deployments"},
	} {
		obj, err := h.dyn.Resource(gvr).Namespace(h.ns).Get(t.Context(), h.name, metav1.GetOptions{})
		if err != nil {
			continue
		}
		cs, _, _ := unstructured.NestedSlice(obj.Object, "spec", "template", "spec", "containers")
		for _, c := range cs {
			if img, _ := c.(map[string]any)["image"].(string); img != "" {
				found = append(found, img)
				if strings.HasSuffix(img, ":"+tag) {
					return
				}
			}
		}
	}
	t.Errorf("no Rollout or Deployment %s runs image tag %s (images: %v)", h.name, tag, found)
}

// --- the Rollouts controller, played by the test ---

// rolloutsController writes what Argo Rollouts' Istio reconciler writes,
// the way it writes it: get, change, Update (no apply, no field manager).
type rolloutsController struct {
	dyn      dynamic.Interface
	ns, name string
}

func newRolloutsController(t *testing.T, k *kubeEnv, ns, name string) *rolloutsController {
	t.Helper()
	cfg := rest.CopyConfig(k.cfg)
	cfg.UserAgent = rolloutsUserAgent
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &rolloutsController{dyn: dyn, ns: ns, name: name}
}

// set writes the weights (when given) into the VirtualService and the
// hashes into the DestinationRule's subsets, with the annotation the
// controller adds.
func (c *rolloutsController) set(t *testing.T, s split) {
	t.Helper()
	ctx := t.Context()
	if s.weights != nil {
		vs, err := c.dyn.Resource(vsGVR).Namespace(c.ns).Get(ctx, c.name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		routes, _, _ := unstructured.NestedSlice(vs.Object, "spec", "http")
		for _, r := range routes {
			route := r.(map[string]any)
			dests, _ := route["route"].([]any)
			for _, d := range dests {
				dest := d.(map[string]any)
				subset, _, _ := unstructured.NestedString(dest, "destination", "subset")
				if w, ok := s.weights[fmt.Sprint(route["name"])+"/"+subset]; ok {
					dest["weight"] = float64(w) // as the controller sets it
				}
			}
		}
		if err := unstructured.SetNestedSlice(vs.Object, routes, "spec", "http"); err != nil {
			t.Fatal(err)
		}
		if _, err := c.dyn.Resource(vsGVR).Namespace(c.ns).Update(ctx, vs, metav1.UpdateOptions{}); err != nil {
			t.Fatalf("controller: update VirtualService: %v", err)
		}
	}
	dr, err := c.dyn.Resource(drGVR).Namespace(c.ns).Get(ctx, c.name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	subsets, _, _ := unstructured.NestedSlice(dr.Object, "spec", "subsets")
	for _, s0 := range subsets {
		subset := s0.(map[string]any)
		if hash, ok := s.hashes[fmt.Sprint(subset["name"])]; ok {
			labels, _ := subset["labels"].(map[string]any)
			if labels == nil {
				labels = map[string]any{}
			}
			labels["rollouts-pod-template-hash"] = hash
			subset["labels"] = labels
		}
	}
	if err := unstructured.SetNestedSlice(dr.Object, subsets, "spec", "subsets"); err != nil {
		t.Fatal(err)
	}
	ann := dr.GetAnnotations()
	if ann == nil {
		ann = map[string]string{}
	}
	ann["argo-rollouts.argoproj.io/managed-by-rollouts"] = c.name
	dr.SetAnnotations(ann)
	if _, err := c.dyn.Resource(drGVR).Namespace(c.ns).Update(ctx, dr, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("controller: update DestinationRule: %v", err)
	}
}

// --- without the fix ---

// showUnfixedApply applies the VirtualService and DestinationRule as the
// chart renders them without a live object to look up (the chart before
// this fix, or `helm template`), as Helm applies them, with dryRun=All:
// unforced, the server refuses with a conflict naming the controller;
// forced, it would reset the split to 100/0 and drop the hashes. Both
// outcomes are required: they are why the chart looks the values up.
func (k *kubeEnv) showUnfixedApply(t *testing.T, h *helmRun) {
	t.Helper()
	ctx := t.Context()
	kv, err := common.ParseKubeVersion(k.version)
	if err != nil {
		t.Fatal(err)
	}
	vals, err := h.values("1.1.0", nil)
	if err != nil {
		t.Fatal(err)
	}
	files, err := renderChart(ctx, h.chartDir, vals, h.ns, kv)
	if err != nil {
		t.Fatal(err)
	}
	for _, obj := range []struct {
		file     string
		resource string
		list     string
	}{
		{"virtualservice.yaml", "virtualservices", ".spec.http"},
		{"destinationrule.yaml", "destinationrules", ".spec.subsets"},
	} {
		var doc string
		for name, content := range files {
			if strings.HasSuffix(name, "/templates/"+obj.file) {
				doc = content
			}
		}
		if doc == "" {
			t.Fatalf("the chart renders no templates/%s", obj.file)
		}
		path := "/apis/networking.istio.io/v1/namespaces/" + h.ns + "/" + obj.resource + "/" + h.name
		q := url.Values{"dryRun": {"All"}, "fieldManager": {helmManager}, "fieldValidation": {"Strict"}}
		code, body, _, err := k.do(ctx, http.MethodPatch, path, q, "application/apply-patch+yaml", []byte(doc))
		if err != nil {
			t.Fatal(err)
		}
		msg := statusMessage(code, body)
		if code != http.StatusConflict || !strings.Contains(msg, rolloutsManager) || !strings.Contains(msg, obj.list) {
			t.Errorf("without lookup, server-side apply of %s: HTTP %d %s; want a conflict with %s on %s", obj.file, code, msg, rolloutsManager, obj.list)
		} else {
			t.Logf("without lookup, server-side apply of %s is refused: %s", obj.file, msg)
		}
		q.Set("force", "true")
		code, body, _, err = k.do(ctx, http.MethodPatch, path, q, "application/apply-patch+yaml", []byte(doc))
		if err != nil || code != http.StatusOK {
			t.Fatalf("forced dry-run apply of %s: %v %s", obj.file, err, statusMessage(code, body))
		}
		var forced unstructured.Unstructured
		if err := sigsyaml.Unmarshal(body, &forced.Object); err != nil {
			t.Fatal(err)
		}
		switch obj.resource {
		case "virtualservices":
			if got := liveWeights(t, &forced); fmt.Sprint(got) != fmt.Sprint(weightsOf(100, 0)) {
				t.Errorf("without lookup, --force-conflicts would leave weights %v; expected the reset to 100/0", got)
			} else {
				t.Logf("without lookup, --force-conflicts would reset the canary's weights to %v", got)
			}
		case "destinationrules":
			if got := liveHashes(t, &forced); len(got) != 0 {
				t.Errorf("without lookup, --force-conflicts would leave subset hashes %v; expected them dropped", got)
			} else {
				t.Log("without lookup, --force-conflicts would drop the subsets' rollouts-pod-template-hash labels (both subsets then select every pod)")
			}
		}
	}
}

// --- reading the split ---

func liveWeights(t *testing.T, vs *unstructured.Unstructured) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	routes, _, err := unstructured.NestedSlice(vs.Object, "spec", "http")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range routes {
		route := r.(map[string]any)
		dests, _ := route["route"].([]any)
		for _, d := range dests {
			dest := d.(map[string]any)
			subset, _, _ := unstructured.NestedString(dest, "destination", "subset")
			w, _, _ := unstructured.NestedFieldNoCopy(dest, "weight")
			switch w := w.(type) {
			case int64:
				out[fmt.Sprint(route["name"])+"/"+subset] = w
			case float64:
				out[fmt.Sprint(route["name"])+"/"+subset] = int64(w)
			}
		}
	}
	return out
}

func liveHashes(t *testing.T, dr *unstructured.Unstructured) map[string]string {
	t.Helper()
	out := map[string]string{}
	subsets, _, err := unstructured.NestedSlice(dr.Object, "spec", "subsets")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range subsets {
		subset := s.(map[string]any)
		if h, ok, _ := unstructured.NestedString(subset, "labels", "rollouts-pod-template-hash"); ok {
			out[fmt.Sprint(subset["name"])] = h
		}
	}
	return out
}

func routeTimeouts(t *testing.T, vs *unstructured.Unstructured) string {
	t.Helper()
	routes, _, _ := unstructured.NestedSlice(vs.Object, "spec", "http")
	var ts []string
	for _, r := range routes {
		ts = append(ts, fmt.Sprint(r.(map[string]any)["timeout"]))
	}
	return strings.Join(ts, ",")
}
