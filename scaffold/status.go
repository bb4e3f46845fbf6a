package scaffold

import (
	"context"
	"fmt"
	"strings"
)

// Status is where a generated repository stands against its template:
// what `paved check` prints, and how `paved update` (and `paved diff`)
// choose the version to take when none is named.
type Status struct {
	Template string `json:"template"` // the source, as the answers file records it
	Current  string `json:"current"`  // the version it records
	Latest   string `json:"latest"`   // the newest version, as new, check, diff and update mean it
	Outdated bool   `json:"outdated"` // Latest is newer than Current
}

// Status reads the record of the repository in dir and compares its
// version with the source's newest.
func (r *Resolver) Status(ctx context.Context, dir string) (*Status, error) {
	af, err := ReadAnswers(dir)
	if err != nil {
		return nil, err
	}
	src, _, err := r.Source(af.Template)
	if err != nil {
		return &Status{Template: af.Template, Current: af.Version}, err
	}
	return status(ctx, src, af)
}

// status is Status for a record already read.
func status(ctx context.Context, src Source, af *AnswersFile) (*Status, error) {
	st := &Status{Template: af.Template, Current: af.Version}
	latest, err := src.Latest(ctx)
	if err != nil {
		return st, fmt.Errorf("finding the newest version of %s: %w", af.Template, err)
	}
	st.Latest = latest
	if err := develOverRelease(af, latest); err != nil {
		return st, err
	}
	if latest == af.Version {
		return st, nil
	}
	st.Outdated, err = src.Newer(ctx, recordedRev(af), latest)
	return st, err
}

// develOverRelease refuses to take version, a development build's
// built-in template, over the release the repository records: its version
// sorts below every release, and it would overwrite one.
func develOverRelease(af *AnswersFile, version string) error {
	if !IsDevelVersion(version) || !isRelease(af.Version) {
		return nil
	}
	return fmt.Errorf("this paved is a development build (its built-in %s is %s); the repository records release %s, which a development build never overwrites: use paved %s or later", af.Template, version, af.Version, af.Version)
}

// recordedRev is the recorded version as its source can read it back: the
// commit for a git template, the version otherwise.
func recordedRev(af *AnswersFile) string {
	if af.Commit != "" {
		return af.Commit
	}
	return strings.TrimSuffix(af.Version, "-dirty")
}
