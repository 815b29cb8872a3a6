#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The checks of the real-system leg, run in the booted Debian system by
# system-test-boot1.service and system-test-boot2.service (tests/system/run.sh
# installs them). Output ("ok - ", "not ok - ", "# " lines) goes to the
# second serial port.
#
#   guest.sh 1   first boot: the system as installed; then a real reboot
#                (the unit's SuccessAction=reboot)
#   guest.sh 2   after the reboot: all of it again, the data written before
#                the reboot, then `apt purge` of the packages and what is left
set -u
BOOT=${1:?usage: guest.sh 1|2}
. /etc/system-test.conf # REL, RT, VG, RAW_UUID
STATE=/var/lib/system-test
mkdir -p $STATE
fails=0
ok() { # STATUS NAME
	if [ "$1" -eq 0 ]; then echo "ok - boot $BOOT: $2"; else echo "not ok - boot $BOOT: $2"; fails=$((fails + 1)); fi
}
# show CMD...: the command and its output as comment lines.
show() {
	echo "# \$ $*"
	"$@" 2>&1 | sed 's/^/#   /'
}
mono() { # UNIT: when it became active, in seconds since boot (0: never)
	local us
	us=$(systemctl show -P ActiveEnterTimestampMonotonic "$1")
	echo "${us:-0}" | awk '{printf "%.1f", $1 / 1e6}'
}
status_of() { dmsetup status "$1" | cut -d' ' -f4-; }
# The value of a PromQL query for one job: query JOB PROMQL
query() {
	curl -sf --get http://127.0.0.1:9090/api/v1/query --data-urlencode "query=$2" |
		jq -r --arg job "$1" '.data.result[] | select(.metric.job == $job) | .value[1]'
}

echo "SYSTEM-TEST-BOOT $BOOT uptime $(cut -d' ' -f1 /proc/uptime) s"
echo "# boot $BOOT: multi-user.target reached at $(mono multi-user.target) s after the kernel started (TCG)"

# --- the system ---------------------------------------------------------------
[ "$(uname -r)" = "$REL" ]
ok $? "running Debian's stock kernel $REL ($(uname -v | cut -c1-40))"
[ "$(cat /proc/1/comm)" = systemd ] && [ "$(findmnt -no SOURCE /)" = /dev/vda ]
ok $? "systemd is PID 1, the root file system is /dev/vda"

# --- LVM, activated by udev -----------------------------------------------------
[ "$(lvs --noheadings -o lv_active "$VG/data" "$VG/raw" | tr -d ' ' | tr '\n' ' ')" = "active active " ]
ok $? "$VG/data and $VG/raw are active"
# LVM's event activation (69-lvm.rules): udev runs `pvscan --cache
# --vgonline` for the PV; when the VG is complete, the rule runs `vgchange
# -aay --autoactivation event VG`: in Debian's initramfs (whose udev has the
# rule) directly, after the switch to the root file system through a
# transient lvm-activate-VG.service. Either way /run/lvm/vgs_online/VG marks
# it, and the journal has pvscan's line.
how="in the initramfs (udev, 69-lvm.rules, vgchange -aay --autoactivation event)"
journalctl -b -q -u "lvm-activate-$VG.service" | grep -q . && how="by lvm-activate-$VG.service (udev, 69-lvm.rules)"
[ -e "/run/lvm/vgs_online/$VG" ] && journalctl -b -q -o cat | grep -q "PV /dev/vdb online, VG $VG is complete"
ok $? "udev's event activation activated $VG at boot: $how"
[ "$(findmnt -no SOURCE /mnt/data)" = "/dev/mapper/$VG-data" ]
ok $? "/mnt/data is mounted from $VG/data (fstab)"

# --- dmp attached at boot ---------------------------------------------------------
[ "$(systemctl is-active dmp-attach.service)" = active ] && [ "$(systemctl show -P Result dmp-attach.service)" = success ]
ok $? "dmp-attach.service is active, result success"
a=$(mono dmp-attach.service) m=$(mono multi-user.target)
awk -v a="$a" -v m="$m" 'BEGIN { exit !(a > 0 && a <= m) }'
ok $? "dmp-attach.service finished at $a s, before multi-user.target ($m s)"
for lv in data raw; do
	t=$(dmsetup table "$VG-$lv")
	[[ $t =~ ^0\ [0-9]+\ dmp\ 25[0-9]:[0-9]+\ [0-9]+$ ]]
	ok $? "the live table of $VG-$lv is dmp: $t"
done
journalctl -b -q -o cat -u dmp-attach.service >/tmp/attach.journal
grep -qx "$VG-data: attached (1 linear targets now dmp)" /tmp/attach.journal &&
	grep -qx "$VG-raw: attached (1 linear targets now dmp)" /tmp/attach.journal
ok $? "dmp-attach's journal: $(grep attached /tmp/attach.journal | tr '\n' ';')"
[ "$(modinfo -n dmp)" = "/lib/modules/$REL/updates/dkms/dmp.ko.xz" ] && grep -q '^dmp ' /proc/modules
ok $? "dmp is loaded, from $(modinfo -n dmp)"
[ "$BOOT" = 1 ] && show modinfo dmp
show systemctl status --no-pager --lines=5 dmp-attach.service
show dmsetup table "$VG-data"

# --- data on the attached volume ------------------------------------------------
fio_args=(--name=system --filename=/mnt/data/fio.dat --size=8M --bs=4k --rw=randwrite --ioengine=psync
	--direct=1 --verify=crc32c --randrepeat=1 --output-format=terse --terse-version=3)
if [ "$BOOT" = 1 ]; then
	w0=$(dmsetup status "$VG-data" | tr ' ' '\n' | sed -n 's/^write_reqs=//p')
	out=$(fio "${fio_args[@]}" --do_verify=1 2>&1) && rc=0 || rc=$?
	w1=$(dmsetup status "$VG-data" | tr ' ' '\n' | sed -n 's/^write_reqs=//p')
	# At least fio's 2048 writes (ext4 adds its own; the exact figures of
	# known I/O are checked on $VG-raw below).
	[ $rc -eq 0 ] && [ $((w1 - w0)) -ge 2048 ]
	ok $? "fio randwrite 8 MiB in 4 KiB with verify=crc32c on /mnt/data: exit $rc, verified; dmp counted $((w1 - w0)) writes (2048 from fio + the file system's)"
	sha256sum /mnt/data/fio.dat >$STATE/fio.sha256
	sync
else
	out=$(fio "${fio_args[@]}" --verify_only=1 2>&1) && rc=0 || rc=$?
	[ $rc -eq 0 ]
	ok $? "fio verify_only of the file written before the reboot: exit $rc"
	sha256sum --quiet -c $STATE/fio.sha256
	ok $? "the file written before the reboot has the same sha256"
fi
[ $rc -eq 0 ] || echo "$out" | sed 's/^/#   /' | head -20

# --- exact figures of known I/O -------------------------------------------------
raw=/dev/mapper/$VG-raw
udevadm settle
dmsetup message "$VG-raw" 0 reset
dd if=$raw of=/dev/null bs=4k count=5 iflag=direct status=none
dd if=/dev/urandom of=$raw bs=8k count=3 oflag=direct conv=notrunc status=none
got=$(status_of "$VG-raw")
[ "$got" = "read_reqs=5 read_bytes=20480 write_reqs=3 write_bytes=24576 other_reqs=0 errors=0" ]
ok $? "5 reads of 4 KiB and 3 writes of 8 KiB on $VG-raw: dmsetup status $got"
show dmpstat "$VG-raw"

# --- monitoring ---------------------------------------------------------------------
for u in dmpstat-exporter dmpstat-textfile prometheus prometheus-node-exporter; do
	[ "$(systemctl is-active $u.service)" = active ]
	ok $? "$u.service is active"
done
for i in $(seq 60); do curl -sf http://127.0.0.1:9090/-/ready >/dev/null && break; sleep 1; done
# Prometheus (Debian's, on loopback) scrapes the exporter (job dmp) and
# node_exporter's textfile collector (job node): both must show the
# kernel's counts. The textfile is rewritten every 15 s.
want_r=$(dmsetup status "$VG-raw" | tr ' ' '\n' | sed -n 's/^read_reqs=//p')
want_w=$(dmsetup status "$VG-raw" | tr ' ' '\n' | sed -n 's/^write_reqs=//p')
for job in dmp node; do
	r= w= up= t0=$SECONDS
	while [ $((SECONDS - t0)) -lt 180 ]; do
		r=$(query $job "dmp_requests_total{device=\"$VG-raw\",op=\"read\"}")
		w=$(query $job "dmp_requests_total{device=\"$VG-raw\",op=\"write\"}")
		up=$(query $job up)
		[ "$r" = "$want_r" ] && [ "$w" = "$want_w" ] && [ "$up" = 1 ] && break
		sleep 1
	done
	[ "$r" = "$want_r" ] && [ "$w" = "$want_w" ] && [ "$up" = 1 ]
	ok $? "Prometheus, job $job (up $up): dmp_requests_total{device=\"$VG-raw\"} read $r, write $w = the kernel's $want_r, $want_w (after $((SECONDS - t0)) s)"
done
rules=$(curl -sf http://127.0.0.1:9090/api/v1/rules | jq -r '[.data.groups[].rules[].name] | length')
[ "${rules:-0}" -eq "$(grep -cE '^\s*- (record|alert):' /usr/share/dmp/prometheus/dmp-rules.yml)" ]
ok $? "Prometheus loaded dmp's rules from /usr/share/dmp/prometheus/dmp-rules.yml ($rules rules)"

# --- nothing failed -------------------------------------------------------------------
failed=$(systemctl --failed --no-legend --plain)
[ -z "$failed" ]
ok $? "systemctl --failed is empty${failed:+: $failed}"
errs=$(journalctl -b -q -p err -u dmp-attach.service -u dmpstat-exporter.service -u dmpstat-textfile.service)
[ -z "$errs" ]
ok $? "no error line from a dmp unit in the journal${errs:+: $errs}"
bad=$(dmesg | grep -E 'BUG:|WARNING:|Oops|Kernel panic|panicked at|general protection|stack-protector')
[ -z "$bad" ]
ok $? "the kernel log has no BUG, WARNING, Oops or panic${bad:+: $bad}"

# --- autoload -----------------------------------------------------------------------
# Stopping dmp-attach detaches the volumes; with dmp unloaded, the first
# table naming dmp loads it (modprobe dm-dmp, by its alias).
systemctl stop dmp-attach.service
[[ $(dmsetup table "$VG-data") == *" linear "* ]] && [[ $(dmsetup table "$VG-raw") == *" linear "* ]]
ok $? "systemctl stop dmp-attach: both volumes linear again (ExecStop detaches)"
modprobe -r dmp && ! grep -q '^dmp ' /proc/modules
ok $? "modprobe -r dmp: unloaded"
dmsetup create system-autoload --table "0 8192 dmp $raw 0" && grep -q '^dmp ' /proc/modules
ok $? "dmsetup create with a dmp table loads dmp (alias dm-dmp): $(dmsetup table system-autoload)"
dmsetup remove system-autoload
systemctl start dmp-attach.service
[[ $(dmsetup table "$VG-data") == *" dmp "* ]] && [[ $(dmsetup table "$VG-raw") == *" dmp "* ]]
ok $? "systemctl start dmp-attach: both volumes attached again"

if [ "$BOOT" = 1 ]; then
	# The unit's SuccessAction reboots the machine (a clean reboot, through
	# systemd's shutdown: units stopped, file systems unmounted).
	touch $STATE/boot1-done
	sync
	echo "SYSTEM-TEST-REBOOT fails=$fails"
	exit 0
fi

# --- apt purge (boot 2) -----------------------------------------------------------------
mapfile -t pkgs < <(dpkg-query -W -f '${db:Status-Abbrev} ${Package}\n' 'dmp-*' | awk '$1 == "ii" { print $2 }')
[ "${pkgs[*]}" = "dmp-dkms dmp-linux-librust-$REL dmp-tools" ]
ok $? "installed: ${pkgs[*]}"
dpkg -L "${pkgs[@]}" 2>/dev/null | while read -r f; do [ -d "$f" ] || echo "$f"; done >$STATE/files
# What dkms and systemctl made beside the packages' own files.
ls /lib/modules/*/updates/dkms/dmp.ko* /etc/systemd/system/*.wants/dmp* >>$STATE/files 2>/dev/null
echo "# $(wc -l <$STATE/files) files of the packages, the modules dkms built and the units' links:"
sed 's/^/#   /' $STATE/files | grep -E 'dmp.ko|wants|sbin|\.service|attach.conf|libkernel' 
show apt-get purge -y "${pkgs[@]}"
dpkg -s "${pkgs[@]}" >/dev/null 2>&1 && st=1 || st=0
ok $st "apt-get purge ${pkgs[*]}: none of them installed"
left=$(while read -r f; do [ -e "$f" ] || [ -L "$f" ] && echo "$f"; done <$STATE/files)
[ -z "$left" ]
ok $? "every file of the packages is gone ($(wc -l <$STATE/files) checked)${left:+: $left}"
found=$(find / -xdev \( -name 'dmp' -o -name 'dmp-*' -o -name 'dmp.*' -o -name 'dmp_*' -o -name 'dmpstat*' -o -name 'dmpctl*' \) 2>/dev/null)
[ -z "$found" ]
ok $? "find / -name 'dmp*': nothing${found:+: $found}"
units=$(systemctl list-units --all --no-legend --plain 'dmp*'; systemctl list-unit-files --no-legend 'dmp*')
[ -z "$units" ]
ok $? "no dmp unit known to systemd${units:+: $units}"
[ -z "$(pgrep -l 'dmpstat|dmpctl')" ]
ok $? "no dmpstat or dmpctl process"
[ "$(dmsetup table | grep -c ' dmp ')" = 0 ]
ok $? "no dmp target in any table (the volumes were detached when dmp-attach stopped)"
[ "$(cat /sys/module/dmp/refcnt 2>/dev/null)" = 0 ] && rmmod dmp && [ ! -e /sys/module/dmp ]
ok $? "nothing holds the module: rmmod dmp"
sha256sum --quiet -c $STATE/fio.sha256
ok $? "the data on /mnt/data is intact after the purge"
echo "SYSTEM-TEST-END fails=$fails"
[ $fails -eq 0 ]
