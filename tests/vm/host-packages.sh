# shellcheck shell=bash
# tests/vm/host-packages.sh - sourced by the suite's setup scripts: the one
# way they install the Debian packages this machine lacks.

# ensure_packages WHO PKG...: install those of PKG... that are not installed
# (apt-get update, then apt-get install; as root), reporting on stderr as
# WHO. Before anything is installed, kexec-tools' debconf question is
# answered "no": the package (a reference binary for the guests) must never
# hook kexec into this machine's reboot.
ensure_packages() {
    local who=$1 p
    local -a missing=()
    shift
    for p in "$@"; do
        [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" = "install ok installed" ] || missing+=("$p")
    done
    if [ "${#missing[@]}" = 0 ]; then
        echo "$who: packages already installed: $*" >&2
        return 0
    fi
    if [ "$(id -u)" != 0 ]; then
        echo "$who: error: missing packages (${missing[*]}); run me as root" >&2
        return 1
    fi
    echo "kexec-tools kexec-tools/load_kexec boolean false" | debconf-set-selections
    echo "$who: installing ${missing[*]}" >&2
    apt-get update >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >&2
}
