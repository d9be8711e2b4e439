#!/usr/bin/env bash
# Make `dvc plots show` / `dvc plots diff` pages open offline. DVC's default HTML loads vega
# from a CDN; this installs the same versions from the npm registry, inlines them into an HTML
# template (.cache/plots-template.html, git-ignored) and sets it as this checkout's
# plots.html_template (in .dvc/config.local, not committed).
set -euo pipefail
cd "$(dirname "$0")/.."
# The versions dvc-render's default template names (vega 5.21: the oldest that vega-lite 5.2 accepts).
VEGA=5.21.0 VEGA_LITE=5.2.0 VEGA_EMBED=6.18.2
if ! command -v npm >/dev/null; then
  sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq npm >/dev/null
fi
mkdir -p .cache/vega
npm install --silent --no-audit --no-fund --prefix .cache/vega \
  "vega@$VEGA" "vega-lite@$VEGA_LITE" "vega-embed@$VEGA_EMBED" >/dev/null
mods=.cache/vega/node_modules
out=.cache/plots-template.html
{
  echo '<!DOCTYPE html>'
  echo '<html><head><meta charset="utf-8"><title>DVC plots</title>'
  for js in "$mods/vega/build/vega.min.js" "$mods/vega-lite/build/vega-lite.min.js" "$mods/vega-embed/build/vega-embed.min.js"; do
    printf '<script type="text/javascript">\n'
    # A literal "</script>" inside the library would end the tag early.
    sed 's#</script>#<\\/script>#g' "$js"
    printf '\n</script>\n'
  done
  echo '<style>table { border-spacing: 15px; }</style>'
  echo '</head><body>'
  echo '{plot_divs}'
  echo '</body></html>'
} > "$out"
.venv/bin/dvc config --local plots.html_template "../$out"
echo "plots-offline: $out ($(du -h "$out" | cut -f1)); dvc plots show/diff now use it"
