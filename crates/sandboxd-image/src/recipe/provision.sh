#!/bin/bash
# provision.sh — turns a bare Debian bookworm root (debootstrap minbase or debian:bookworm-slim)
# into the sandboxd default image. Runs as root inside the target: in a chroot (method
# "debootstrap") or as a Dockerfile RUN (method "dockerfile"), next to packages.txt, tools.sh,
# toolchain.lock, skel.profile and skel.bashrc.
#
# Input (environment): SANDBOXD_METHOD, SANDBOXD_RECIPE, SANDBOXD_FLAVOR (base or agents: which
# tools of toolchain.lock), SANDBOXD_TOOL_TIMEOUT (seconds per tool download/install); an
# optional host-ca.crt next to this script is the build host's CA bundle, trusted by pip, npm
# and uv during the build only (for TLS-intercepting proxies; not installed).
# Output: "==> step" lines for humans, and /etc/sandboxd/image-info (key=value lines) that
# sandboxd reads to learn what was installed and skipped.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
export DEBIAN_FRONTEND=noninteractive
export LANG=C.UTF-8
flavor="${SANDBOXD_FLAVOR:-agents}"

step() { echo "==> $*"; }
# words FILE: the non-comment words of a list file, one per line.
words() { sed -e 's/#.*//' "$1" | tr -s ' \t' '\n\n' | sed -e '/^$/d'; }

mapfile -t packages < <(words "$here/packages.txt")
pip_ca=()
if [ -s "$here/host-ca.crt" ]; then
    pip_ca=(--cert "$here/host-ca.crt")
    export NODE_EXTRA_CA_CERTS="$here/host-ca.crt" SSL_CERT_FILE="$here/host-ca.crt"
fi
# No pty for dpkg (a chroot has no /dev/pts); removed again at the end.
build_conf=/etc/apt/apt.conf.d/90sandboxd-build
echo 'Dpkg::Use-Pty "0";' >"$build_conf"

step "dpkg: leaving out docs, man pages and translations"
cat >/etc/dpkg/dpkg.cfg.d/sandboxd-slim <<'END'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
END

# A mirror hiccup should cost a retry, not the build (and the image keeps the setting).
echo 'Acquire::Retries "5";' > /etc/apt/apt.conf.d/80-sandboxd-retries
step "apt: updating package lists"
apt-get update -q --error-on=any
step "apt: upgrading the base system"
apt-get -y -q -o Dpkg::Options::=--force-confold upgrade
step "apt: installing ${#packages[@]} packages: ${packages[*]}"
apt-get install -y -q --no-install-recommends "${packages[@]}"
ln -sf /usr/bin/fdfind /usr/local/bin/fd

# shellcheck source=tools.sh
. "$here/tools.sh"
step "tools: flavor $flavor, sources from toolchain.lock"
tools_install "$flavor" "$here/toolchain.lock"
if [ ${#tools_missing[@]} -eq 0 ]; then
    step "tools: all installed"
else
    step "tools: missing ${tools_missing[*]}"
fi

step "user: sandbox (uid/gid 1000, home /home/sandbox)"
getent group 1000 >/dev/null || groupadd --gid 1000 sandbox
getent passwd 1000 >/dev/null ||
    useradd --uid 1000 --gid 1000 --home-dir /home/sandbox --no-create-home --shell /bin/bash sandbox
skel=/etc/sandboxd/skel
mkdir -p "$skel/workspace" "$skel/.local/bin" "$skel/.npm-global/bin"
install -m 0644 "$here/skel.profile" "$skel/.profile"
install -m 0644 "$here/skel.bashrc" "$skel/.bashrc"
mkdir -p /home/sandbox
cp -a "$skel/." /home/sandbox/
chown -R 1000:1000 /home/sandbox

join() { local IFS=,; echo "$*"; }

step "cleanup: apt caches, package lists, logs"
apt-get clean
rm -f "$build_conf"
rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /root/.npm /root/.cache /tmp/node-compile-cache
find /var/log -type f -exec truncate -s 0 {} +
find /usr/share/doc -mindepth 1 -not -name copyright -not -type d -delete
find /usr/share/doc -mindepth 1 -type d -empty -delete
rm -rf /usr/share/man/* /usr/share/groff/* /usr/share/info/* /usr/share/lintian/*
find /usr/share/locale -mindepth 1 -maxdepth 1 -not -name locale.alias -exec rm -rf {} +

version() { "$@" 2>/dev/null | head -n1 || echo missing; }
{
    echo "recipe=${SANDBOXD_RECIPE:-unknown}"
    echo "method=${SANDBOXD_METHOD:-unknown}"
    echo "flavor=$flavor"
    echo "built=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "debian=$(cat /etc/debian_version)"
    echo "node=$(version node --version)"
    echo "npm=$(version npm --version)"
    echo "corepack=$(version corepack --version)"
    echo "python=$(version python3 --version)"
    echo "uv=$(version uv --version)"
    echo "bun=$(version bun --version)"
    echo "pnpm=$(version pnpm --version)"
    echo "claude=$(version claude --version)"
    echo "git=$(version git --version)"
    printf '%s\n' "${tool_info[@]}"
    echo "missing=$(join "${tools_missing[@]}")"
    echo "missing_why=$(IFS=';'; echo "${tools_why[*]}")"
} >/etc/sandboxd/image-info
step "done: $(tr '\n' ' ' </etc/sandboxd/image-info)"
