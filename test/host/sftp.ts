// A loopback SFTP server inside a sandbox host (the system's sshd, its own port, host key and user
// `mirror`), and the mirror playlabs' backup.sh pushed to it: test/host/mirror.test.ts and the
// playlabs-made host of test/host/playlabs-host.ts use it.
import { q, type SandboxHost } from "./sandbox.js";

/** The DSN path; each instance mirrors into <path>/<prefix>-<instance>/restic (playlabs' layout). */
export const MIRROR = "/srv/mirror";
// Everything lftp's command language or a shell would trip on; it travels percent-encoded in the DSN.
export const SFTP_PASSWORD = `p'a;ss !x$y"&|<> \`id\` %41`;
export const SFTP_TOOLS = ["restic", "lftp", "sshd", "ssh", "openssl"];

export function sftpDsn(path: string = MIRROR): string {
  return `sftp://mirror:${encodeURIComponent(SFTP_PASSWORD)}@127.0.0.1:2222${path}`;
}

/** sshd on 127.0.0.1:2222 inside the host, user `mirror` with SFTP_PASSWORD, home /srv/mirror. */
export function startSftp(host: SandboxHost): void {
  const dir = `${host.dir}/sshd`;
  host.must(`set -e
mkdir -p ${dir} /srv/mirror
ssh-keygen -q -t ed25519 -N '' -f ${dir}/host_key
hash=$(openssl passwd -6 -stdin <<'EOF'
${SFTP_PASSWORD}
EOF
)
# The sandbox's private copies of passwd and shadow: appended in place (they are bind mounts).
printf 'mirror:x:2000:2000::/srv/mirror:/bin/sh\\n' >>/etc/passwd
printf 'mirror:x:2000:\\n' >>/etc/group
printf 'mirror:%s:19000:0:99999:7:::\\n' "$hash" >>/etc/shadow
chown 2000:2000 /srv/mirror
cat >${dir}/sshd_config <<EOF
Port 2222
ListenAddress 127.0.0.1
HostKey ${dir}/host_key
PidFile ${dir}/sshd.pid
UsePAM no
PasswordAuthentication yes
KbdInteractiveAuthentication no
PubkeyAuthentication no
PermitRootLogin no
AllowUsers mirror
Subsystem sftp internal-sftp
EOF
/usr/sbin/sshd -f ${dir}/sshd_config -E ${dir}/sshd.log
# lftp runs ssh with StrictHostKeyChecking asked (sftp:auto-confirm no): the key must be known.
printf '[127.0.0.1]:2222 %s\\n' "$(cut -d' ' -f1,2 ${dir}/host_key.pub)" >/root/.ssh/known_hosts`);
}

/** playlabs' own mirror command (roles/backup/templates/backup.sh): connect to the DSN, then a folder per instance. */
export function playlabsMirror(host: SandboxHost, repository: string, name: string): void {
  const script = `set cmd:fail-exit yes; set sftp:auto-confirm no; open --env-password -u mirror sftp://127.0.0.1:2222${MIRROR}; mkdir -p ${name}; mirror -R ${repository} ${name}/restic`;
  host.must(`LFTP_PASSWORD=${q(SFTP_PASSWORD)} lftp -c ${q(script)}`);
}

