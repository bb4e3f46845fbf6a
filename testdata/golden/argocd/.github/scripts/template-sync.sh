#!/usr/bin/env bash
# template-sync: keep this repository in step with its paved template.
#
# Run by .github/workflows/template-sync.yml, and by hand from the
# repository's root (BASE=main .github/scripts/template-sync.sh). When
# `paved check` finds a newer template version, `paved update` merges it on
# the branch $BRANCH, and a pull request carries it.
#
# A person's commits on that branch are never overwritten: the branch is
# only ever extended (the default branch merged in, then the update on top)
# and pushed without force. When the default branch no longer merges into
# it cleanly, the branch is left as it is and the pull request says so.
# Deleting the branch (after merging or closing its pull request) makes the
# next run start afresh from the default branch.
#
# Conflicts are told from failures by `paved update --json`, not by exit
# codes: conflicts are a result (their markers are committed to a draft
# pull request, for a person to resolve); an "error" is a failure (the job
# fails, nothing is pushed).
#
# For the built-in template the newest version is the pinned paved's own:
# the pin in tools/paved/go.mod moves forward by a dependency update (as
# any Go module), and the next run brings the template along with it.
#
# Environment:
#   BASE         the default branch (required)
#   BRANCH       the sync branch (default: paved/template-update)
#   REMOTE       the remote (default: origin)
#   PAVED        the paved command (default: the version pinned in
#                tools/paved/go.mod, run as go tool -modfile=tools/paved/go.mod paved)
#   GH_TOKEN     for gh and for pushing (gh auth setup-git)
#   RUNNER_TEMP  a scratch directory (default: a new temporary one)
set -euo pipefail

base=${BASE:?BASE: the default branch to build on}
branch=${BRANCH:-paved/template-update}
remote=${REMOTE:-origin}
tmp=$(mktemp -d "${RUNNER_TEMP:-${TMPDIR:-/tmp}}/template-sync.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
if [ -n "${PAVED:-}" ]; then
	read -r -a paved <<<"$PAVED"
else
	paved=(go tool -modfile=tools/paved/go.mod paved)
fi

fail() {
	echo "::error::template-sync: $*" >&2
	exit 1
}
note() { echo "template-sync: $*"; }

# pr_state prints OPEN, CLOSED or MERGED for the branch's pull request, or
# nothing when it has none.
pr_state() { gh pr view "$branch" --json state --jq .state 2>/dev/null || true; }

push() {
	if ! git push --quiet "$remote" "HEAD:refs/heads/$branch"; then
		fail "pushing $branch was refused (it moved while this ran?); it was not forced: run again"
	fi
}

git config user.name "github-actions[bot]"
git config user.email "41898282+github-actions[bot]@users.noreply.github.com"
if [ -n "${GH_TOKEN:-}" ]; then
	gh auth setup-git
fi

# Start from the sync branch as it is, if it exists, with the default
# branch merged in; otherwise from the default branch.
git fetch --quiet "$remote" "+refs/heads/$base:refs/remotes/$remote/$base"
set +e
git ls-remote --exit-code --heads "$remote" "refs/heads/$branch" >/dev/null
rc=$?
set -e
case "$rc" in
0) existing=true ;;
2) existing=false ;;
*) fail "cannot list the branches of $remote" ;;
esac
if [ "$existing" = true ]; then
	git fetch --quiet "$remote" "+refs/heads/$branch:refs/remotes/$remote/$branch"
	git switch --quiet -C "$branch" "$remote/$branch"
	if ! git merge --quiet --no-edit "$remote/$base" >"$tmp/merge.log" 2>&1; then
		git merge --abort
		cat "$tmp/merge.log" >&2
		msg="template-sync: $base no longer merges cleanly into $branch, so this run left the branch as it is. Merge $base into $branch by hand (or close the pull request and delete the branch); the next run carries on from there."
		echo "::warning::$msg"
		if [ "$(pr_state)" = OPEN ]; then
			gh pr comment "$branch" --body "$msg"
		fi
		exit 0
	fi
else
	git switch --quiet -C "$branch" "$remote/$base"
fi

"${paved[@]}" check --json >"$tmp/check.json" 2>"$tmp/check.log" || true
outdated=$(jq -r '.outdated // empty' "$tmp/check.json" 2>/dev/null || true)
case "$outdated" in
true) ;;
false)
	note "the template is up to date on $branch"
	if [ "$existing" = true ] && [ "$(git rev-parse HEAD)" != "$(git rev-parse "$remote/$branch")" ]; then
		push # the merge of $base, so the pull request stays mergeable
	fi
	exit 0
	;;
*)
	cat "$tmp/check.log" >&2
	fail "paved check failed: $(head -n 1 "$tmp/check.log")"
	;;
esac

"${paved[@]}" update --defaults --json >"$tmp/update.json" 2>"$tmp/update.log" || true
cat "$tmp/update.log" >&2
if ! jq -e 'type == "object" and has("conflicts")' "$tmp/update.json" >/dev/null 2>&1; then
	fail "paved update failed and gave no summary: $(tail -n 1 "$tmp/update.log")"
fi
error=$(jq -r '.error // empty' "$tmp/update.json")
if [ -n "$error" ]; then
	fail "paved update failed (not a conflict): $error"
fi
conflicts=$(jq '.conflicts | length' "$tmp/update.json")
to=$(jq -r '.to' "$tmp/update.json")

git add -A
if git diff --cached --quiet; then
	note "paved update changed nothing"
	exit 0
fi
git commit --quiet -m "chore: update to paved template $to"
push

{
	echo "Automated by the template-sync workflow: \`paved update\` merged template version \`$to\` into this branch."
	echo
	if [ "$conflicts" -gt 0 ]; then
		echo "**$conflicts conflict(s)** to resolve on this branch, then mark the pull request ready:"
		jq -r '.conflicts[] | "- `\(.path)` (\(.kind)): \(.advice)"' "$tmp/update.json"
		echo
	fi
	if jq -e '(.new_questions // []) | length > 0' "$tmp/update.json" >/dev/null; then
		echo "New questions, answered with their defaults (change an answer in \`.paved-answers.yaml\` on this branch, then run \`paved update\`):"
		jq -r '.new_questions[] | "- `\(.name)`: `\(.answer)`"' "$tmp/update.json"
		echo
	fi
	echo "Changes:"
	jq -r '.changes[] | "- \(.action) `\(.path)`" + (if .from then " (from `\(.from)`)" else "" end)' "$tmp/update.json"
	echo
	echo "Commits you add to this branch are kept: later runs merge new template versions on top of them."
} >"$tmp/body.md"
if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
	cat "$tmp/body.md" >>"$GITHUB_STEP_SUMMARY"
fi
if [ -n "${GITHUB_OUTPUT:-}" ]; then
	echo "conflicts=$conflicts" >>"$GITHUB_OUTPUT"
fi

if [ "$(pr_state)" = OPEN ]; then
	gh pr comment "$branch" --body-file "$tmp/body.md"
	if [ "$conflicts" -gt 0 ]; then
		gh pr ready "$branch" --undo || note "could not mark the pull request as a draft"
	fi
else
	draft=()
	if [ "$conflicts" -gt 0 ]; then draft=(--draft); fi
	gh pr create --base "$base" --head "$branch" \
		--title "chore: update to paved template $to" \
		--body-file "$tmp/body.md" "${draft[@]}"
fi
note "$branch: template $to, $conflicts conflict(s)"
