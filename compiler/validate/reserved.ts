// Env keys the container cannot take: the docker client reads every value by name from its own
// environment (`--env KEY`), so a key it or the shell acts on (PATH, DOCKER_HOST, LD_PRELOAD) would
// steer root. The scripts' own variables need no list: they never source the env files into their
// namespace (test/reserved-env.test.ts checks every such `.` runs in a subshell).


/** Variables the shell itself, or the tools the scripts run after sourcing, read. */
const SHELL_VARIABLES = [
  "PATH", "IFS", "HOME", "TMPDIR", "ENV", "BASH_ENV", "CDPATH", "PS1", "PS2", "PS4", "PWD", "OLDPWD",
  "OPTIND", "OPTARG", "PPID", "LINENO", "SHELLOPTS",
];

/** Key prefixes of plc's own variables and of the clients root runs (docker, restic, lftp, ld.so). */
const RESERVED_PREFIXES = ["PLC_", "RESTIC_", "LFTP_", "LD_"];

/** The docker client's own settings (a project may well use other DOCKER_* names). */
const DOCKER_CLIENT = ["HOST", "CONFIG", "CONTEXT", "TLS", "TLS_VERIFY", "CERT_PATH", "API_VERSION"].map((name) => `DOCKER_${name}`);

/** Why an env key is refused, or undefined when the container may have it. */
export function reservedEnvKey(key: string): string | undefined {
  if (key === "__proto__") return "it is not a name a shell or a JSON object can hold safely";
  if (SHELL_VARIABLES.includes(key)) return "the shell running plc's scripts as root reads it";
  const prefix = RESERVED_PREFIXES.find((candidate) => key.startsWith(candidate));
  if (prefix !== undefined) return `${prefix}* names are read by plc's scripts or the tools they run as root`;
  if (DOCKER_CLIENT.includes(key)) return "docker-run.sh's docker client would read it";
  return undefined;
}

/** The same rule as a JSON Schema pattern, so `plc schema` tells editors too. */
export function reservedEnvPattern(): string {
  const exact = [...SHELL_VARIABLES, ...DOCKER_CLIENT, "__proto__"];
  const prefixes = RESERVED_PREFIXES.map((prefix) => `${prefix}.*`);
  return `^(${[...exact, ...prefixes].join("|")})$`;
}
