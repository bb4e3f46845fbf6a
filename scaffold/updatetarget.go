package scaffold

import (
	"context"
	"fmt"
)

// NEW, the version an update takes: named by --to or the newest, opened,
// and rendered with the answers.

// chooseTarget opens the version to update to: --to, checked against a
// downgrade, or the newest as Status names it.
type chooseTarget struct{}

func (chooseTarget) String() string { return "choose the target version" }

func (chooseTarget) Run(ctx context.Context, u *updateRun) error {
	if u.opts.To == "" {
		return u.chooseNewest(ctx)
	}
	t, err := u.src.Open(ctx, u.opts.To)
	if err != nil {
		return err
	}
	u.target, u.res.To = t, t.Version
	rev := t.Version
	if t.Commit != "" {
		rev = t.Commit
	}
	if rev == u.recordedRev() || t.Version == u.af.Version {
		return nil
	}
	newer, err := u.src.Newer(ctx, u.recordedRev(), rev)
	if err != nil || newer {
		return nil //nolint:nilerr // named explicitly: the user chose it
	}
	// Neither newer nor, as far as the source can tell, older: take it.
	if older, err := u.src.Newer(ctx, rev, u.recordedRev()); err != nil || !older || u.opts.AllowDowngrade {
		return nil //nolint:nilerr // an order the source cannot tell is no downgrade
	}
	if err := develOverRelease(u.af, t.Version); err != nil {
		return err
	}
	return fmt.Errorf("%s is older than the recorded version %s: a downgrade; pass --allow-downgrade to take it", t.Version, u.af.Version)
}

// chooseNewest targets the newest version, as Status (and so paved check)
// names it.
func (u *updateRun) chooseNewest(ctx context.Context) error {
	st, err := status(ctx, u.src, u.af)
	if err != nil {
		return err
	}
	t, err := u.src.Open(ctx, st.Latest)
	if err != nil {
		return err
	}
	u.target, u.res.To = t, t.Version
	if st.Outdated || t.Commit != "" && t.Commit == u.recordedRev() || t.Version == u.af.Version || u.opts.AllowDowngrade {
		return nil
	}
	// The newest is older than what the repository records (a commit past
	// the newest tag): nothing newer to take.
	u.target, u.res.To = nil, u.af.Version
	return u.openRecordedAsTarget(ctx)
}

// openRecordedAsTarget targets the recorded version itself (answer changes
// still apply).
func (u *updateRun) openRecordedAsTarget(ctx context.Context) error {
	t, err := u.src.Open(ctx, u.recordedRev())
	if err != nil {
		return err
	}
	t.Version = u.af.Version
	u.target = t
	return nil
}

// renderTarget renders the target version with the recorded answers, the
// --set ones and the new questions' (NEW).
type renderTarget struct{}

func (renderTarget) String() string { return "render the target version" }

func (renderTarget) Run(ctx context.Context, u *updateRun) error {
	var err error
	given := map[string]any{}
	for name, v := range u.af.Answers {
		if u.targetM != nil && u.targetM.question(name) != nil {
			given[name] = v
		}
	}
	fresh := u.markNewQuestions()
	in := u.opts.Answers
	in.Given = given
	if u.newPlan, err = planWith(u.target, u.targetM, u.af.Module, u.opts.PavedVersion, in, u.opts.Resolver.RenderLimits); err != nil {
		return err
	}
	for _, name := range fresh {
		if v, ok := u.newPlan.Answers[name]; ok {
			u.res.NewQuestions = append(u.res.NewQuestions, NewQuestion{Name: name, Answer: v})
		}
	}
	if u.theirs, err = u.newPlan.renderTemplate(ctx); err != nil {
		return fmt.Errorf("rendering %s %s: %w", u.af.Template, u.res.To, err)
	}
	return nil
}

// markNewQuestions marks the target's questions that neither the recorded
// version nor the lock knew, so a prompt says they are new and in which
// version, and returns their names.
func (u *updateRun) markNewQuestions() []string {
	if u.targetM == nil {
		return nil
	}
	var fresh []string
	for i := range u.targetM.Questions {
		q := &u.targetM.Questions[i]
		_, answered := u.af.Answers[q.Name]
		_, locked := u.baseAnswers[q.Name]
		if answered || locked || u.baseM != nil && u.baseM.question(q.Name) != nil {
			continue
		}
		q.NewIn = u.res.To
		fresh = append(fresh, q.Name)
	}
	return fresh
}
