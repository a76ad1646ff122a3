#!/bin/sh
# SANDTRAP-TEST-MALICIOUS: loads a kernel module and registers it to load at boot (T1547.006).
# Inert: the "module" is a few placeholder bytes, and loading modules is refused without
# CAP_SYS_MODULE; /lib/modules and /etc/modules are refused too.
printf '\177ELF-placeholder\n' > ./nf_conntrack_helper.ko
sudo insmod ./nf_conntrack_helper.ko 2>/dev/null || insmod ./nf_conntrack_helper.ko 2>/dev/null || echo "insmod: refused"
sudo cp ./nf_conntrack_helper.ko "/lib/modules/$(uname -r)/kernel/net/" 2>/dev/null || echo "module copy: refused"
echo nf_conntrack_helper | sudo tee -a /etc/modules >/dev/null 2>&1 || echo "etc/modules: refused"
sudo modprobe nf_conntrack_helper 2>/dev/null || modprobe nf_conntrack_helper 2>/dev/null || echo "modprobe: refused"
exit 0
