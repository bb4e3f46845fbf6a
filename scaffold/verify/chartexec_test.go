package verify

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestMain makes the test binary the child that executes charts'
// templates when started as paved-verify starts its own (ChartChildArg).
func TestMain(m *testing.M) {
	if len(os.Args) == 2 && os.Args[1] == ChartChildArg {
		os.Exit(ServeChartChild(context.Background(), os.Stdin, os.Stdout, os.Stderr))
	}
	os.Exit(m.Run())
}

// childLimits runs charts' templates in a child process of the test binary.
func childLimits(t *testing.T, timeout time.Duration, memory int64) ChartLimits {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return ChartLimits{Command: exe, Timeout: timeout, Memory: memory}
}

// A chart's templates that loop, hold too much memory or write too much
// are stopped, and the chart is a finding that says which bound it hit;
// the rest of the run goes on. Without the child, each of these holds
// verify (and the CI gate running it) until it is killed from outside.
func TestChartTemplatesAreBounded(t *testing.T) {
	chart := "deploy/helm/payments"
	configMap := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bomb\ndata:\n  x: %s\n"
	tests := []struct {
		name     string
		template string
		memory   int64
		timeout  time.Duration
		want     string
	}{
		{"nested range over until",
			`{{ range until 100000 }}{{ range until 100000 }}{{ range until 100000 }}{{ end }}{{ end }}{{ end }}`,
			0, 3 * time.Second, "its templates ran longer than 3s and were stopped"},
		{"a string that grows",
			`{{ $s := "" }}{{ range until 100000 }}{{ $s = print $s (repeat 1048576 "x") }}{{ end }}{{ $s | len }}`,
			64 << 20, time.Minute, "its templates used more than 64 MiB of memory and were stopped"},
		{"output past the limit",
			`{{ range until 20 }}{{ repeat 1048576 "x" }}{{ end }}`,
			4 << 30, time.Minute, "its templates wrote more than 16 MiB and were stopped"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := caseRepo(t, "")
			writeFile(t, filepath.Join(dir, chart, "templates/bomb.yaml"), strings.Replace(configMap, "%s", tt.template, 1))
			opts := Options{Shellcheck: "-", Checks: []string{"helm", "kubernetes", "istio"}, Charts: childLimits(t, tt.timeout, tt.memory)}
			rep, err := Run(context.Background(), dir, opts)
			if err != nil {
				t.Fatal(err)
			}
			want := chart + "/Chart.yaml:1:1: helm: chart payments: " + tt.want
			var got []string
			for _, f := range rep.Findings {
				got = append(got, f.String())
			}
			if !strings.Contains(strings.Join(got, "\n"), want) {
				t.Errorf("want %q in:\n%s", want, strings.Join(got, "\n"))
			}
			if len(rep.Errors) > 0 {
				t.Errorf("errors: %v", rep.Errors)
			}
		})
	}
}

// A chart renders the same in the child as in this process: the clean
// base repository stays clean, and a defect in a template is found at the
// same place with the same words.
func TestChartChildRendersAsHere(t *testing.T) {
	for _, defect := range []struct{ old, new string }{
		{"", ""},
		{"      targetPort: http", "      targetPortt: http"},
		{"      protocol: TCP", "      protocol: {{ .Values.nope.nope }}"},
	} {
		var reports [2]string
		for i, limits := range []ChartLimits{{}, childLimits(t, 0, 0)} {
			dir := caseRepo(t, "")
			file := filepath.Join(dir, "deploy/helm/payments/templates/service.yaml")
			b, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(b), defect.old) {
				t.Fatalf("service.yaml lacks %q", defect.old)
			}
			writeFile(t, file, strings.Replace(string(b), defect.old, defect.new, 1))
			rep, err := Run(context.Background(), dir, Options{Shellcheck: "-", Charts: limits})
			if err != nil {
				t.Fatal(err)
			}
			var lines []string
			for _, f := range rep.Findings {
				lines = append(lines, f.String())
			}
			for _, e := range rep.Errors {
				lines = append(lines, "error: "+e.Error())
			}
			reports[i] = strings.Join(lines, "\n") + "\nran " + strings.Join(rep.Ran, ",")
		}
		if reports[0] != reports[1] {
			t.Errorf("defect %q: here:\n%s\nchild:\n%s", defect.new, reports[0], reports[1])
		}
		if defect.old == "" && strings.Contains(reports[0], ": ") && !strings.HasPrefix(reports[0], "\nran") {
			t.Errorf("clean repository has findings:\n%s", reports[0])
		}
		if defect.old != "" && !strings.Contains(reports[0], "templates/service.yaml:") {
			t.Errorf("defect %q not found at the template:\n%s", defect.new, reports[0])
		}
	}
}
