#!/usr/bin/env bash
# Installs what furl's tests need: Debian packages with apt-get and npm packages with npm.
# Under CI the end-to-end suite fails (instead of skipping) when a tool it drives is missing.
# Idempotent and fast when everything is present.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v /usr/bin/aws >/dev/null 2>&1 || need_apt+=(awscli)
command -v wrk >/dev/null 2>&1 || need_apt+=(wrk)
for p in cmake autoconf automake make g++ curl; do
  command -v "$p" >/dev/null 2>&1 || need_apt+=("$p")
done
command -v libtoolize >/dev/null 2>&1 || need_apt+=(libtool)
# Headless chromium for the browser tests (driven from Go with chromedp).
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
# The function sandbox (bubblewrap; setpriv is util-linux) and boto3 for Python functions, as
# Lambda's Python runtimes bundle it.
command -v bwrap >/dev/null 2>&1 || need_apt+=(bubblewrap)
command -v setpriv >/dev/null 2>&1 || need_apt+=(util-linux)
[ -d /usr/lib/python3/dist-packages/boto3 ] || need_apt+=(python3-boto3)
# Python requests: the article's own client, used by the FunctionUrl end-to-end test.
python3 -c 'import requests' >/dev/null 2>&1 || need_apt+=(python3-requests)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "deps: apt-get install ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

# npm packages: the real aws-lambda-ric runtime client, whose install scripts build a native
# addon (minutes). It is built once per machine into a cache outside the checkout and linked
# as .deps/node (git-ignored), so fresh clones on the same machine reuse it. npm 11 runs
# install scripts only for approved packages, hence allowScripts.
cache=${FURL_DEPS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/furl-deps}
mkdir -p "$cache" .deps
if [ -d .deps/node ] && [ ! -L .deps/node ]; then
  if [ -e "$cache/node" ]; then rm -rf .deps/node; else mv .deps/node "$cache/node"; fi
fi
[ -L .deps/node ] || ln -s "$cache/node" .deps/node
ric=$cache/node/node_modules/aws-lambda-ric
built() { ls "$ric"/dist/*.node >/dev/null 2>&1 || ls "$ric"/build/Release/*.node >/dev/null 2>&1; }
if ! built; then
  echo "deps: npm install aws-lambda-ric@3.3.0 into $cache/node (native build, takes a few minutes once)"
  mkdir -p "$cache/node"
  printf '%s\n' '{"private":true,"dependencies":{"aws-lambda-ric":"3.3.0"},"allowScripts":{"aws-lambda-ric":true}}' > "$cache/node/package.json"
  ( cd "$cache/node" && npm_config_nodedir=/usr npm install --no-audit --no-fund >/dev/null )
  # npm versions without allowScripts skip the build: run it then.
  built || ( cd "$cache/node" && npm_config_nodedir=/usr npm rebuild aws-lambda-ric >/dev/null )
fi
