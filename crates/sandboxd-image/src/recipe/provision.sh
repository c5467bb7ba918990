#!/bin/bash
# provision.sh — turns a bare Debian bookworm root (debootstrap minbase or debian:bookworm-slim)
# into the sandboxd default image. Runs as root inside the target: in a chroot (method
# "debootstrap") or as a Dockerfile RUN (method "dockerfile"), next to packages.txt,
# npm-extras.txt, skel.profile and skel.bashrc.
#
# Input (environment): SANDBOXD_METHOD, SANDBOXD_RECIPE, SANDBOXD_NPM_TIMEOUT (seconds per
# optional npm tool); an optional host-ca.crt next to this script is the build host's CA bundle,
# trusted by pip and npm during the build only (for TLS-intercepting proxies; not installed).
# Output: "==> step" lines for humans, and /etc/sandboxd/image-info (key=value lines) that
# sandboxd reads to learn what was installed and skipped.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
export DEBIAN_FRONTEND=noninteractive
export LANG=C.UTF-8
npm_timeout="${SANDBOXD_NPM_TIMEOUT:-120}"

step() { echo "==> $*"; }
# words FILE: the non-comment words of a list file, one per line.
words() { sed -e 's/#.*//' "$1" | tr -s ' \t' '\n\n' | sed -e '/^$/d'; }

mapfile -t packages < <(words "$here/packages.txt")
mapfile -t extras < <(words "$here/npm-extras.txt")
pip_ca=()
if [ -s "$here/host-ca.crt" ]; then
    pip_ca=(--cert "$here/host-ca.crt")
    export NODE_EXTRA_CA_CERTS="$here/host-ca.crt"
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

step "pip: installing uv into /usr/local"
pip install --quiet --no-cache-dir --break-system-packages --root-user-action=ignore "${pip_ca[@]}" uv

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

step "npm: optional tools (${extras[*]}), ${npm_timeout}s each"
installed=()
skipped=()
reason=""
if ping_out="$(timeout 20 npm ping --fetch-retries=0 --fetch-timeout=10000 2>&1)"; then
    for pkg in "${extras[@]}"; do
        if timeout "$npm_timeout" npm install --global --prefix /usr/local --no-fund --no-audit \
            --loglevel=error "$pkg"; then
            installed+=("$pkg")
        else
            skipped+=("$pkg")
            echo "==> npm: $pkg: install failed or timed out after ${npm_timeout}s, skipped"
            reason="some npm installs failed"
        fi
    done
else
    code="$(printf '%s\n' "$ping_out" | sed -n 's/.*npm ERR! code \([A-Za-z_]*\).*/\1/p' | head -n1)"
    reason="npm registry unreachable (npm ping: ${code:-no answer within 20s})"
    skipped=("${extras[@]}")
    echo "==> npm: $reason: skipping ${extras[*]}"
fi
join() { local IFS=,; echo "$*"; }

step "cleanup: apt caches, package lists, logs"
apt-get clean
rm -f "$build_conf"
rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /root/.npm /root/.cache
find /var/log -type f -exec truncate -s 0 {} +
find /usr/share/doc -mindepth 1 -not -name copyright -not -type d -delete
find /usr/share/doc -mindepth 1 -type d -empty -delete
rm -rf /usr/share/man/* /usr/share/groff/* /usr/share/info/* /usr/share/lintian/*
find /usr/share/locale -mindepth 1 -maxdepth 1 -not -name locale.alias -exec rm -rf {} +

version() { "$@" 2>/dev/null | head -n1 || echo missing; }
cat >/etc/sandboxd/image-info <<EOF
recipe=${SANDBOXD_RECIPE:-unknown}
method=${SANDBOXD_METHOD:-unknown}
built=$(date -u +%Y-%m-%dT%H:%M:%SZ)
debian=$(cat /etc/debian_version)
node=$(version node --version)
npm=$(version npm --version)
python=$(version python3 --version)
uv=$(version uv --version)
git=$(version git --version)
npm_extras_installed=$(join "${installed[@]}")
npm_extras_skipped=$(join "${skipped[@]}")
npm_extras_skip_reason=${reason}
EOF
step "done: $(tr '\n' ' ' </etc/sandboxd/image-info)"
