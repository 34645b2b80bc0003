#!/usr/bin/env bash
# The real clients the tests drive, installed from Debian's packages when missing
# (`apt-get update` once; needs root). Run by `deno task test` before the tests, so
# that command does all the set-up on a fresh machine with Deno; a client that
# cannot be installed is reported, and the tests that need it fail naming it.
set -u
apt_updated=
need_package() { # <command> <package>
  command -v "$1" >/dev/null 2>&1 && return 0
  [ -n "$apt_updated" ] || { apt-get update -qq >/dev/null 2>&1; apt_updated=1; }
  echo "installing $2 (for the tests)"
  apt-get install -y -qq "$2" >/dev/null 2>&1 || echo "could not install $2: the tests that need $1 will fail"
}
need_package npm npm
need_package go golang-go
# the build cache's: ccache (with gcc) and bazel
need_package gcc gcc
need_package ccache ccache
need_package bazel bazel-bootstrap
# PyPI's: twine (pip, venv, setuptools and wheel come with Debian's python3)
need_package twine twine
# the web pages' browser tests: Debian's Chromium, driven by playwright-core (from the npm registry via deno.json)
need_package chromium chromium
# openssl makes the test certificates and cms-1.0.0 signatures
need_package openssl openssl
# nginx in front of the registry, sending artifacts itself (X-Accel-Redirect)
need_package nginx nginx-light
exit 0
