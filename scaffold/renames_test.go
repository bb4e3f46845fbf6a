package scaffold

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/paved-dev/paved/scaffold/scaffoldtest"
)

func TestDetectRenames(t *testing.T) {
	lines := func(n int, tag string) string {
		var b strings.Builder
		for i := range n {
			fmt.Fprintf(&b, "line %d\n", i)
		}
		return b.String() + tag
	}
	files := func(m map[string]string) map[string]File {
		out := map[string]File{}
		for p, d := range m {
			out[p] = File{Path: p, Data: []byte(d), Mode: 0o644}
		}
		return out
	}
	tests := []struct {
		name         string
		base, theirs map[string]string
		want         map[string]string
	}{{
		name:   "exact",
		base:   map[string]string{"docs/guide.md": lines(10, ""), "keep": "k\n"},
		theirs: map[string]string{"docs/user-guide.md": lines(10, ""), "keep": "k\n"},
		want:   map[string]string{"docs/guide.md": "docs/user-guide.md"},
	}, {
		name:   "similar: 9 of 10 lines",
		base:   map[string]string{"a.txt": lines(10, "")},
		theirs: map[string]string{"b.txt": strings.Replace(lines(10, ""), "line 3\n", "changed\n", 1)},
		want:   map[string]string{"a.txt": "b.txt"},
	}, {
		name:   "below 50%",
		base:   map[string]string{"a.txt": lines(4, "")},
		theirs: map[string]string{"b.txt": lines(1, "x\ny\nz\nw\n")},
		want:   map[string]string{},
	}, {
		name:   "best pair wins, each path once",
		base:   map[string]string{"a.txt": lines(10, ""), "b.txt": lines(10, "b\n")},
		theirs: map[string]string{"c.txt": lines(10, "b\n"), "d.txt": lines(10, "other\nlines\n")},
		want:   map[string]string{"b.txt": "c.txt", "a.txt": "d.txt"},
	}, {
		name:   "empty files are not paired",
		base:   map[string]string{"a": ""},
		theirs: map[string]string{"b": ""},
		want:   map[string]string{},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := detectRenames(files(tt.base), files(tt.theirs))
			if got == nil {
				got = map[string]string{}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("renames (-want +got):\n%s", diff)
			}
		})
	}
}

// TestUpdateFollowsRename: the team's edit of docs/guide.md follows the
// template's rename to docs/user-guide.md, merged with the template's own
// change; a rename the team's copy cannot merge keeps the old file with
// the conflict.
func TestUpdateFollowsRename(t *testing.T) {
	guide := "# Guide\n\nintro\n\nstep 1\nstep 2\nstep 3\nstep 4\nstep 5\n\nend\n"
	v1 := map[string]string{"paved.yaml": "questions:\n  - name: Name\n    default: app\n", "docs/guide.md": guide,
		"notes.txt": "n0\nn1\nn2\nn3\nn4\nn5\nn6\nn7\nn8\nn9\n", "gone.txt": "g1\ng2\ng3\ng4\n", "mine.txt": "m1\nm2\nm3\nm4\n"}
	v2 := map[string]string{"paved.yaml": v1["paved.yaml"],
		"docs/user-guide.md": strings.Replace(guide, "end\n", "the end, by the template\n", 1),
		"notes/notes.txt":    "n0\nn1\nn2\nn3 by the template\nn4\nn5\nn6\nn7\nn8\nn9\n",
		"gone2.txt":          "g1\ng2\ng3\ng4\ng5\n",
		"mine2.txt":          "m1\nm2\nm3\nm4\n"}
	tr := newTemplateRepo(t)
	tr.tag(t, "v1.0.0", v1)
	tr.tag(t, "v2.0.0", v2)
	scaffoldtest.Git(t, tr.dir, "branch", "-q", "-M", "master")
	dir, r := generated(t, tr, "v1.0.0")
	userEdit(t, dir, "docs/guide.md", strings.Replace(guide, "intro\n", "intro, by the team\n", 1))
	userEdit(t, dir, "notes.txt", "n0\nn1\nn2\nn3 by the team\nn4\nn5\nn6\nn7\nn8\nn9\n")
	removeFile(t, dir, "gone.txt")
	userEdit(t, dir, "mine2.txt", "the team's own file\n")
	commitAll(t, dir)

	res, err := Update(context.Background(), UpdateOptions{Dir: dir, Resolver: r})
	if err != nil {
		t.Fatal(err)
	}
	got := scaffoldtest.ReadTree(t, dir)
	wantGuide := strings.Replace(strings.Replace(guide, "intro\n", "intro, by the team\n", 1), "end\n", "the end, by the template\n", 1)
	if got["docs/user-guide.md"] != wantGuide {
		t.Errorf("docs/user-guide.md =\n%s\nwant\n%s", got["docs/user-guide.md"], wantGuide)
	}
	for _, p := range []string{"docs/guide.md", "gone.txt", "gone2.txt"} {
		if _, ok := got[p]; ok {
			t.Errorf("%s exists after the update", p)
		}
	}
	if !strings.Contains(got["notes.txt"], "<<<<<<< yours\nn3 by the team\n=======\nn3 by the template\n") {
		t.Errorf("notes.txt does not hold the conflict:\n%s", got["notes.txt"])
	}
	if got["notes/notes.txt"] != v2["notes/notes.txt"] {
		t.Errorf("notes/notes.txt = %q", got["notes/notes.txt"])
	}
	// No rename onto a file of the team's own: both paths merge as any other.
	if !strings.Contains(got["mine2.txt"], "the team's own file\n") {
		t.Errorf("mine2.txt = %q", got["mine2.txt"])
	}
	actions := map[string]string{}
	for _, c := range res.Changes {
		actions[c.Path] = string(c.Action) + " " + c.From
	}
	want := map[string]string{
		"docs/user-guide.md": "renamed docs/guide.md", "docs/guide.md": "removed ",
		"notes.txt": "conflict ", "notes/notes.txt": "added ",
		"mine.txt": "removed ", "mine2.txt": "conflict ", AnswersFileName: "updated ", LockFileName: "updated ",
	}
	if diff := cmp.Diff(want, actions); diff != "" {
		t.Errorf("actions (-want +got):\n%s", diff)
	}
}

func removeFile(t *testing.T, dir, name string) {
	t.Helper()
	scaffoldtest.Git(t, dir, "rm", "-q", filepath.ToSlash(name))
}

// TestRenameBlockedByTeamFile: the template renames a file into a
// directory where the team has a file; the new path cannot be written, so
// the old file, with the team's edit, stays.
func TestRenameBlockedByTeamFile(t *testing.T) {
	w := scratchWorkTree(t)
	content := "one\ntwo\nthree\n"
	scaffoldtest.WriteTree(t, w.dir, map[string]string{"old.txt": content + "the team's\n", "moved": "the team's file\n"})
	changes, err := MergeTree(context.Background(), w,
		[]File{{Path: "old.txt", Data: []byte(content), Mode: 0o644}},
		[]File{{Path: "moved/new.txt", Data: []byte(content), Mode: 0o644}},
		MergeLabels{"yours", "base", "theirs"}, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range changes {
		if c.Path == "old.txt" {
			t.Errorf("old.txt: %s, although its new path is blocked", c.Action)
		}
		if c.Path == "moved/new.txt" && (c.Action != ActionConflict || c.Kind != ConflictType || c.From != "") {
			t.Errorf("moved/new.txt: %s %s from %q: %s", c.Action, c.Kind, c.From, c.Why)
		}
	}
	if len(changes) != 1 {
		t.Errorf("changes: %+v", changes)
	}
}
