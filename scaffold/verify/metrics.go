package verify

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path"
	"slices"
	"strconv"
	"strings"
)

// metricSet is what the service's code exposes: exact metric names and
// patterns (a name built from something not constant becomes a "*").
type metricSet struct {
	names    map[string]bool
	patterns []string
	where    string // the files that define them, for messages
}

func (m *metricSet) has(name string) bool {
	if m.names[name] {
		return true
	}
	for _, p := range m.patterns {
		if ok, _ := path.Match(p, name); ok {
			return true
		}
	}
	return false
}

const (
	clientGolang   = "github.com/prometheus/client_golang/prometheus"
	clientGolangCo = "github.com/prometheus/client_golang/prometheus/collectors"
	clientGolangH  = "github.com/prometheus/client_golang/prometheus/promhttp"
	otelPromExport = "go.opentelemetry.io/otel/exporters/prometheus"
)

// optsKinds maps client_golang's option types to the series a metric of
// that kind exposes (suffixes of its name).
var optsKinds = map[string][]string{
	"CounterOpts":   {"", "_total", "_created"},
	"GaugeOpts":     {""},
	"HistogramOpts": {"_bucket", "_sum", "_count", "_created"},
	"SummaryOpts":   {"", "_sum", "_count", "_created"},
}

// exposedMetrics reads the Go code of the repository for metrics defined
// with client_golang. It returns nil when what is exposed cannot be known:
// no client_golang, an OpenTelemetry Prometheus exporter (names derived at
// run time), or a metric name that is not constant at all.
func exposedMetrics(r *Repo) *metricSet { return r.metrics() }

type goPkg struct {
	consts map[string]ast.Expr
	files  []*goFile
}

type goFile struct {
	name    string
	ast     *ast.File
	imports map[string]string // local name -> import path
}

func (r *Repo) scanMetrics() *metricSet {
	var module string
	if b, err := r.Read("go.mod"); err == nil {
		module = modulePath(b)
	}
	pkgs := map[string]*goPkg{} // by directory
	fset := token.NewFileSet()
	uses := false
	for _, f := range r.Glob("**/*.go") {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := r.Read(f)
		if err != nil {
			continue
		}
		af, err := parser.ParseFile(fset, f, src, parser.SkipObjectResolution)
		if err != nil {
			continue
		}
		gf := &goFile{name: f, ast: af, imports: map[string]string{}}
		for _, imp := range af.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			name := path.Base(p)
			if imp.Name != nil {
				name = imp.Name.Name
			}
			gf.imports[name] = p
			switch p {
			case otelPromExport:
				return nil
			case clientGolang:
				uses = true
			}
		}
		dir := path.Dir(f)
		pk := pkgs[dir]
		if pk == nil {
			pk = &goPkg{consts: map[string]ast.Expr{}}
			pkgs[dir] = pk
		}
		pk.files = append(pk.files, gf)
		for _, d := range af.Decls {
			gd, ok := d.(*ast.GenDecl)
			if !ok || gd.Tok != token.CONST {
				continue
			}
			for _, s := range gd.Specs {
				vs := s.(*ast.ValueSpec)
				for i, n := range vs.Names {
					if i < len(vs.Values) {
						pk.consts[n.Name] = vs.Values[i]
					}
				}
			}
		}
	}
	if !uses {
		return nil
	}
	ms := &metricSet{names: map[string]bool{"up": true, "ALERTS": true, "ALERTS_FOR_STATE": true}, patterns: []string{"scrape_*"}}
	var where []string
	dirOf := func(importPath string) (string, bool) {
		if module == "" {
			return "", false
		}
		if importPath == module {
			return ".", true
		}
		rest, ok := strings.CutPrefix(importPath, module+"/")
		return rest, ok
	}
	var eval func(e ast.Expr, dir string, gf *goFile, depth int) string
	eval = func(e ast.Expr, dir string, gf *goFile, depth int) string {
		if depth > 20 {
			return "*"
		}
		switch x := e.(type) {
		case *ast.BasicLit:
			if x.Kind == token.STRING {
				if s, err := strconv.Unquote(x.Value); err == nil {
					return s
				}
			}
		case *ast.ParenExpr:
			return eval(x.X, dir, gf, depth+1)
		case *ast.BinaryExpr:
			if x.Op == token.ADD {
				return eval(x.X, dir, gf, depth+1) + eval(x.Y, dir, gf, depth+1)
			}
		case *ast.Ident:
			if pk := pkgs[dir]; pk != nil {
				if ce, ok := pk.consts[x.Name]; ok {
					return eval(ce, dir, nil, depth+1)
				}
			}
		case *ast.SelectorExpr:
			if id, ok := x.X.(*ast.Ident); ok && gf != nil {
				if d, ok := dirOf(gf.imports[id.Name]); ok {
					if pk := pkgs[d]; pk != nil {
						if ce, ok := pk.consts[x.Sel.Name]; ok {
							return eval(ce, d, nil, depth+1)
						}
					}
				}
			}
		}
		return "*"
	}
	for _, dir := range sortedKeys(pkgs) {
		for _, gf := range pkgs[dir].files {
			found := false
			ast.Inspect(gf.ast, func(n ast.Node) bool {
				switch x := n.(type) {
				case *ast.CallExpr:
					sel, ok := x.Fun.(*ast.SelectorExpr)
					if !ok {
						return true
					}
					id, ok := sel.X.(*ast.Ident)
					if !ok {
						return true
					}
					switch gf.imports[id.Name] + "." + sel.Sel.Name {
					case clientGolangCo + ".NewGoCollector", clientGolang + ".NewGoCollector":
						ms.patterns = append(ms.patterns, "go_*")
					case clientGolangCo + ".NewProcessCollector", clientGolang + ".NewProcessCollector":
						ms.patterns = append(ms.patterns, "process_*")
					case clientGolangCo + ".NewBuildInfoCollector", clientGolang + ".NewBuildInfoCollector":
						ms.names["go_build_info"] = true
					case clientGolangH + ".Handler":
						ms.patterns = append(ms.patterns, "go_*", "process_*", "promhttp_*")
					case clientGolangH + ".InstrumentMetricHandler":
						ms.patterns = append(ms.patterns, "promhttp_*")
					}
				case *ast.CompositeLit:
					sel, ok := x.Type.(*ast.SelectorExpr)
					if !ok {
						return true
					}
					id, ok := sel.X.(*ast.Ident)
					if !ok || gf.imports[id.Name] != clientGolang {
						return true
					}
					suffixes, ok := optsKinds[sel.Sel.Name]
					if !ok {
						return true
					}
					var parts []string
					for _, field := range []string{"Namespace", "Subsystem", "Name"} {
						for _, el := range x.Elts {
							kv, ok := el.(*ast.KeyValueExpr)
							if k, isID := kv.Key.(*ast.Ident); ok && isID && k.Name == field {
								if v := eval(kv.Value, dir, gf, 0); v != "" {
									parts = append(parts, v)
								}
							}
						}
					}
					name := strings.Join(parts, "_")
					if strings.Trim(name, "*_") == "" {
						ms = nil // a name we cannot know
						return false
					}
					found = true
					for _, s := range suffixes {
						n := name + s
						if s == "_total" && strings.HasSuffix(name, "_total") {
							continue
						}
						if strings.Contains(n, "*") {
							ms.patterns = append(ms.patterns, n)
						} else {
							ms.names[n] = true
						}
					}
				}
				return ms != nil
			})
			if ms == nil {
				return nil
			}
			if found {
				where = append(where, gf.name)
			}
		}
	}
	slices.Sort(ms.patterns)
	ms.patterns = slices.Compact(ms.patterns)
	if len(where) == 0 {
		ms.where = "no metrics defined with client_golang"
	} else {
		ms.where = "metrics are defined in " + strings.Join(where, ", ")
	}
	return ms
}
