# Installs the Debian packages zkpilot's sandbox and tests need, only those missing.
# Sourced by scripts/test and scripts/demo.

ZKPILOT_PACKAGES=(zookeeper default-jre-headless openssh-server openssh-client nftables iproute2 sudo tmux netcat-openbsd asciinema shellcheck)

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

ensure_packages() {
  local missing=()
  for pkg in "${ZKPILOT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    echo "installing the packages the sandbox needs: ${missing[*]}"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}
