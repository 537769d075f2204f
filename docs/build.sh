#!/usr/bin/env bash
# Regenerates docs/derivations/: every program in examples/ derived by matgrad, typeset by
# pdflatex (PDF) and rendered to PNG (pdftoppm) for the README.  Needs texlive-latex-base and
# poppler-utils (apt-get install texlive-latex-base poppler-utils).
set -euo pipefail
cd "$(dirname "$0")/.."
out=docs/derivations
mkdir -p "$out"
for example in examples/*.mg; do
  name=$(basename "$example" .mg)
  matgrad "$example" --latex --standalone -o "$out/$name.tex"
  matgrad "$example" --pdf "$out/$name.pdf" >/dev/null
  pdftoppm -png -r 90 -singlefile "$out/$name.pdf" "$out/$name"
  echo "$out/$name.{tex,pdf,png}"
done
