#!/usr/bin/env bash
# Installs the Debian packages the test environment needs: git (daemon, http-backend, git-shell),
# openssh-server (sshd), openssh-client (ssh, ssh-keygen), openssl (the cluster's certificates), util-linux
# (unshare, for the Sealed Secrets controller's private mount namespace), procps (ps, for the orphan check) and
# gnupg (gpg to make OpenPGP-signed commits, gpgv to verify them, gpgconf to stop the agent).
# Go itself comes with the machine. Does nothing, and needs no
# network, when they are all present; otherwise one `apt-get update` and one `apt-get install`.
set -euo pipefail

# package → a program it provides (absolute where the program is not on a normal user's PATH)
declare -A wanted=(
  [git]=git
  [openssh-server]=/usr/sbin/sshd
  [openssh-client]=ssh-keygen
  [openssl]=openssl
  [util-linux]=unshare
  [procps]=ps
  [gnupg]=gpgv
)

missing=()
for pkg in "${!wanted[@]}"; do
  prog=${wanted[$pkg]}
  if dpkg -s "$pkg" >/dev/null 2>&1 && command -v "$prog" >/dev/null 2>&1; then continue; fi
  missing+=("$pkg")
done

if [ ${#missing[@]} -eq 0 ]; then
  command -v go >/dev/null 2>&1 || { echo "error: go is not on PATH; the test environment builds its servers with Go" >&2; exit 1; }
  echo "system packages: all present (${!wanted[*]})"
  exit 0
fi

if [ "$(id -u)" -eq 0 ]; then sudo=(); else sudo=(sudo); fi
echo "system packages: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
${sudo[@]+"${sudo[@]}"} apt-get update -qq
${sudo[@]+"${sudo[@]}"} apt-get install -y -qq --no-install-recommends "${missing[@]}"
# The privilege-separation folder sshd needs; the system service would make it, but tests run their own sshd.
${sudo[@]+"${sudo[@]}"} mkdir -p /run/sshd
command -v go >/dev/null 2>&1 || { echo "error: go is not on PATH; the test environment builds its servers with Go" >&2; exit 1; }
