#!/usr/bin/env bash
# Builds .dvc/plots/offline.html: DVC's plots page with vega, vega-lite and vega-embed inlined,
# so that `dvc plots show` draws the curves without a network (DVC's own page loads them from a
# CDN). The versions are the ones DVC's page asks for. The result is committed; run this again
# only to change versions (it needs the npm registry).
set -euo pipefail
cd "$(dirname "$0")/.."
VERSIONS=(vega@5.20.2 vega-lite@5.2.0 vega-embed@6.18.2)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "${VERSIONS[@]}" >/dev/null && for f in *.tgz; do mkdir "${f%.tgz}" && tar xzf "$f" -C "${f%.tgz}"; done)
out=.dvc/plots/offline.html
{
  echo '<!DOCTYPE html>'
  echo '<html>'
  echo '<head>'
  echo '    {refresh_tag}'
  echo '    <meta charset="utf-8">'
  echo '    <title>DVC Plot (offline)</title>'
  echo "    <!-- ${VERSIONS[*]}, inlined by scripts/vendor-vega.sh (BSD-3-Clause, the Vega project) -->"
  for name in vega vega-lite vega-embed; do
    file=$(ls "$work"/"$name"-[0-9]*/package/build/"$name".min.js)
    if grep -q -e '</script' -e '{plot_divs}' -e '{scripts}' -e '{refresh_tag}' "$file"; then
      echo "error: $file holds text that breaks an inline script or DVC's placeholders" >&2
      exit 1
    fi
    echo '    <script type="text/javascript">'
    cat "$file"
    echo
    echo '    </script>'
  done
  echo '    <style>table { border-spacing: 15px; }</style>'
  echo '</head>'
  echo '<body>'
  echo '    {plot_divs}'
  echo '</body>'
  echo '</html>'
} > "$out.tmp"
mv "$out.tmp" "$out"
echo "wrote $out ($(du -k "$out" | cut -f1) KB)"
