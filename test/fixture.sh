# The cache the test fixtures' recipes share (internal/nspawn/mkrootfs.sh,
# test/vm/mkimage.sh). A recipe sources this file, then:
#
#   fixture_begin NAME   prints the finished build and exits when there is
#                        one; otherwise takes the lock and sets $tmp (build
#                        here), $mirror (the machine's Debian mirror) and
#                        $log (the build's output, kept for a post-mortem)
#   ... builds into $tmp ...
#   fixture_commit       publishes $tmp, drops older builds, prints the path
#
# Builds live under /var/cache/heatstrap-test (HEATSTRAP_TEST_CACHE), keyed
# by a hash of the recipe and of this file: editing either rebuilds.

CACHE=${HEATSTRAP_TEST_CACHE:-/var/cache/heatstrap-test}

fixture_begin() {
  fixture_name=$1
  fixture_key=$(cat "$0" "${BASH_SOURCE[0]}" | sha256sum | cut -c1-16)
  fixture_out="$CACHE/$fixture_name-$fixture_key"
  mkdir -p "$CACHE"
  exec 9>"$CACHE/$fixture_name.lock"
  flock 9
  if [ -f "$fixture_out/.heatstrap-fixture" ]; then
    echo "$fixture_out"
    exit 0
  fi
  mirror=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
  mirror=${mirror:-http://deb.debian.org/debian}
  tmp="$fixture_out.tmp"
  # A build killed while it had /dev, /proc or /sys bound into its tree
  # left them mounted: unmount first, and never let rm cross a mount.
  findmnt -rn -o TARGET | grep -F "$tmp/" | sort -r | xargs -r umount -l 2>/dev/null || true
  rm -rf --one-file-system "$tmp"
  mkdir -p "$tmp"
  log="$CACHE/$fixture_name.log"
  : >"$log"
  echo "building $fixture_out from $mirror (one-off; output in $log)" >&2
}

fixture_commit() {
  touch "$tmp/.heatstrap-fixture"
  mv "$tmp" "$fixture_out"
  # Older recipes' builds are garbage now.
  find "$CACHE" -maxdepth 1 -name "$fixture_name-*" ! -name "$fixture_name-$fixture_key" -exec rm -rf {} + 2>/dev/null || true
  echo "$fixture_out"
}
