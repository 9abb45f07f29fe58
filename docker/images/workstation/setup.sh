#!/usr/bin/env bash
# Workstation image setup; runs inside the trixie chroot after the packages and ttyd (lib/provision.sh).
# Installs the pinned Node tools from node/package-lock.json into /opt/pinacle/node, so that nothing
# is downloaded when a pod starts:
#   code-server 4.100.3  /usr/local/bin/code-server
#   Claude Code          /usr/local/bin/claude (its native binary, from the per-platform npm package)
#   Vibe Kanban 0.0.71   /usr/local/bin/vibe-kanban (the binary from the npm tarball, pre-unpacked)
set -euo pipefail

readonly B=/tmp/pinacle-build
readonly PREFIX=/opt/pinacle/node
# What code-server's native modules (node-pty, argon2, kerberos, spdlog, ...) need to compile.
# Debian's node-gyp brings libnode-dev, the headers of this very nodejs (npm_config_nodedir=/usr).
readonly BUILD_PACKAGES=(python3 make g++ libkrb5-dev node-gyp)

# shellcheck source-path=SCRIPTDIR source=../../lib/build-deps.sh
source "$B/lib/build-deps.sh"

log() { printf '[workstation] %s\n' "$*"; }

export npm_config_nodedir=/usr npm_config_update_notifier=false npm_config_fund=false npm_config_audit=false
export npm_config_cache=/tmp/pinacle-build/npm-cache

build_deps_install workstation "${BUILD_PACKAGES[@]}"

log "npm ci (integrity-checked against package-lock.json, install scripts off)"
mkdir -p "$PREFIX"
cp "$B/image/node/package.json" "$B/image/node/package-lock.json" "$B/image/node/.npmrc" "$PREFIX/"
cd "$PREFIX"
npm ci --ignore-scripts

# --- code-server: what its postinstall.sh does, without downloads ---------------------------------
cs="$PREFIX/node_modules/code-server"
log "code-server: native modules"
npm rebuild argon2
cd "$cs/lib/vscode"
# lib/vscode and extensions carry their own npm-shrinkwrap.json (versions and integrity).
npm install --omit=dev --ignore-scripts
# @vscode/ripgrep's postinstall downloads rg from GitHub unless bin/rg exists: use Debian's.
mkdir -p node_modules/@vscode/ripgrep/bin
cp /usr/bin/rg node_modules/@vscode/ripgrep/bin/rg
# node-pty runs `npx node-gyp`; npm_config_yes answers npx's question.
npm_config_yes=true npm rebuild
# The symlinks postinstall.sh would have made.
ln -sfn node_modules node_modules.asar
ln -sfn code-linux.sh bin/remote-cli/code-server
ln -sfn browser-linux.sh bin/helpers/browser.sh
cd extensions
npm install --omit=dev
ln -sfn "$cs/out/node/entry.js" /usr/local/bin/code-server

# --- Claude Code: its postinstall only links the platform package's binary into place -------------
log "claude-code: link the native binary"
cd "$PREFIX"
npm rebuild @anthropic-ai/claude-code
ln -sfn "$PREFIX/node_modules/@anthropic-ai/claude-code/bin/claude.exe" /usr/local/bin/claude

# --- Vibe Kanban: the npm wrapper unpacks a zip into its own package dir at every start ------------
# (not writable by dev); unpack it once here and run the binary directly.
log "vibe-kanban: unpack the binary"
case "$(dpkg --print-architecture)" in
    amd64) vk_platform=linux-x64 ;;
    arm64) vk_platform=linux-arm64 ;;
    *) echo "[workstation] error: no vibe-kanban binary for $(dpkg --print-architecture)" >&2; exit 1 ;;
esac
vk="$PREFIX/node_modules/vibe-kanban/dist"
mkdir -p /opt/pinacle/vibe-kanban
unzip -q -o "$vk/$vk_platform/vibe-kanban.zip" -d /opt/pinacle/vibe-kanban
unzip -q -o "$vk/$vk_platform/vibe-kanban-mcp.zip" -d /opt/pinacle/vibe-kanban
chmod 0755 /opt/pinacle/vibe-kanban/vibe-kanban /opt/pinacle/vibe-kanban/vibe-kanban-mcp
# The other platforms' zips are dead weight (about 150 MB).
find "$vk" -mindepth 1 -maxdepth 1 ! -name "$vk_platform" -exec rm -rf {} +
ln -sfn /opt/pinacle/vibe-kanban/vibe-kanban /usr/local/bin/vibe-kanban
ln -sfn /opt/pinacle/vibe-kanban/vibe-kanban-mcp /usr/local/bin/vibe-kanban-mcp

# --- purge the compilers, keep what the native modules link against --------------------------------
log "purging build packages"
elves=()
while IFS= read -r -d '' f; do
    if [[ "$(head -c 4 "$f" | tail -c 3)" == "ELF" ]]; then
        elves+=("$f")
    fi
done < <(find "$PREFIX" /opt/pinacle/vibe-kanban -type f \( -name '*.node' -o -perm -u+x \) -print0)
mapfile -t keep < <(runtime_packages "${elves[@]}")
log "runtime packages of the native modules: ${keep[*]}"
build_deps_purge workstation "${keep[@]}"
code-server --version
claude --version
# (vibe-kanban has no --version: any start serves; just check that the binary loads.)
ldd /usr/local/bin/vibe-kanban >/dev/null
rm -rf "$npm_config_cache" /root/.npm /root/.cache /root/.node-gyp /root/.config /root/.local
