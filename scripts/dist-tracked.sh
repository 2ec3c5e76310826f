#!/bin/sh
# dist-tracked.sh SRCDIR DISTDIR - make distcheck's hook: fails, naming
# them, when DISTDIR (the unpacked release tarball) lacks files git
# tracks in SRCDIR, so that a file missing from EXTRA_DIST fails even when
# no test reads it. Only what the repository alone needs is left out:
# .gitignore and the CI entry point (.ci/). A SRCDIR that is not the top
# of a git checkout (no SRCDIR/.git: the tarball's own tree) is not
# checked; one that is must be listed by git, or the hook fails saying
# why (git missing, or refusing the checkout): it never passes without
# having checked. Run as root in a checkout another user owns, git runs
# as that user.
set -u
src=$1
dist=$2
me="distcheck-hook"

[ -e "$src/.git" ] || exit 0
if ! command -v git >/dev/null 2>&1; then
	printf '%s\n' "$me: $src is a git checkout, but git is not installed: install git, so that the tarball can be checked against the files git tracks" >&2
	exit 1
fi
list=$(mktemp) || exit 1
trap 'rm -f "$list" "$list.err"' EXIT
# root in another user's checkout (sudo scripts/test.sh in one's own
# clone): git refuses it as root, rightly (its configuration could run
# commands), so git runs as the checkout's owner, with no home
# configuration, which is no more than that owner may do
run_git() {
	owner=$(stat -c %u "$src/.git" 2>/dev/null) || owner=0
	if [ "$(id -u)" = 0 ] && [ "$owner" != 0 ] &&
		command -v setpriv >/dev/null 2>&1; then
		# the owner's own groups, as when the owner runs git
		if group=$(getent passwd "$owner" | cut -d: -f4) &&
			[ -n "$group" ]; then
			groups=--init-groups
		else
			group=$(stat -c %g "$src/.git") groups=--clear-groups
		fi
		HOME=/nonexistent XDG_CONFIG_HOME=/nonexistent \
			setpriv --reuid="$owner" --regid="$group" "$groups" \
			git "$@"
	else
		git "$@"
	fi
}
# core.quotePath=false: names with bytes above 0x7f as they are; git
# still quotes a name holding a tab, a newline, '"' or '\'
if ! run_git -C "$src" -c core.quotePath=false ls-files >"$list" 2>"$list.err"; then
	{
		printf '%s\n' "$me: cannot list the files git tracks in $src, so cannot check that the tarball holds them all; git said:"
		sed 's/^/  /' "$list.err"
		printf '%s\n' "$me: run make distcheck as the user who owns the checkout, or fix what git says (for a checkout another user owns, add that one directory to git's safe.directory, never '*')"
	} >&2
	exit 1
fi
if [ ! -s "$list" ]; then
	printf '%s\n' "$me: git tracks no file in $src: nothing to check the tarball against" >&2
	exit 1
fi
missing=""
quoted=""
while IFS= read -r f; do
	case $f in
	.gitignore | .ci/*) continue ;;
	\"*) quoted="$quoted $f"; continue ;;
	esac
	# deleted in the working tree (not yet committed): not shipped either
	[ -e "$src/$f" ] || [ -L "$src/$f" ] || continue
	[ -e "$dist/$f" ] || [ -L "$dist/$f" ] || missing="$missing
  $f"
done <"$list"
if [ -n "$quoted" ]; then
	printf '%s\n' "$me: git tracks names holding a tab, a newline, '\"' or '\\', which the tarball cannot be checked for; rename them:$quoted" >&2
	exit 1
fi
if [ -n "$missing" ]; then
	printf '%s\n' "$me: ${dist##*/}.tar.gz lacks files git tracks (add them to EXTRA_DIST in Makefile.am, or to the exclusions of scripts/dist-tracked.sh):$missing" >&2
	exit 1
fi
