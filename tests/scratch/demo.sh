cd /dmp/tests
. ./lib.sh
for f in cases/*.sh; do . "./$f"; done
mkdir -p $T
load
$MODPROBE dm-thin-pool; $MODPROBE dm-crypt; $MODPROBE xts 2>/dev/null; $MODPROBE algif_skcipher 2>/dev/null
lvm_setup
pv1=$(loopdev 64)
$LVM pvcreate -q $pv1 >/dev/null 2>&1; $LVM vgcreate -q -s 4M vg0 $pv1 >/dev/null 2>&1
$LVM lvcreate -q -y --type thin-pool -L 48M -n pool vg0 >/dev/null 2>&1
$LVM lvcreate -q -y -V 32M -T vg0/pool -n vm-101-disk-0 >/dev/null 2>&1
$MKFS -q -F /dev/vg0/vm-101-disk-0 28M; mkdir -p $T/mnt; mount -o noatime /dev/vg0/vm-101-disk-0 $T/mnt; sync
p() { echo "# $*"; "$@" 2>&1; }
p $DMSETUP table vg0-vm--101--disk--0
p /dmp/bin/dmpctl attach vg0/vm-101-disk-0
p $DMSETUP table vg0-vm--101--disk--0
p $DMSETUP table vg0-vm--101--disk--0.dmp-lower
p $DMSETUP info -c -o name,uuid,major,minor,open
p /dmp/bin/dmpctl status
$DD if=/dev/vg0/vm-101-disk-0 of=/dev/null bs=4k count=5 skip=100 iflag=direct status=none
$DD if=/dev/urandom of=/dev/vg0/vm-101-disk-0 bs=4k count=2 seek=7500 oflag=direct status=none
echo "# (5 reads of 4 KiB, 2 writes of 4 KiB past the filesystem)"
p $DMSETUP status vg0-vm--101--disk--0
p /dmp/bin/dmpstat --list
p /dmp/bin/dmpctl detach vg0/vm-101-disk-0
p $DMSETUP table vg0-vm--101--disk--0
umount $T/mnt
c=$(loopdev 48)
echo -n "passphrase" >$T/key
/usr/sbin/cryptsetup luksFormat -q --type luks2 --pbkdf pbkdf2 --pbkdf-force-iterations 1000 --key-file $T/key $c
p /usr/sbin/cryptsetup open --key-file $T/key $c cryptdata
p $DMSETUP table cryptdata
p /dmp/bin/dmpctl attach cryptdata
p /usr/sbin/cryptsetup refresh --disable-keyring --key-file $T/key cryptdata
p $DMSETUP table cryptdata
p /dmp/bin/dmpctl attach cryptdata
p $DMSETUP table cryptdata
p $DMSETUP info -c -o name,uuid cryptdata cryptdata.dmp-lower
p /dmp/bin/dmpctl detach cryptdata
p $DMSETUP table cryptdata
