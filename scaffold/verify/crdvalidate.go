package verify

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"

	"github.com/paved-dev/paved/scaffold/internal/yamlnode"
	"go.yaml.in/yaml/v3"
	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	structuraldefaulting "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/defaulting"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/listtype"
	schemaobjectmeta "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/objectmeta"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/pruning"
	apiservervalidation "k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	apimachineryvalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// The CRD schemas verify embeds (see crdschema.go), and the API server's
// handling of a custom resource on create with fieldValidation=Strict,
// done with its own code (k8s.io/apiextensions-apiserver): unknown fields
// found by pruning against the structural schema, defaulting, the OpenAPI
// schema validator, the embedded-object and list-type checks, and the
// metadata rules. The CRDs' only CEL rule (Rollout's spec.selector:
// self == oldSelf) is a transition rule, which never applies to a create;
// TestCRDSchemasHaveNoCreateRules keeps it so.

//go:embed schema/argo-rollouts.crds.json schema/argo-cd.crds.json
var crdSchemaFS embed.FS

// crdType is one served version of one CRD, ready to validate with.
type crdType struct {
	gvk        schema.GroupVersionKind
	namespaced bool
	module     string // module@version the CRD comes from
	structural *structuralschema.Structural
	validator  apiservervalidation.SchemaValidator
}

// crdTypes are the embedded CRDs' served versions, read once; each is
// built into a validator when first used (building all of them costs
// more than a run that needs two).
var crdTypes = sync.OnceValues(func() (map[schema.GroupVersionKind]*crdEntry, error) {
	out := map[schema.GroupVersionKind]*crdEntry{}
	for _, m := range crdModules {
		b, err := crdSchemaFS.ReadFile("schema/" + m.Out)
		if err != nil {
			return nil, err
		}
		var f crdFile
		if err := json.Unmarshal(b, &f); err != nil {
			return nil, fmt.Errorf("schema/%s: %w", m.Out, err)
		}
		for _, c := range f.CRDs {
			module, out1 := f.Module, m.Out
			out[schema.GroupVersionKind{Group: c.Group, Version: c.Version, Kind: c.Kind}] = &crdEntry{
				build: sync.OnceValues(func() (*crdType, error) {
					t, err := newCRDType(c)
					if err != nil {
						return nil, fmt.Errorf("schema/%s: %s: %w", out1, c.Kind, err)
					}
					t.module = module
					return t, nil
				}),
			}
		}
	}
	return out, nil
})

// A crdEntry is one embedded CRD version, built on first use.
type crdEntry struct {
	build func() (*crdType, error)
}

// prefetchCRDs builds the validators of the kinds the repository's YAML
// names, while the charts render: a check that needs them then does not
// wait for them. It is only a head start; crdObjects builds what it needs.
func prefetchCRDs(r *Repo) {
	var want []string
	for _, f := range r.Glob("**/*.yaml", "**/*.yml") {
		b, err := r.Read(f)
		if err != nil || !bytes.Contains(b, []byte("argoproj.io")) {
			continue
		}
		for _, k := range append(slices.Clone(rolloutKinds), argoCDKinds...) {
			if bytes.Contains(b, []byte("kind: "+k+"\n")) && !slices.Contains(want, k) {
				want = append(want, k)
			}
		}
	}
	if len(want) == 0 {
		return
	}
	go func() {
		types, err := crdTypes()
		if err != nil {
			return
		}
		for gvk, e := range types {
			if slices.Contains(want, gvk.Kind) {
				_, _ = e.build()
			}
		}
	}()
}

// newCRDType prepares a version's schema as the API server does when it
// starts serving a CRD (customresource_handler.go): converted to the
// internal type, made structural with defaults pruned, and an OpenAPI
// validator built from it.
func newCRDType(c crdVersion) (*crdType, error) {
	var internal apiextensions.JSONSchemaProps
	if err := apiextensionsv1.Convert_v1_JSONSchemaProps_To_apiextensions_JSONSchemaProps(c.Schema, &internal, nil); err != nil {
		return nil, err
	}
	s, err := structuralschema.NewStructural(&internal)
	if err != nil {
		return nil, err
	}
	s = s.DeepCopy()
	if err := structuraldefaulting.PruneDefaults(s); err != nil {
		return nil, err
	}
	v, _, err := apiservervalidation.NewSchemaValidator(&internal)
	if err != nil {
		return nil, err
	}
	return &crdType{
		gvk:        schema.GroupVersionKind{Group: c.Group, Version: c.Version, Kind: c.Kind},
		namespaced: c.Scope == string(apiextensionsv1.NamespaceScoped),
		structural: s,
		validator:  v,
	}, nil
}

// crdKinds lists the embedded kinds of a group, with their versions.
func crdKinds(types map[schema.GroupVersionKind]*crdEntry, group string) map[string][]string {
	out := map[string][]string{}
	for gvk := range types {
		if gvk.Group == group {
			out[gvk.Kind] = append(out[gvk.Kind], gvk.Version)
		}
	}
	for _, vs := range out {
		slices.Sort(vs)
	}
	return out
}

// validateCR validates a custom resource of an embedded CRD as the API
// server would on create, each problem at its field. It returns the
// object as the server would store it (pruned, defaulted), or nil when it
// would refuse it for more than unknown fields.
func validateCR(ctx context.Context, check string, o *kobject, t *crdType) ([]Finding, map[string]any) {
	var out []Finding
	duplicateKeys(o.Doc.Root, func(dup, first *yaml.Node) {
		out = append(out, o.keyFinding(check, dup, "%s: duplicate field %q (first at line %d)", o.describe(), dup.Value, first.Line))
	})
	if len(out) > 0 {
		return out, nil
	}
	js, err := o.json()
	if err != nil {
		return []Finding{o.finding(check, nil, "%s: %v", o.describe(), err)}, nil
	}
	var obj map[string]any
	if err := utiljson.Unmarshal(js, &obj); err != nil {
		return []Finding{o.finding(check, nil, "%s: %v", o.describe(), err)}, nil
	}
	// Decoding: unknown fields (what fieldValidation=Strict refuses) and
	// what the schema prunes, with metadata kept aside as the server does.
	meta, hasMeta, unknown, err := schemaobjectmeta.GetObjectMetaWithOptions(obj, schemaobjectmeta.ObjectMetaOptions{ReturnUnknownFieldPaths: true})
	if err != nil {
		return []Finding{o.finding(check, yamlnode.Key(o.Doc.Root, "metadata"), "%s: metadata: %v", o.describe(), err)}, nil
	}
	unknown = append(unknown, pruning.PruneWithOptions(obj, t.structural, true, structuralschema.UnknownFieldPathOptions{TrackUnknownFieldPaths: true})...)
	structuraldefaulting.PruneNonNullableNullsWithoutDefaults(obj, t.structural)
	ferr, paths := schemaobjectmeta.CoerceWithOptions(nil, obj, t.structural, false, schemaobjectmeta.CoerceOptions{ReturnUnknownFieldPaths: true})
	unknown = append(unknown, paths...)
	slices.Sort(unknown)
	for _, p := range slices.Compact(unknown) {
		out = append(out, o.keyFinding(check, nodeAt(o, p), "%s: unknown field %q", o.describe(), p))
	}
	if ferr != nil {
		return append(out, fieldFinding(check, o, ferr)), nil
	}
	// An unknown field is refused under fieldValidation=Strict and dropped
	// otherwise: the rest of the object is validated (and cross-checked)
	// as the server would store it.
	unknownFields := len(out)
	if hasMeta {
		if err := schemaobjectmeta.SetObjectMeta(obj, meta); err != nil {
			return []Finding{o.finding(check, yamlnode.Key(o.Doc.Root, "metadata"), "%s: metadata: %v", o.describe(), err)}, nil
		}
	}
	structuraldefaulting.Default(obj, t.structural)

	// Validation, as customResourceStrategy.Validate does.
	var errs field.ErrorList
	if hasMeta {
		errs = append(errs, apimachineryvalidation.ValidateObjectMetaAccessor(meta, t.namespaced, apimachineryvalidation.NameIsDNSSubdomain, field.NewPath("metadata"))...)
	}
	errs = append(errs, apiservervalidation.ValidateCustomResource(nil, obj, t.validator)...)
	errs = append(errs, schemaobjectmeta.Validate(ctx, nil, obj, t.structural, false)...)
	errs = append(errs, listtype.ValidateListSetsAndMaps(nil, t.structural, obj)...)
	for _, e := range errs {
		if e.Field == "metadata.namespace" && e.Type == field.ErrorTypeRequired {
			continue // the namespace comes from the release or kubectl -n
		}
		out = append(out, fieldFinding(check, o, e))
	}
	if len(out) > unknownFields {
		return out, nil
	}
	return out, obj
}

// fieldFinding places a field error of the API server at its field (or
// the nearest field that exists, for a required one that does not).
func fieldFinding(check string, o *kobject, e *field.Error) Finding {
	n, _ := lookup(o.Doc.Root, parseFieldPath(e.Field))
	msg := e.Error()
	if e.Type == field.ErrorTypeRequired && e.Detail == "" {
		msg = e.Field + ": Required value"
	}
	return o.finding(check, n, "%s: %s", o.describe(), strings.TrimSpace(msg))
}

// crdObjects validates the objects of the given groups against the
// embedded CRDs. It reports an apiVersion the CRD does not serve and a
// kind it does not define (only for the kinds of the embedded modules:
// a group with other kinds verify does not know is left alone), and
// returns the objects that passed, as stored.
func crdObjects(ctx context.Context, check string, objs []*kobject, groupKinds func(group, kind string) bool) ([]Finding, []crdObject, error) {
	types, err := crdTypes()
	if err != nil {
		return nil, nil, err
	}
	var out []Finding
	var ok []crdObject
	for _, o := range objs {
		gv, err := schema.ParseGroupVersion(o.APIVersion)
		if err != nil || !groupKinds(gv.Group, o.Kind) {
			continue
		}
		e := types[gv.WithKind(o.Kind)]
		if e == nil {
			vs := crdKinds(types, gv.Group)[o.Kind]
			if len(vs) == 0 {
				continue // a kind no embedded CRD defines: the check says so
			}
			out = append(out, o.finding(check, yamlnode.Key(o.Doc.Root, "apiVersion"), "%s: %s serves %s in %s, not %s", o.describe(), gv.Group, o.Kind, strings.Join(prefixed(gv.Group+"/", vs), ", "), o.APIVersion))
			continue
		}
		t, err := e.build()
		if err != nil {
			return nil, nil, err
		}
		fs, obj := validateCR(ctx, check, o, t)
		out = append(out, fs...)
		if obj != nil {
			ok = append(ok, crdObject{o: o, obj: obj, t: t})
		}
	}
	return out, ok, nil
}

// A crdObject is a custom resource that passed validation.
type crdObject struct {
	o   *kobject
	obj map[string]any // as stored: pruned and defaulted
	t   *crdType
}

// decode decodes the stored object into a Go shape of the fields a check
// reads.
func (c crdObject) decode(into any) error {
	b, err := json.Marshal(c.obj)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, into)
}

func prefixed(p string, ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = p + s
	}
	return out
}
