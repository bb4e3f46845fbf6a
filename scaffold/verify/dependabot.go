package verify

import (
	"context"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"

	"github.com/bmatcuk/doublestar/v4"
	"go.yaml.in/yaml/v3"
)

// dependabot checks .github/dependabot.yml against the keys that GitHub's
// "Dependabot options reference" documents for version 2 (typed structs,
// unknown keys rejected: no Go module ships the schema), the per-ecosystem
// rules that the schema does not encode (versioning-strategy is not for
// gomod, vendor only for bundler and gomod, ...), and that every directory
// exists.
type dependabot struct{}

func (dependabot) Name() string { return "dependabot" }

// dependabotConfig mirrors the documented keys of dependabot.yml version 2.
type dependabotConfig struct {
	Version              int                             `yaml:"version"`
	Updates              []dependabotUpdate              `yaml:"updates"`
	Registries           map[string]dependabotRegistry   `yaml:"registries"`
	EnableBetaEcosystems bool                            `yaml:"enable-beta-ecosystems"`
	MultiEcosystemGroups map[string]dependabotMultiGroup `yaml:"multi-ecosystem-groups"`
}

type dependabotUpdate struct {
	PackageEcosystem              string                     `yaml:"package-ecosystem"`
	Directory                     *string                    `yaml:"directory"`
	Directories                   []string                   `yaml:"directories"`
	Schedule                      *dependabotSchedule        `yaml:"schedule"`
	Allow                         []dependabotAllow          `yaml:"allow"`
	Assignees                     []string                   `yaml:"assignees"`
	CommitMessage                 *dependabotCommitMessage   `yaml:"commit-message"`
	Cooldown                      *dependabotCooldown        `yaml:"cooldown"`
	ExcludePaths                  []string                   `yaml:"exclude-paths"`
	Groups                        map[string]dependabotGroup `yaml:"groups"`
	Ignore                        []dependabotIgnore         `yaml:"ignore"`
	InsecureExternalCodeExecution string                     `yaml:"insecure-external-code-execution"`
	Labels                        []string                   `yaml:"labels"`
	Milestone                     int                        `yaml:"milestone"`
	MultiEcosystemGroup           string                     `yaml:"multi-ecosystem-group"`
	OpenPullRequestsLimit         *int                       `yaml:"open-pull-requests-limit"`
	Patterns                      []string                   `yaml:"patterns"`
	PullRequestBranchName         *struct {
		Separator string `yaml:"separator"`
	} `yaml:"pull-request-branch-name"`
	RebaseStrategy     string       `yaml:"rebase-strategy"`
	Registries         stringOrList `yaml:"registries"`
	Reviewers          []string     `yaml:"reviewers"`
	TargetBranch       string       `yaml:"target-branch"`
	Vendor             *bool        `yaml:"vendor"`
	VersioningStrategy string       `yaml:"versioning-strategy"`
}

type dependabotSchedule struct {
	Interval string `yaml:"interval"`
	Day      string `yaml:"day"`
	Time     string `yaml:"time"`
	Timezone string `yaml:"timezone"`
	Cronjob  string `yaml:"cronjob"`
}

type dependabotAllow struct {
	DependencyName string `yaml:"dependency-name"`
	DependencyType string `yaml:"dependency-type"`
}

type dependabotCommitMessage struct {
	Prefix            string `yaml:"prefix"`
	PrefixDevelopment string `yaml:"prefix-development"`
	Include           string `yaml:"include"`
}

type dependabotCooldown struct {
	DefaultDays     *int     `yaml:"default-days"`
	SemverMajorDays *int     `yaml:"semver-major-days"`
	SemverMinorDays *int     `yaml:"semver-minor-days"`
	SemverPatchDays *int     `yaml:"semver-patch-days"`
	Include         []string `yaml:"include"`
	Exclude         []string `yaml:"exclude"`
}

type dependabotGroup struct {
	AppliesTo       string   `yaml:"applies-to"`
	DependencyType  string   `yaml:"dependency-type"`
	Patterns        []string `yaml:"patterns"`
	ExcludePatterns []string `yaml:"exclude-patterns"`
	UpdateTypes     []string `yaml:"update-types"`
	GroupBy         string   `yaml:"group-by"`
}

type dependabotIgnore struct {
	DependencyName string       `yaml:"dependency-name"`
	Versions       stringOrList `yaml:"versions"`
	UpdateTypes    []string     `yaml:"update-types"`
}

type dependabotRegistry struct {
	Type                 string `yaml:"type"`
	URL                  string `yaml:"url"`
	Username             string `yaml:"username"`
	Password             string `yaml:"password"`
	Key                  string `yaml:"key"`
	Token                string `yaml:"token"`
	ReplacesBase         bool   `yaml:"replaces-base"`
	Organization         string `yaml:"organization"`
	Repo                 string `yaml:"repo"`
	AuthKey              string `yaml:"auth-key"`
	PublicKeyFingerprint string `yaml:"public-key-fingerprint"`
	Registry             string `yaml:"registry"`
	TenantID             string `yaml:"tenant-id"`
	ClientID             string `yaml:"client-id"`
	JfrogOIDCProvider    string `yaml:"jfrog-oidc-provider-name"`
	IdentityMappingName  string `yaml:"identity-mapping-name"`
	Audience             string `yaml:"audience"`
	AWSRegion            string `yaml:"aws-region"`
	AccountID            string `yaml:"account-id"`
	RoleName             string `yaml:"role-name"`
	Domain               string `yaml:"domain"`
	DomainOwner          string `yaml:"domain-owner"`
}

type dependabotMultiGroup struct {
	Schedule              *dependabotSchedule      `yaml:"schedule"`
	Labels                []string                 `yaml:"labels"`
	Assignees             []string                 `yaml:"assignees"`
	Milestone             int                      `yaml:"milestone"`
	TargetBranch          string                   `yaml:"target-branch"`
	CommitMessage         *dependabotCommitMessage `yaml:"commit-message"`
	PullRequestBranchName *struct {
		Separator string `yaml:"separator"`
	} `yaml:"pull-request-branch-name"`
}

// stringOrList accepts a string or a list of strings.
type stringOrList []string

func (s *stringOrList) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		*s = []string{n.Value}
		return nil
	}
	var l []string
	if err := n.Decode(&l); err != nil {
		return err
	}
	*s = l
	return nil
}

// Facts from GitHub's Dependabot options reference.
var (
	dependabotEcosystems = []string{
		"bazel", "bun", "bundler", "cargo", "composer", "conda", "devcontainers", "docker",
		"docker-compose", "dotnet-sdk", "elm", "github-actions", "gitsubmodule", "gomod",
		"gradle", "helm", "julia", "maven", "mix", "npm", "nuget", "opentofu", "pip",
		"pre-commit", "pub", "rust-toolchain", "swift", "terraform", "uv", "vcpkg",
	}
	// versioning-strategy is supported by these ecosystems only.
	versioningEcosystems = []string{"bundler", "cargo", "composer", "mix", "npm", "pip", "pub", "uv"}
	versioningValues     = []string{"auto", "increase", "increase-if-necessary", "lockfile-only", "widen"}
	vendorEcosystems     = []string{"bundler", "gomod"}
	insecureEcosystems   = []string{"bundler", "mix", "pip"}
	intervals            = []string{"daily", "weekly", "monthly", "quarterly", "semiannually", "yearly", "cron"}
	weekdays             = []string{"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"}
	dependencyTypes      = []string{"direct", "indirect", "all", "production", "development"}
	groupUpdateTypes     = []string{"major", "minor", "patch"}
	ignoreUpdateTypes    = []string{"version-update:semver-major", "version-update:semver-minor", "version-update:semver-patch"}
	timeRE               = regexp.MustCompile(`^([01][0-9]|2[0-3]):[0-5][0-9]$`)
)

func (c dependabot) Run(ctx context.Context, r *Repo) ([]Finding, error) {
	return r.eachFile([]string{".github/dependabot.yml", ".github/dependabot.yaml"}, func(f string, src []byte) ([]Finding, error) {
		return findingsIn(f, checkDependabot(src, r)), nil
	})
}

// checkDependabot decodes a dependabot.yml strictly and applies the
// semantic rules. dirs may be nil (directories are then not checked).
func checkDependabot(src []byte, dirs interface{ IsDir(string) bool }) []posError {
	root, errs := parseYAML(src)
	if len(errs) > 0 || root == nil {
		return errs
	}
	var out []posError
	strictYAML(root, reflect.TypeFor[dependabotConfig](), func(n *yaml.Node, msg string) {
		out = append(out, posError{Line: n.Line, Col: n.Column, Msg: msg})
	})
	var cfg dependabotConfig
	_ = root.Decode(&cfg) // what does not decode is reported above
	at := func(path ...any) (int, int) {
		var pe []pathElem
		for _, p := range path {
			switch v := p.(type) {
			case string:
				pe = append(pe, pathElem{Key: v, Index: -1})
			case int:
				pe = append(pe, pathElem{Index: v})
			}
		}
		n, _ := lookup(root, pe)
		if n == nil {
			return 1, 1
		}
		return n.Line, n.Column
	}
	add := func(line, col int, format string, args ...any) {
		out = append(out, posError{Line: line, Col: col, Msg: fmt.Sprintf(format, args...)})
	}
	addAt := func(path []any, format string, args ...any) {
		l, c := at(path...)
		add(l, c, format, args...)
	}

	if cfg.Version != 2 {
		addAt([]any{"version"}, "version must be 2, not %d", cfg.Version)
	}
	if len(cfg.Updates) == 0 && root.Kind == yaml.MappingNode {
		addAt([]any{"updates"}, "updates is missing or empty")
	}
	type key struct{ eco, dir, branch string }
	seen := map[key]int{}
	for i, u := range cfg.Updates {
		p := func(rest ...any) []any { return append([]any{"updates", i}, rest...) }
		eco := u.PackageEcosystem
		switch {
		case eco == "":
			addAt(p(), "package-ecosystem is missing")
		case !slices.Contains(dependabotEcosystems, eco):
			addAt(p("package-ecosystem"), "unknown package-ecosystem %q", eco)
		}
		switch {
		case u.Directory == nil && len(u.Directories) == 0:
			addAt(p(), "one of directory or directories is required")
		case u.Directory != nil && len(u.Directories) > 0:
			addAt(p("directories"), "directory and directories cannot both be set")
		}
		var dlist []string
		if u.Directory != nil {
			dlist = []string{*u.Directory}
		}
		dlist = append(dlist, u.Directories...)
		for j, d := range dlist {
			var dp []any
			if u.Directory != nil && j == 0 {
				dp = p("directory")
			} else {
				k := j
				if u.Directory != nil {
					k--
				}
				dp = p("directories", k)
			}
			if dirs != nil && !dirExists(dirs, d) {
				addAt(dp, "directory %q does not exist in the repository", d)
			}
			if d != "" {
				seen[key{eco, d, u.TargetBranch}]++
				if seen[key{eco, d, u.TargetBranch}] == 2 {
					addAt(dp, "a second update for %s in %q: each package-ecosystem, directory and target-branch combination must be unique", eco, d)
				}
			}
		}
		if u.Schedule == nil {
			if u.MultiEcosystemGroup == "" {
				addAt(p(), "schedule is missing")
			}
		} else {
			out = append(out, checkSchedule(u.Schedule, func(rest ...any) (int, int) { return at(p(append([]any{"schedule"}, rest...)...)...) })...)
		}
		if u.VersioningStrategy != "" {
			if !slices.Contains(versioningEcosystems, eco) {
				addAt(p("versioning-strategy"), "versioning-strategy is not supported for %s (only %s); GitHub rejects the whole file", eco, strings.Join(versioningEcosystems, ", "))
			} else if !slices.Contains(versioningValues, u.VersioningStrategy) {
				addAt(p("versioning-strategy"), "versioning-strategy %q is not one of %s", u.VersioningStrategy, strings.Join(versioningValues, ", "))
			}
		}
		if u.Vendor != nil && !slices.Contains(vendorEcosystems, eco) {
			addAt(p("vendor"), "vendor is supported only for bundler and gomod, not %s", eco)
		}
		if v := u.InsecureExternalCodeExecution; v != "" {
			if !slices.Contains(insecureEcosystems, eco) {
				addAt(p("insecure-external-code-execution"), "insecure-external-code-execution is supported only for bundler, mix and pip, not %s", eco)
			} else if v != "allow" && v != "deny" {
				addAt(p("insecure-external-code-execution"), "insecure-external-code-execution must be allow or deny, not %q", v)
			}
		}
		if v := u.RebaseStrategy; v != "" && v != "auto" && v != "disabled" {
			addAt(p("rebase-strategy"), "rebase-strategy must be auto or disabled, not %q", v)
		}
		if u.OpenPullRequestsLimit != nil && *u.OpenPullRequestsLimit < 0 {
			addAt(p("open-pull-requests-limit"), "open-pull-requests-limit must not be negative")
		}
		if u.CommitMessage != nil && u.CommitMessage.Include != "" && u.CommitMessage.Include != "scope" {
			addAt(p("commit-message", "include"), "commit-message.include must be scope, not %q", u.CommitMessage.Include)
		}
		for j, a := range u.Allow {
			if a.DependencyName == "" && a.DependencyType == "" {
				addAt(p("allow", j), "allow entry needs dependency-name or dependency-type")
			}
			if a.DependencyType != "" && !slices.Contains(dependencyTypes, a.DependencyType) {
				addAt(p("allow", j, "dependency-type"), "dependency-type %q is not one of %s", a.DependencyType, strings.Join(dependencyTypes, ", "))
			}
		}
		for j, ig := range u.Ignore {
			if ig.DependencyName == "" {
				addAt(p("ignore", j), "ignore entry needs dependency-name")
			}
			for k, t := range ig.UpdateTypes {
				if !slices.Contains(ignoreUpdateTypes, t) {
					addAt(p("ignore", j, "update-types", k), "ignore update-type %q is not one of %s", t, strings.Join(ignoreUpdateTypes, ", "))
				}
			}
		}
		for _, name := range sortedKeys(u.Groups) {
			g := u.Groups[name]
			gp := func(rest ...any) []any { return p(append([]any{"groups", name}, rest...)...) }
			for k, t := range g.UpdateTypes {
				if !slices.Contains(groupUpdateTypes, t) {
					addAt(gp("update-types", k), "group update-type %q is not one of major, minor, patch", t)
				}
			}
			if v := g.DependencyType; v != "" && v != "development" && v != "production" {
				addAt(gp("dependency-type"), "group dependency-type must be development or production, not %q", v)
			}
			if v := g.AppliesTo; v != "" && v != "version-updates" && v != "security-updates" {
				addAt(gp("applies-to"), "applies-to must be version-updates or security-updates, not %q", v)
			}
			if v := g.GroupBy; v != "" && v != "dependency-name" {
				addAt(gp("group-by"), "group-by must be dependency-name, not %q", v)
			}
		}
		for k, name := range u.Registries {
			if name == "*" {
				continue
			}
			if _, ok := cfg.Registries[name]; !ok {
				addAt(p("registries", k), "registry %q is not defined under the top-level registries", name)
			}
		}
		if g := u.MultiEcosystemGroup; g != "" {
			if _, ok := cfg.MultiEcosystemGroups[g]; !ok {
				addAt(p("multi-ecosystem-group"), "multi-ecosystem-group %q is not defined under multi-ecosystem-groups", g)
			}
		}
	}
	for _, name := range sortedKeys(cfg.Registries) {
		if cfg.Registries[name].Type == "" {
			addAt([]any{"registries", name}, "registry %q has no type", name)
		}
	}
	return out
}

func checkSchedule(s *dependabotSchedule, at func(...any) (int, int)) []posError {
	var out []posError
	add := func(path []any, format string, args ...any) {
		l, c := at(path...)
		out = append(out, posError{Line: l, Col: c, Msg: fmt.Sprintf(format, args...)})
	}
	switch {
	case s.Interval == "":
		add(nil, "schedule.interval is missing")
	case !slices.Contains(intervals, s.Interval):
		add([]any{"interval"}, "schedule.interval %q is not one of %s", s.Interval, strings.Join(intervals, ", "))
	}
	if s.Day != "" {
		if s.Interval != "weekly" {
			add([]any{"day"}, "schedule.day applies only to a weekly interval")
		} else if !slices.Contains(weekdays, strings.ToLower(s.Day)) {
			add([]any{"day"}, "schedule.day %q is not a day of the week", s.Day)
		}
	}
	if s.Time != "" && !timeRE.MatchString(s.Time) {
		add([]any{"time"}, "schedule.time %q is not hh:mm", s.Time)
	}
	if s.Interval == "cron" && s.Cronjob == "" {
		add(nil, "schedule.cronjob is required with interval cron")
	}
	if s.Cronjob != "" && s.Interval != "cron" {
		add([]any{"cronjob"}, "schedule.cronjob applies only to interval cron")
	}
	return out
}

// dirExists reports whether a Dependabot directory (relative to the
// repository root, optionally with a leading /, maybe a glob) exists.
func dirExists(r interface{ IsDir(string) bool }, d string) bool {
	rel := strings.Trim(d, "/")
	if rel == "" {
		rel = "."
	}
	if !strings.ContainsAny(rel, "*?[{") {
		return r.IsDir(rel)
	}
	repo, ok := r.(*Repo)
	if !ok {
		return true
	}
	matches, _ := doublestar.Glob(os.DirFS(repo.Dir), rel)
	for _, m := range matches {
		if repo.IsDir(m) {
			return true
		}
	}
	return false
}
