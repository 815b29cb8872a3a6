cd /dmp/tests
. ./lib.sh
for f in cases/*.sh; do . "./$f"; done
set -x
mkdir -p $T
load
for m in dm-crypt xts algif_skcipher dm-thin-pool dm-raid dm-cache-smq dm-verity dm-multipath dm-round-robin; do $MODPROBE $m || echo "no $m"; done
uname -r
c=$(loopdev 40)
echo -n secret >$T/key
time /usr/sbin/cryptsetup luksFormat -q --type luks2 --pbkdf pbkdf2 --pbkdf-force-iterations 1000 --key-file $T/key $c; echo rc=$?
time /usr/sbin/cryptsetup open --key-file $T/key $c cr1; echo rc=$?
$DMSETUP table --showkeys cr1
cat /proc/keys
/dmp/bin/dmpctl attach cr1; echo rc=$?
$DMSETUP info -c -o name,uuid,open,attr
$DMSETUP table cr1
/usr/sbin/cryptsetup refresh --disable-keyring --key-file $T/key cr1; echo rc=$?
$DMSETUP table cr1 | cut -c1-60
/dmp/bin/dmpctl attach cr1; echo rc=$?
/dmp/bin/dmpctl detach cr1; echo rc=$?
/usr/sbin/cryptsetup close cr1
/usr/sbin/cryptsetup open --disable-keyring --key-file $T/key $c cr2; echo rc=$?
$DMSETUP table cr2 | cut -c1-60
/usr/sbin/cryptsetup close cr2
# session keyring: key linked there? (keyctl not available) 
lsmod | head -40
dmesg | tail -20
