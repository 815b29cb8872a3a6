cd /dmp/tests
. ./lib.sh
for f in cases/*.sh; do . "./$f"; done
mkdir -p $T
load
$MODPROBE dm-thin-pool
lvm_vg1 48
$LVM lvcreate -q -y --type thin-pool -L 32M -n pool vg1 $pv1 >/dev/null 2>&1
$LVM lvcreate -q -y -V 16M -T vg1/pool -n thin1 >/dev/null 2>&1
/dmp/bin/dmpctl attach vg1/thin1
$DMSETUP info -c -o name,uuid,open,attr
$LVM vgchange -an -vvvv vg1 > $T/v.log 2>&1; echo rc=$?
grep -n "dmp\|Removing\|Deactivat\|deactivate\|thin1\|open" $T/v.log | grep -v "^.*filter\|scan" | head -80
$DMSETUP info -c -o name,uuid,open,attr
