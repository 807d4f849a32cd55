#!/usr/bin/env bash
# Refresh the web interface's vendored browser assets from the npm registry.
#
# The versions are pinned in scripts/web-assets/package.json and package-lock.json. The packages are
# installed into a temporary folder (never into the repository) and only the distribution files the pages
# use are copied into src/vigichem/web/static/vendor/, with each package's licence. The node serves them
# itself: no page ever loads anything from a CDN. After running, update static/vendor/README.md if a
# version changed, run the web tests, and commit the result.
#
# Usage: scripts/vendor_web_assets.sh [--update]   (--update: re-resolve the lock file from package.json)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "${here}/.." && pwd)"
target="${root}/src/vigichem/web/static/vendor"
work="$(mktemp -d)"
trap 'rm -rf "${work}"' EXIT

cp "${here}/web-assets/package.json" "${work}/"
if [[ "${1:-}" == "--update" || ! -f "${here}/web-assets/package-lock.json" ]]; then
    (cd "${work}" && npm install --no-audit --no-fund --ignore-scripts)
    cp "${work}/package-lock.json" "${here}/web-assets/package-lock.json"
else
    cp "${here}/web-assets/package-lock.json" "${work}/"
    (cd "${work}" && npm ci --no-audit --no-fund --ignore-scripts)
fi

modules="${work}/node_modules"
rm -rf "${target:?}/htmx" "${target}/chartjs" "${target}/pico" "${target}/inter"
mkdir -p "${target}/htmx" "${target}/chartjs" "${target}/pico" "${target}/inter"

cp "${modules}/htmx.org/dist/htmx.min.js" "${target}/htmx/"
cp "${modules}/htmx.org/LICENSE" "${target}/htmx/LICENSE"

# The UMD build is self-contained (it bundles @kurkle/color, MIT, whose licence is copied too).
# The source-map comment is dropped: the map is not vendored and must never be asked for.
sed '/^\/\/# sourceMappingURL=/d' "${modules}/chart.js/dist/chart.umd.js" >"${target}/chartjs/chart.umd.js"
cp "${modules}/chart.js/LICENSE.md" "${target}/chartjs/LICENSE.md"
cp "${modules}/@kurkle/color/LICENSE.md" "${target}/chartjs/LICENSE-kurkle-color.md"

cp "${modules}/@picocss/pico/css/pico.min.css" "${target}/pico/"
cp "${modules}/@picocss/pico/LICENSE.md" "${target}/pico/LICENSE.md"

# Latin and Latin Extended subsets cover English and French (accents, œ, guillemets).
for weight in 400 600; do
    for subset in latin latin-ext; do
        cp "${modules}/@fontsource/inter/files/inter-${subset}-${weight}-normal.woff2" "${target}/inter/"
    done
done
cp "${modules}/@fontsource/inter/LICENSE" "${target}/inter/LICENSE"

echo "vendored into ${target}:"
(cd "${target}" && find . -type f | sort)
