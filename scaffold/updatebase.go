package scaffold

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"slices"
	"strings"
)

// BASE, the recorded version as paved rendered it: read back from the
// source by the recorded commit or version, re-rendered with the answers
// paved last used, checked against the render lock; or, when it cannot be
// read, reconstructed from the lock and the files the team never touched.

func (u *updateRun) recordedRev() string { return recordedRev(u.af) }

// openBase opens the recorded version (BASE), or says why it cannot be
// read back.
type openBase struct{}

func (openBase) String() string { return "open the recorded version" }

func (openBase) Run(ctx context.Context, u *updateRun) error {
	if u.af.Commit == "" && strings.HasSuffix(u.af.Version, "-dirty") {
		// Made from uncommitted changes: no revision holds that tree.
		u.baseWhy = fmt.Errorf("%w: %s %s was made from uncommitted changes of the template", ErrVersionUnavailable, u.af.Template, u.af.Version)
		return nil
	}
	var t *Template
	var err error
	if u.af.Commit != "" && u.target.Commit == u.af.Commit {
		copied := *u.target // the same commit: its tree is read once
		t = &copied
	} else {
		t, err = u.src.Open(ctx, u.recordedRev())
	}
	if errors.Is(err, ErrVersionUnavailable) {
		u.baseWhy = err
		return nil
	}
	if err != nil {
		return err
	}
	t.Version = u.af.Version // as the repository recorded it
	u.baseT = t
	u.baseM, err = ReadManifest(t.FS)
	if err != nil {
		return fmt.Errorf("the recorded version %s: %w", u.af.Version, err)
	}
	return nil
}

// renderBase renders BASE with the answers paved last rendered with, and
// checks it against the lock; when it could not be read, BASE comes from
// the lock and the files the team never changed.
type renderBase struct{}

func (renderBase) String() string { return "render the recorded version" }

func (renderBase) Run(ctx context.Context, u *updateRun) error {
	if u.baseT == nil {
		return u.fallBack()
	}
	pavedVersion := u.opts.PavedVersion
	if u.lock != nil {
		pavedVersion = u.lock.Paved // what the templates saw then
	} else if u.src.Kind() == SourceBuiltin {
		pavedVersion = u.af.Version // the paved that made it carried this template
	}
	given := map[string]any{}
	for name, v := range u.baseAnswers {
		if u.baseM != nil && u.baseM.question(name) != nil {
			given[name] = v
		}
	}
	plan, err := planWith(u.baseT, u.baseM, u.af.Module, pavedVersion, AnswerInput{Given: given}, u.opts.Resolver.RenderLimits)
	if err != nil {
		return fmt.Errorf("the recorded version %s: %w", u.af.Version, err)
	}
	if u.base, err = plan.renderTemplate(ctx); err != nil {
		return fmt.Errorf("rendering the recorded version %s: %w", u.af.Version, err)
	}
	return u.checkBaseAgainstLock()
}

// checkBaseAgainstLock refuses to merge from a BASE that is not what paved
// rendered: the recorded version moved, the template was rewritten, or the
// lock was edited.
func (u *updateRun) checkBaseAgainstLock() error {
	if u.lock == nil {
		return nil
	}
	var differ []string
	seen := map[string]bool{}
	for _, f := range u.base {
		seen[f.Path] = true
		data := f.Data
		if f.Mode&fs.ModeSymlink != 0 {
			data = []byte(f.Link)
		}
		if e, ok := u.lock.Files[f.Path]; !ok || e.Rendered != fileDigest(data, f.Mode) {
			differ = append(differ, f.Path)
		}
	}
	for p := range u.lock.Files {
		if !seen[p] {
			differ = append(differ, p)
		}
	}
	if len(differ) == 0 {
		return nil
	}
	slices.Sort(differ)
	shown := differ[:min(len(differ), 3)]
	return fmt.Errorf("the recorded version %s of %s no longer renders what paved wrote (%d file(s) differ: %s): the version was moved or rewritten, or %s was edited; refusing to merge from a wrong base",
		u.af.Version, u.af.Template, len(differ), strings.Join(shown, ", "), LockFileName)
}

// fallBack decides BASE when the recorded version cannot be read: from the
// lock, the files the team never changed (their content is what paved
// wrote, so it is BASE); without a lock, two-way.
func (u *updateRun) fallBack() error {
	fmt.Fprintf(u.log, "paved: %v\n", u.baseWhy)
	if u.lock == nil {
		u.res.TwoWay, u.res.TwoWayWhy = true, u.baseWhy.Error()
		fmt.Fprintln(u.log, "paved: updating two-way: every file that differs from the template is marked a conflict")
		return nil
	}
	u.res.LockFallback = true
	fmt.Fprintln(u.log, "paved: using the render lock: files you never changed take the template's new version; files you changed are marked conflicts where they differ")
	for _, p := range slices.Sorted(maps.Keys(u.lock.Files)) {
		ours, err := u.w.read(p)
		if err != nil {
			return err
		}
		switch {
		case ours == nil: // deleted by the team: stays deleted
			u.base = append(u.base, File{Path: p})
		case ours.mode != fs.ModeDir && u.lock.Files[p].Matches(ours.data, ours.mode):
			u.base = append(u.base, File{Path: p, Data: ours.data, Mode: ours.mode})
		}
	}
	return nil
}
