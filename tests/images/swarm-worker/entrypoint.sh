#!/bin/sh
# Start the inner dockerd. Without --privileged (which fails on hosts lacking CAP_SYS_RESOURCE)
# Docker mounts /sys and the cgroup hierarchies read-only; the engine must write both to make
# its containers' cgroups, and CAP_SYS_ADMIN (the lab adds ALL capabilities) lets it remount.
# A cgroup v1 hierarchy answers a plain `remount,rw` with EBUSY (it would reconfigure the
# host's hierarchy): `remount,bind,rw` changes only this mount's flag.
set -eu

mount -o remount,rw /sys
# fields of /proc/self/mounts: source, mount point, type, options
awk '$2 ~ "^/sys/fs/cgroup(/|$)" && $4 ~ "^ro(,|$)" { print $2 }' /proc/self/mounts |
    while read -r hierarchy; do
        mount -o remount,bind,rw "$hierarchy"
    done

# sshd for joins through SSH (root signs in with the key the lab put in authorized_keys)
ssh-keygen -A -q
mkdir -p /run/sshd
/usr/sbin/sshd

exec dockerd --host unix:///var/run/docker.sock "$@"
