#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# image-probe.sh: in test images only (tests/integration/firmware_build.sh):
# reports what the boot tests check on its own serial port (ttyS1; the
# console is ttyS0), once the appliance is unsealed, then mints two tokens
# for the host to redeem.
exec >/dev/ttyS1 2>&1
echo "PROBE boot $(cat /proc/sys/kernel/random/boot_id)"
echo "PROBE root $(findmnt -no SOURCE,FSTYPE,OPTIONS / | cut -d, -f1)"
echo "PROBE verity $(veritysetup status root 2>&1 | awk '/status:/ {print $2}' | tr '\n' ' ')"
for i in $(seq 1800); do slipway unseal --status >/dev/null 2>&1 && break; sleep 1; done
echo "PROBE unsealed $(slipway unseal --status 2>&1)"
pid=$(systemctl show -p MainPID --value slipway.service)
echo "PROBE user $(stat -c %U /proc/$pid)"
echo "PROBE nopriv $(awk '/^NoNewPrivs/ {print $2}' /proc/$pid/status)"
child=$(grep -l '^slipway-net$' /proc/[0-9]*/comm 2>/dev/null | head -1 | cut -d/ -f3)
echo "PROBE child ${child:+$(stat -c %U /proc/$child) seccomp $(awk '/^Seccomp:/ {print $2}' /proc/$child/status)}"
echo "PROBE statefiles $(ls /var/lib/slipway | tr '\n' ' ')"
echo "PROBE wrapped $(stat -c '%a %U' /var/lib/slipway/kek.wrapped)"
echo "PROBE nft $(nft list tables | tr '\n' ' ')"
echo "PROBE sshgate $(nft list chain inet slipway ssh_gate | grep -c 'dport 22\|accept')"
echo "PROBE ssh $(systemctl is-active ssh.service)"
echo "PROBE hostkey $(ssh-keygen -l -f /var/lib/slipway-state/appliance/ssh_host_ed25519_key.pub 2>&1 | awk '{print $2}')"
echo "PROBE ntp $(grep '^NTP=' /etc/systemd/timesyncd.conf.d/slipway.conf)"
echo "PROBE timesyncd $(systemctl is-active systemd-timesyncd.service)"
echo "PROBE consoles $(systemctl is-active slipway-console@tty1.service slipway-console@ttyS0.service | tr '\n' ' ')"
echo "PROBE consoleuser $(ps -o user= -p $(systemctl show -p MainPID --value slipway-console@ttyS0.service))"
echo "PROBE gettys $(systemctl list-units --no-legend 'getty@*' 'serial-getty@*' 'autovt@*' | wc -l)"
echo "PROBE recoveryfile $(ls /run/slipway-firstboot/ 2>&1 | tr '\n' ' ')"
echo "PROBE failed $(systemctl --failed --no-legend --plain | awk '{print $1}' | tr '\n' ' ')"
echo "PROBE tokenA $(slipway token create --node test1 2>/dev/null || echo failed)"
echo "PROBE tokenB $(slipway token create --node test2 2>/dev/null || echo failed)"
journalctl -b --no-pager -n 60 -u slipway.service -u slipway-firstboot.service \
	-u slipway-unseal-tpm.service -u ssh.service | sed 's/^/JOURNAL /'
echo "PROBE done"
