#!/usr/bin/env bash
# apt-ensure.sh PACKAGE WHAT FALLBACK: install a Debian package when it can; never fatal.
# WHAT names what it is for; FALLBACK says what happens without it (printed when it cannot).
set -u
package=$1 what=$2 fallback=$3
if ! command -v apt-get >/dev/null; then
  echo "$what: no apt-get here; $fallback"
  exit 0
fi
sudo=""
if [[ $(id -u) != 0 ]]; then
  if sudo -n true 2>/dev/null; then sudo="sudo -n"; else
    echo "$what: not root; install it with 'sudo apt-get install $package', or: $fallback"
    exit 0
  fi
fi
echo "$what: installing Debian package $package ..."
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get install -y -qq "$package" >/dev/null 2>&1 \
  || { $sudo apt-get update -qq >/dev/null 2>&1 && $sudo apt-get install -y -qq "$package" >/dev/null 2>&1; } \
  || echo "$what: apt could not install $package; $fallback"
exit 0
