cd /dmp/tests
. ./lib.sh
for f in cases/*.sh; do . "./$f"; done
mkdir -p $T
load
$MODPROBE dm-crypt; $MODPROBE xts 2>/dev/null; $MODPROBE algif_skcipher 2>/dev/null
p() { echo "# $*"; "$@" 2>&1; echo "(exit $?)"; }
c=$(loopdev 48)
echo -n "passphrase" >$T/key
/usr/sbin/cryptsetup luksFormat -q --type luks2 --pbkdf pbkdf2 --pbkdf-force-iterations 1000 --key-file $T/key $c
p uname -r
p /usr/sbin/cryptsetup open --key-file $T/key $c cryptdata
p $DMSETUP table --showkeys cryptdata
p /dmp/bin/dmpctl attach cryptdata
p /usr/sbin/cryptsetup refresh --disable-keyring --key-file $T/key cryptdata
p $DMSETUP table cryptdata
p /dmp/bin/dmpctl attach cryptdata
p $DMSETUP table cryptdata
p $DMSETUP info -c -o name,uuid,open cryptdata cryptdata.dmp-lower
p /usr/sbin/cryptsetup status cryptdata
p /dmp/bin/dmpctl detach cryptdata
p $DMSETUP table cryptdata
p /dmp/bin/dmpctl attach cryptdata
p /usr/sbin/cryptsetup close cryptdata
p $DMSETUP info -c -o name,uuid,open
p /dmp/bin/dmpctl status
