#!/bin/bash
# tests/vm/build-initramfs.sh - build the guest initramfs images.
#
# Usage: tests/vm/build-initramfs.sh [OUTDIR]        (default: target/vm)
# Environment:
#   KEXEC_BIN        binary under test (default target/release/kexec); it is
#                    installed in the guest as /usr/local/sbin/kexec
#   KEXEC_VM_KERNEL  kernel image (default: whatever tests/vm/setup.sh prints)
#
# Outputs (all gzip'd newc cpio; concatenated archives are fine, the kernel
# unpacks them one after another). An initrd cannot contain itself, so each
# kernel of the chain carries the next one's initrd as a file:
#   base.cpio.gz        busybox, /init, the binary under test, kexec-tools'
#                       kexec as /opt/kt/kexec, util-linux setpriv,
#                       makedumpfile, the kernel as /boot/vmlinuz, test files
#   initrd-capture.img  C = base + /marker.txt: the kdump capture kernel's
#   initrd-elf.img      E = C + /boot/initrd-capture.img: the ELF vmlinux's
#   initrd-kl.img       K = C + /boot/vmlinux (the ELF kernel inside the
#                       bzImage) + /boot/initrd-elf.img: the kexec_load boot's
#   initrd-I.img        I = C + /boot/initrd-kl.img: the initrd of the kernel
#                       stage 1 starts with our kexec -e
#   stage1.cpio.gz      booted by QEMU: base + /boot/initrd-I.img +
#                       /boot/initrd-capture.img + /etc/vm-token
#                       (it deliberately has no /marker.txt: finding one
#                       after kexec proves the new initrd was used)
#   formats.cpio.gz     booted by QEMU for the formats run: base +
#                       /boot/packed/ (the kernel as gzip, xz and zstd, the
#                       ELF vmlinux gzipped, a UKI, a cut gzip, a zstd bomb)
#                       + /etc/vm-token; each stage there makes the next
#                       initrd from its own root
#   marker.token        the random token written to /marker.txt (new per build)
set -euo pipefail
umask 022

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
OUT=${1:-$ROOT/target/vm}
KEXEC_BIN=${KEXEC_BIN:-$ROOT/target/release/kexec}
# Test instrument: loads with one segment corrupted after its digest was
# taken (crates/kexec/examples/kexec_corrupt.rs). Optional.
KEXEC_CORRUPT_BIN=${KEXEC_CORRUPT_BIN:-$ROOT/target/instruments/examples/kexec_corrupt}
KT_BIN=/sbin/kexec            # kexec-tools, reference for exit codes
SETPRIV=/usr/bin/setpriv      # util-linux; busybox's setpriv has no --reuid
BUSYBOX=/bin/busybox          # from busybox-static

log() { echo "build: $*" >&2; }
die() { echo "build: error: $*" >&2; exit 1; }

[ -n "${KEXEC_VM_KERNEL:-}" ] || KEXEC_VM_KERNEL=$("$HERE/setup.sh")
[ -s "$KEXEC_VM_KERNEL" ] || die "kernel not found: $KEXEC_VM_KERNEL"
[ -x "$KEXEC_BIN" ] || die "binary under test not found: $KEXEC_BIN (set KEXEC_BIN)"
for f in "$KT_BIN" "$SETPRIV" "$BUSYBOX"; do
    [ -x "$f" ] || die "$f missing; run tests/vm/setup.sh"
done
case $(ldd "$BUSYBOX" 2>&1 || true) in
*"not a dynamic"* | *"statically linked"*) ;;
*) die "$BUSYBOX is not static; install busybox-static" ;;
esac

mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
WORK=$(mktemp -d "$OUT/.build.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

# install_bin SRC DEST: copy an executable into the tree, plus every shared
# library ldd lists for it (at the same absolute path) and the ELF loader.
install_bin() {
    local src=$1 dest=$2 lib
    install -D -m 0755 "$src" "$T$dest"
    # "libfoo.so => /path (0x..)" gives $3; the loader line gives $1.
    # A static binary makes ldd print "not a dynamic executable" or
    # "statically linked": no library lines, nothing to copy.
    for lib in $(ldd "$src" 2>/dev/null | awk '$2 == "=>" && $3 ~ /^\// { print $3 }
                                           $1 ~ /^\// { print $1 }'); do
        [ -e "$T$lib" ] && continue
        mkdir -p "$T$(dirname "$lib")"
        cp -L "$lib" "$T$lib"
    done
}

# mkcpio DIR: newc archive of DIR's contents, owned by root, gzip -1 (fast).
mkcpio() {
    (cd "$1" && find . -mindepth 1 | LC_ALL=C sort \
        | cpio -o -H newc -R 0:0 --quiet) | gzip -1
}

# --- base tree -----------------------------------------------------------------
T=$WORK/base
mkdir -p "$T"/{bin,sbin,usr/bin,usr/sbin,usr/local/sbin,etc,proc,sys,dev,root,mnt,boot,data,opt}
install -d -m 1777 "$T/tmp"
# Only /bin/sh is linked here; /init runs "busybox --install -s" at boot
# (it needs /proc/self/exe, which a chroot on the host would not have).
install -m 0755 "$BUSYBOX" "$T/bin/busybox"
ln -s busybox "$T/bin/sh"
install -m 0755 "$HERE/guest/init" "$T/init"

cat > "$T/etc/passwd" <<'PW'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
PW
cat > "$T/etc/group" <<'GR'
root:x:0:
nogroup:x:65534:
GR

install_bin "$KEXEC_BIN" /usr/local/sbin/kexec
install_bin "$KT_BIN" /opt/kt/kexec
install_bin "$SETPRIV" /opt/ul/setpriv
install_bin /usr/bin/makedumpfile /usr/bin/makedumpfile
# Our vmcore-dmesg beside kexec-tools' (the capture kernel compares them).
VMCORE_DMESG_BIN=${VMCORE_DMESG_BIN:-$(dirname "$KEXEC_BIN")/vmcore-dmesg}
[ -x "$VMCORE_DMESG_BIN" ] && install_bin "$VMCORE_DMESG_BIN" /usr/local/sbin/vmcore-dmesg
[ -x /usr/sbin/vmcore-dmesg ] && install_bin /usr/sbin/vmcore-dmesg /opt/kt/vmcore-dmesg
if [ -x "$KEXEC_CORRUPT_BIN" ]; then
    install_bin "$KEXEC_CORRUPT_BIN" /usr/local/sbin/kexec_corrupt
fi
# Test instrument: the differential test of the rules model
# (crates/kexec-cli/examples/differential.rs).
KEXEC_DIFF_BIN=${KEXEC_DIFF_BIN:-$ROOT/target/instruments/examples/differential}
if [ -x "$KEXEC_DIFF_BIN" ]; then
    install_bin "$KEXEC_DIFF_BIN" /usr/local/sbin/differential
fi
# Test instrument: the kexec_file_load half of the differential test
# (crates/kexec-cli/examples/differential_file.rs).
KEXEC_DIFF_FILE_BIN=${KEXEC_DIFF_FILE_BIN:-$ROOT/target/instruments/examples/differential_file}
if [ -x "$KEXEC_DIFF_FILE_BIN" ]; then
    install_bin "$KEXEC_DIFF_FILE_BIN" /usr/local/sbin/differential_file
fi
# Test instrument: library-only rejections (crates/kexec-cli/examples/probes.rs).
KEXEC_PROBES_BIN=${KEXEC_PROBES_BIN:-$ROOT/target/instruments/examples/probes}
if [ -x "$KEXEC_PROBES_BIN" ]; then
    install_bin "$KEXEC_PROBES_BIN" /usr/local/sbin/probes
fi
# virtio_blk and ext4 with their dependencies, for the sync test: the
# modules' own "depends" (modinfo) give the load order, which moves between
# kernels (crc16 moved to lib/crc/, crc32c_generic became crc32c-cryptoapi);
# newer kernels ship them xz-compressed, busybox's insmod wants them plain.
kver=$(basename "$KEXEC_VM_KERNEL" | sed 's/^vmlinuz-//')
kroot=$(dirname "$(dirname "$KEXEC_VM_KERNEL")")
moddir=
for d in "$(dirname "$KEXEC_VM_KERNEL")/modules-$kver" "$kroot/lib/modules/$kver" "$kroot/usr/lib/modules/$kver"; do
    [ -d "$d/kernel" ] && { moddir=$d; break; }
done
[ -n "$moddir" ] || die "no modules for $kver beside $KEXEC_VM_KERNEL"
mkdir -p "$T/lib/modules-test"
declare -A mod_seen=()
: >"$T/lib/modules-test/order"
# add_module NAME: its dependencies first, then NAME (unless built in)
add_module() {
    local name=${1//-/_} file dep
    [ -z "${mod_seen[$name]:-}" ] || return 0
    mod_seen[$name]=1
    file=$(find "$moddir/kernel" -regextype posix-extended -regex ".*/${name//_/[-_]}\.ko(\.xz|\.zst|\.gz)?" | head -n 1)
    if [ -z "$file" ]; then
        { cat "$moddir/modules.builtin" "$(dirname "$KEXEC_VM_KERNEL")/modules.builtin-$kver" 2>/dev/null || :; } |
            grep -qE "/${name//_/[-_]}\.ko\$" || die "module $name missing in $moddir (and not built in)"
        return 0
    fi
    for dep in $(modinfo -F depends "$file" | tr ',' ' '); do add_module "$dep"; done
    case $file in
    *.xz) xz -dc "$file" ;;
    *.zst) zstd -qdc "$file" ;;
    *.gz) gzip -dc "$file" ;;
    *) cat "$file" ;;
    esac >"$T/lib/modules-test/$name.ko"
    echo "$name" >>"$T/lib/modules-test/order"
}
# crc32c for ext4's checksums: a module of its own before 6.15, then lib
for m in virtio_pci virtio_blk crc32c_generic crc32c_cryptoapi ext4; do
    case $m in crc32c_*) find "$moddir/kernel" -name "${m//_/[-_]}.ko*" | grep -q . || continue ;; esac
    add_module "$m"
done
# The kernel suite's own makedumpfile, when setup.sh made an overlay for it.
overlay=$(dirname "$KEXEC_VM_KERNEL")/overlay-$kver
if [ -d "$overlay/root" ]; then
    cp -a "$overlay/root/." "$T/"
    log "overlay: $(readlink -f "$overlay")"
fi
# The kernel's config, where the rules model looks for CONFIG_KEXEC_JUMP.
kconfig=$(dirname "$KEXEC_VM_KERNEL")/config-$(basename "$KEXEC_VM_KERNEL" | sed 's/^vmlinuz-//')
[ -f "$kconfig" ] && install -m 0644 "$kconfig" "$T/boot/$(basename "$kconfig")"

install -m 0644 "$KEXEC_VM_KERNEL" "$T/boot/vmlinuz"
: > "$T/data/empty"
printf 'This is a plain text file, not a kernel image.\nkexec must refuse it.\n' \
    > "$T/data/text.txt"

mkcpio "$T" > "$WORK/base.cpio.gz"

# --- marker, capture initrd, I, stage1 -----------------------------------------
token=$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
mkdir -p "$WORK/marker"
printf '%s\n' "$token" > "$WORK/marker/marker.txt"
mkcpio "$WORK/marker" > "$WORK/marker.cpio.gz"

cat "$WORK/base.cpio.gz" "$WORK/marker.cpio.gz" > "$WORK/initrd-capture.img"

# with_files OUT NAME=SRC...: C plus the named files under /boot.
with_files() {
    local out=$1 dir=$WORK/extra-$1 pair
    shift
    mkdir -p "$dir/boot"
    for pair in "$@"; do
        cp "${pair#*=}" "$dir/boot/${pair%%=*}"
    done
    mkcpio "$dir" > "$dir.cpio.gz"
    cat "$WORK/initrd-capture.img" "$dir.cpio.gz" > "$WORK/$out"
}

# The ELF vmlinux inside the bzImage (its payload: xz with the x86 BCJ
# filter up to 6.x, zstd in newer kernels; 4 size bytes after the stream),
# for kexec -c -l vmlinux.
python3 - "$KEXEC_VM_KERNEL" "$WORK/vmlinux" <<'PY'
import lzma, struct, subprocess, sys
k = open(sys.argv[1], 'rb').read()
setup_sects = k[0x1f1] or 4
offset, length = struct.unpack_from('<II', k, 0x248)
start = (setup_sects + 1) * 512 + offset
payload = k[start:start + length]
if payload.startswith(b'\xfd7zXZ\x00'):
    elf = lzma.LZMADecompressor(format=lzma.FORMAT_XZ).decompress(payload)
elif payload.startswith(b'\x28\xb5\x2f\xfd'):
    elf = subprocess.run(['zstd', '-qdc'], input=payload[:-4], stdout=subprocess.PIPE, check=True).stdout
else:
    sys.exit('the kernel payload is neither xz nor zstd; extend this extractor')
assert elf.startswith(b'\x7fELF'), 'payload is not an ELF vmlinux'
open(sys.argv[2], 'wb').write(elf)
PY
with_files initrd-elf.img initrd-capture.img="$WORK/initrd-capture.img"
with_files initrd-kl.img vmlinux="$WORK/vmlinux" initrd-elf.img="$WORK/initrd-elf.img"
with_files initrd-I.img initrd-kl.img="$WORK/initrd-kl.img"

mkdir -p "$WORK/s1-extra/boot" "$WORK/s1-extra/etc"
cp "$WORK/initrd-I.img" "$WORK/s1-extra/boot/initrd-I.img"
cp "$WORK/initrd-capture.img" "$WORK/s1-extra/boot/initrd-capture.img"
printf '%s\n' "$token" > "$WORK/s1-extra/etc/vm-token"
mkcpio "$WORK/s1-extra" > "$WORK/s1-extra.cpio.gz"
cat "$WORK/base.cpio.gz" "$WORK/s1-extra.cpio.gz" > "$WORK/stage1.cpio.gz"

# --- the formats run (issue #11): packed kernels and a UKI -------------------
# formats.cpio.gz = base + /boot/packed/* + /etc/vm-token, booted by QEMU.
P=$WORK/fmt/boot/packed
mkdir -p "$P" "$WORK/fmt/etc"
printf '%s\n' "$token" > "$WORK/fmt/etc/vm-token"
gzip -n -9 -c "$KEXEC_VM_KERNEL" > "$P/bzImage.gz"
xz -T1 -6 -c "$KEXEC_VM_KERNEL" > "$P/bzImage.xz"
zstd -q -19 -c "$KEXEC_VM_KERNEL" > "$P/bzImage.zst"
gzip -n -6 -c "$WORK/vmlinux" > "$P/vmlinux.gz"
gz_size=$(stat -c %s "$P/bzImage.gz")
head -c $((gz_size / 2)) "$P/bzImage.gz" > "$P/bzImage-cut.gz"
# A zstd bomb: the bzImage, then 4 GiB of zeros in 128 KiB RLE blocks of
# 4 bytes each (a 128 KiB file).
python3 - "$KEXEC_VM_KERNEL" "$P/bomb.zst" <<'PY'
import struct, sys
head = open(sys.argv[1], 'rb').read()
out = bytearray(b'\x28\xb5\x2f\xfd\x00\x38')   # magic; no content size, 128 KiB window
block = 128 << 10
def hdr(kind, size, last):
    out.extend(struct.pack('<I', (size << 3) | (kind << 1) | last)[:3])
for i in range(0, len(head), block):
    part = head[i:i + block]
    hdr(0, len(part), 0)
    out.extend(part)
n = (4 << 30) // block
for i in range(n):
    hdr(1, block, 1 if i == n - 1 else 0)
    out.append(0)
open(sys.argv[2], 'wb').write(out)
PY
# A UKI made the way systemd 252 documents it (objcopy onto systemd-boot's
# linuxx64.efi.stub; bookworm has no ukify): .osrel, .cmdline (stage=uki,
# ukicmdline=1), .linux (the bzImage), .initrd (base + /uki-initrd.txt +
# /etc/vm-token + a /marker.txt for the capture kernel it also boots).
STUB=/usr/lib/systemd/boot/efi/linuxx64.efi.stub
[ -f "$STUB" ] || die "$STUB missing; run tests/vm/setup.sh (systemd-boot-efi)"
mkdir -p "$WORK/uki-root/etc"
printf '%s uki-initrd\n' "$token" > "$WORK/uki-root/uki-initrd.txt"
printf '%s ucap\n' "$token" > "$WORK/uki-root/marker.txt"
printf '%s\n' "$token" > "$WORK/uki-root/etc/vm-token"
mkcpio "$WORK/uki-root" > "$WORK/uki-root.cpio.gz"
cat "$WORK/base.cpio.gz" "$WORK/uki-root.cpio.gz" > "$WORK/uki-initrd.img"
printf 'ID=kexec-test\nPRETTY_NAME="kexec test UKI"\n' > "$WORK/uki-osrel"
printf 'console=ttyS0 quiet panic=-1 rdinit=/init crashkernel=256M stage=uki kexecmarker=%s-uki ukicmdline=1' \
    "$token" > "$WORK/uki-cmdline"
# Each section 2 MiB-aligned past the stub's last one, as systemd's recipe.
mapfile -t objcopy_args < <(python3 - "$STUB" "$WORK/uki-osrel" "$WORK/uki-cmdline" \
    "$KEXEC_VM_KERNEL" "$WORK/uki-initrd.img" <<'PY'
import os, struct, sys
stub = open(sys.argv[1], 'rb').read()
pe = struct.unpack_from('<I', stub, 0x3c)[0]
nsect = struct.unpack_from('<H', stub, pe + 6)[0]
opt = struct.unpack_from('<H', stub, pe + 20)[0]
image_base = struct.unpack_from('<Q', stub, pe + 24 + 24)[0]
table = pe + 24 + opt
end = 0
for i in range(nsect):
    vsize, vaddr = struct.unpack_from('<II', stub, table + 40 * i + 8)
    end = max(end, vaddr + vsize)
at = image_base + end
for name, path in zip(('.osrel', '.cmdline', '.linux', '.initrd'), sys.argv[2:]):
    at = (at + (2 << 20) - 1) & ~((2 << 20) - 1)
    print('--add-section'); print(f'{name}={path}')
    print('--change-section-vma'); print(f'{name}={at:#x}')
    at += os.path.getsize(path)
PY
)
objcopy "${objcopy_args[@]}" "$STUB" "$P/uki.efi"
mkcpio "$WORK/fmt" > "$WORK/fmt.cpio.gz"
cat "$WORK/base.cpio.gz" "$WORK/fmt.cpio.gz" > "$WORK/formats.cpio.gz"

for f in base.cpio.gz initrd-capture.img initrd-elf.img initrd-kl.img initrd-I.img stage1.cpio.gz formats.cpio.gz; do
    mv -f "$WORK/$f" "$OUT/$f"
done
printf '%s\n' "$token" > "$OUT/marker.token"
cp "$KEXEC_VM_KERNEL" "$OUT/vmlinuz"

log "binary under test: $KEXEC_BIN"
log "kernel: $KEXEC_VM_KERNEL"
log "token: $token"
log "$(cd "$OUT" && du -h stage1.cpio.gz initrd-I.img initrd-kl.img initrd-elf.img initrd-capture.img formats.cpio.gz | tr '\t\n' '  ')"
