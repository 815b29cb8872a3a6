cd /dmp/tests
. ./lib.sh
for f in cases/*.sh; do . "./$f"; done
set -x
mkdir -p $T
load
for m in dm-thin-pool dm-cache dm-cache-smq dm-raid raid1 dm-crypt dm-verity dm-multipath dm-round-robin xts algif_skcipher; do $MODPROBE $m || echo "no $m"; done
lvm_setup
pv1=$(loopdev 48); pv2=$(loopdev 48)
$LVM pvcreate -q $pv1 $pv2; $LVM vgcreate -q -s 4M vg1 $pv1 $pv2
time $LVM lvcreate -q -y --type thin-pool -L 24M -n pool vg1 $pv1
time $LVM lvcreate -q -y -V 32M -T vg1/pool -n thin1
$DMSETUP table; $DMSETUP ls
t0=$($DMSETUP table vg1-thin1)
/dmp/bin/dmpctl attach vg1/thin1; echo rc=$?
$DMSETUP table; $DMSETUP info vg1-thin1.dmp-lower; $DMSETUP info -c -o name,uuid,open,attr
ls /dev/mapper
/dmp/bin/dmpctl status
$DD if=/dev/mapper/vg1-thin1 of=/dev/null bs=4k count=3 iflag=direct
$DMSETUP status vg1-thin1
/dmp/bin/dmpstat --list
DMPCTL_STOP_AFTER=load-top /dmp/bin/dmpctl detach vg1/thin1; echo rc=$?
/dmp/bin/dmpctl detach vg1/thin1; echo rc=$?
$DMSETUP table; $DMSETUP info -c -o name,uuid,open,attr
[ "$($DMSETUP table vg1-thin1)" = "$t0" ] && echo SAME
/dmp/bin/dmpctl attach vg1/thin1
$LVM lvchange -q --refresh vg1/thin1; echo rc=$?
$DMSETUP table; $DMSETUP info -c -o name,uuid,open,attr
/dmp/bin/dmpctl attach vg1/thin1
$LVM vgchange -an vg1; echo rc=$?
$DMSETUP info -c -o name,uuid,open,attr
$LVM vgchange -ay vg1
# crypt
c=$(loopdev 40)
echo -n secret >$T/key
time /usr/sbin/cryptsetup luksFormat -q --type luks2 --pbkdf pbkdf2 --pbkdf-force-iterations 1000 --key-file $T/key $c; echo rc=$?
time /usr/sbin/cryptsetup open --key-file $T/key $c cr1; echo rc=$?
$DMSETUP table --showkeys cr1 | sed 's/\(crypt [^ ]* \)\([0-9a-f]\{8\}\)[0-9a-f]*/\1\2.../'
$DMSETUP info -c -o name,uuid cr1
/dmp/bin/dmpctl attach cr1; echo rc=$?
$DMSETUP info -c -o name,uuid,open,attr
/dmp/bin/dmpctl detach cr1; echo rc=$?
/usr/sbin/cryptsetup refresh --disable-keyring --key-file $T/key cr1; echo rc=$?
$DMSETUP table cr1
/dmp/bin/dmpctl attach cr1; echo rc=$?
/dmp/bin/dmpctl detach cr1; echo rc=$?
cat /proc/keys 2>/dev/null | head
dmesg | tail -20
