#!/bin/sh
# /init of Hull's lab VM, written into the initramfs by `hull-lab vm build`.
# Stage 1 copies the initramfs to a tmpfs and switches to it (pivot_root(2), which every
# container start needs, cannot leave the initramfs); stage 2 mounts what a host has (cgroup v2
# only), loads the modules, mounts the job's 9p share and runs `hull-lab vm guest`.
export PATH=/bin HOME=/root
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
if [ ! -e /.switched ]; then
    mount -t tmpfs -o mode=0755 root /newroot
    for e in /* /.[!.]*; do
        case $e in /proc | /sys | /dev | /newroot | '/.[!.]*') ;; *) cp -a "$e" /newroot/ ;; esac
    done
    mkdir -p /newroot/proc /newroot/sys /newroot/dev /newroot/newroot
    : >/newroot/.switched
    umount /proc /sys /dev
    exec switch_root /newroot /init
fi
mkdir -p /dev/pts /dev/shm /dev/mqueue
mount -t devpts -o newinstance,ptmxmode=0666 devpts /dev/pts
ln -sf pts/ptmx /dev/ptmx
mount -t tmpfs -o mode=1777 shm /dev/shm
mount -t mqueue mqueue /dev/mqueue
ln -sf /proc/self/fd /dev/fd
ln -sf /proc/self/fd/0 /dev/stdin
ln -sf /proc/self/fd/1 /dev/stdout
ln -sf /proc/self/fd/2 /dev/stderr
mount -t cgroup2 -o nsdelegate cgroup2 /sys/fs/cgroup
mount -t tmpfs -o mode=1777 tmp /tmp
mount -t tmpfs -o mode=0755 run /run
mkdir -p /var/lib /var/tmp
while read -r m; do
    insmod "$m" 2>/dev/null || echo "hull-vm: insmod $m failed" >&2
done </etc/hull-vm/modules.load
echo /bin/modprobe >/proc/sys/kernel/modprobe
hostname hull-vm
ip link set lo up
mkdir -p /mnt/job
mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 job /mnt/job ||
    echo "hull-vm: cannot mount the job share" >&2
hull-lab vm guest /mnt/job
echo "hull-vm: the guest agent exited ($?) without a verdict" >&2
poweroff -f
