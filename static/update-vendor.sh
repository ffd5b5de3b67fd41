#!/usr/bin/env bash
# update-vendor.sh refreshes the third-party browser libraries in
# static/vendor/ from the npm registry.
#
# The packages, their exact versions and their tarball integrity hashes
# are pinned below. To upgrade, change the version, run
#   npm view <package>@<version> dist.integrity
# and paste the new hash, then run this script and commit the result.
#
# Only the pre-built UMD bundle (lib/*.js, which defines a browser
# global), the stylesheet where there is one, and the LICENSE of each
# package are copied; files are kept byte-identical to upstream.
# static/vendor/README.md is regenerated from the same pins.
#
# Requirements: bash, npm (for `npm pack`), tar, node.
set -euo pipefail

# package            version  integrity (sha512 of the npm tarball)
PINS=(
  "@xterm/xterm            6.0.0   sha512-TQwDdQGtwwDt+2cgKDLn0IRaSxYu1tSUjgKarSDkUM0ZNiSRXFpjxEsvc/Zgc5kq5omJ+V0a8/kIM2WD3sMOYg=="
  "@xterm/addon-fit        0.11.0  sha512-jYcgT6xtVYhnhgxh3QgYDnnNMYTcf8ElbxxFzX0IZo+vabQqSPAjC3c1wJrKB5E19VwQei89QCiZZP86DCPF7g=="
  "@xterm/addon-web-links  0.12.0  sha512-4Smom3RPyVp7ZMYOYDoC/9eGJJJqYhnPLGGqJ6wOBfB8VxPViJNSKdgRYb8NpaM6YSelEKbA2SStD7lGyqaobw=="
  "@xterm/addon-search     0.16.0  sha512-9OeuBFu0/uZJPu+9AHKY6g/w0Czyb/Ut0A5t79I4ULoU4IfU5BEpPFVGQxP4zTTMdfZEYkVIRYbHBX1xWwjeSA=="
  "@xterm/addon-webgl      0.19.0  sha512-b3fMOsyLVuCeNJWxolACEUED0vm7qC0cy4wRvf3oURSzDTYVQiGPhTnhWZwIHdvC48Y+oLhvYXnY4XDXPoJo6A=="
  "@xterm/addon-unicode11  0.9.0   sha512-FxDnYcyuXhNl+XSqGZL/t0U9eiNb/q3EWT5rYkQT/zuig8Gz/VagnQANKHdDWFM2lTMk9ly0EFQxxxtZUoRetw=="
)

# Files to copy from each package (paths inside the tarball's package/).
files_for() {
  case "$1" in
    @xterm/xterm)           echo "lib/xterm.js css/xterm.css LICENSE" ;;
    @xterm/addon-fit)       echo "lib/addon-fit.js LICENSE" ;;
    @xterm/addon-web-links) echo "lib/addon-web-links.js LICENSE" ;;
    @xterm/addon-search)    echo "lib/addon-search.js LICENSE" ;;
    @xterm/addon-webgl)     echo "lib/addon-webgl.js LICENSE" ;;
    @xterm/addon-unicode11) echo "lib/addon-unicode11.js LICENSE" ;;
    *) echo "update-vendor.sh: no file list for $1" >&2; return 1 ;;
  esac
}

# Browser global(s) each bundle defines, for the README.
global_for() {
  case "$1" in
    @xterm/xterm)           echo '`Terminal`' ;;
    @xterm/addon-fit)       echo '`FitAddon` (class: `FitAddon.FitAddon`)' ;;
    @xterm/addon-web-links) echo '`WebLinksAddon` (class: `WebLinksAddon.WebLinksAddon`)' ;;
    @xterm/addon-search)    echo '`SearchAddon` (class: `SearchAddon.SearchAddon`)' ;;
    @xterm/addon-webgl)     echo '`WebglAddon` (class: `WebglAddon.WebglAddon`)' ;;
    @xterm/addon-unicode11) echo '`Unicode11Addon` (class: `Unicode11Addon.Unicode11Addon`)' ;;
  esac
}

for tool in npm tar node; do
  command -v "$tool" >/dev/null 2>&1 || { echo "update-vendor.sh: $tool is required" >&2; exit 1; }
done

script_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
vendor_dir="$script_dir/vendor"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# sha512_sri FILE prints the Subresource-Integrity style sha512 of FILE.
sha512_sri() {
  node -e '
    const crypto = require("crypto");
    const data = require("fs").readFileSync(process.argv[1]);
    process.stdout.write("sha512-" + crypto.createHash("sha512").update(data).digest("base64"));
  ' "$1"
}

readme_rows=""

for pin in "${PINS[@]}"; do
  read -r pkg version integrity <<<"$pin"
  short="${pkg##*/}"                       # @xterm/addon-fit -> addon-fit
  echo "==> $pkg@$version"

  pack_dir="$work/$short"
  mkdir -p "$pack_dir"
  tarball="$(cd "$pack_dir" && npm pack --silent --pack-destination "$pack_dir" "$pkg@$version" | tail -n 1)"
  tarball="$pack_dir/$tarball"
  [ -f "$tarball" ] || { echo "update-vendor.sh: npm pack produced no tarball for $pkg@$version" >&2; exit 1; }

  actual="$(sha512_sri "$tarball")"
  if [ "$actual" != "$integrity" ]; then
    echo "update-vendor.sh: integrity mismatch for $pkg@$version" >&2
    echo "  pinned:   $integrity" >&2
    echo "  received: $actual" >&2
    exit 1
  fi

  tar -xzf "$tarball" -C "$pack_dir"
  src="$pack_dir/package"

  got_version="$(node -p 'require(process.argv[1]).version' "$src/package.json")"
  [ "$got_version" = "$version" ] || { echo "update-vendor.sh: $pkg: expected $version, tarball says $got_version" >&2; exit 1; }
  license="$(node -p 'require(process.argv[1]).license' "$src/package.json")"

  # Stage into a fresh directory, then swap it in, so stale files vanish
  # and a failure never leaves a half-written vendor directory.
  stage="$work/stage-$short"
  mkdir -p "$stage"
  copied=""
  for f in $(files_for "$pkg"); do
    [ -f "$src/$f" ] || { echo "update-vendor.sh: $pkg@$version has no $f" >&2; exit 1; }
    cp "$src/$f" "$stage/$(basename "$f")"
    copied="$copied \`$(basename "$f")\`"
  done
  chmod 0644 "$stage"/*

  mkdir -p "$vendor_dir"
  rm -rf "$vendor_dir/$short"
  mv "$stage" "$vendor_dir/$short"

  readme_rows="$readme_rows| \`$pkg\` | $version | $license | \`vendor/$short/\`:$copied | $(global_for "$pkg") |
"
done

cat >"$vendor_dir/README.md" <<EOF
# Vendored browser libraries

These files are third-party code, copied unmodified from the npm registry
so that the page needs no CDN and \`go build\` needs no network. They are
embedded into the binary and served under \`/static/vendor/\`.

| Package | Version | Licence | Files | Browser global |
|---------|---------|---------|-------|----------------|
${readme_rows}
Each directory holds the package's \`LICENSE\` file. Only the pre-built UMD
bundles are kept; the ES modules, TypeScript sources, typings and source
maps are not (browser developer tools may report the missing \`.map\`
files; that is harmless).

## Refreshing

The versions and the sha512 integrity of each npm tarball are pinned in
\`static/update-vendor.sh\`. To upgrade, edit the pins there (get the hash
with \`npm view <package>@<version> dist.integrity\`), then run:

\`\`\`sh
static/update-vendor.sh
\`\`\`

The script downloads the tarballs with \`npm pack\`, checks their
integrity, replaces the directories above and rewrites this README.
Commit the result. It needs \`bash\`, \`npm\`, \`node\` and \`tar\`.
EOF

echo "==> vendor files written to $vendor_dir"
