# scripts/fresh-root.sh: a fresh Debian 12 root, for scripts/fresh-check
# and scripts/deb-check (sourced, not run). The caller sets ROOT (where),
# CACHE (the debootstrap tarball: built once, reused) and MIRROR, and
# calls fresh_root_create, then fresh_root_cleanup on exit (KEEP=1
# keeps the root).

fresh_root_cleanup() {
	for m in run/netns run dev/pts dev sys proc; do
		umount -l "$ROOT/$m" 2>/dev/null || true
	done
	umount -l "$ROOT" 2>/dev/null || true
	[ "${KEEP:-0}" = 1 ] || rm -rf "$ROOT"
}

# A minbase root from the cache (or debootstrap, then cached), with the
# host's resolv.conf, an /etc/hosts, and /proc, /sys, /dev and a tmpfs /run mounted.
fresh_root_create() {
	command -v debootstrap >/dev/null 2>&1 || {
		apt-get update && apt-get install -y debootstrap
	}
	fresh_root_cleanup
	mkdir -p "$ROOT"
	if [ -f "$CACHE" ]; then
		tar -C "$ROOT" -xf "$CACHE"
	else
		debootstrap --variant=minbase bookworm "$ROOT" "$MIRROR"
		tar -C "$ROOT" -cf "$CACHE" .
	fi
	cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
	# A minbase root has no /etc/hosts, which every installed machine
	# has: without it "localhost" does not resolve (chromedriver talks
	# to chromium's DevTools by that name).
	[ -f "$ROOT/etc/hosts" ] || printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n' >"$ROOT/etc/hosts"
	# The root must be a mount point of its own inside the chroot: "ip
	# netns exec" (the two-host test) remounts / as a slave.
	mount --bind "$ROOT" "$ROOT"
	mount -t proc proc "$ROOT/proc"
	mount --rbind /sys "$ROOT/sys"
	mount --rbind /dev "$ROOT/dev"
	mount -t tmpfs tmpfs "$ROOT/run"
	mkdir -p "$ROOT/run/netns"
}
