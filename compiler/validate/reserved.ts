// Env keys the generated scripts cannot take: sourcing the env file (`set -a; . "$here/env"`) would
// redefine the scripts' own variables, and root would act on the project's values (home, PATH).

/**
 * The lowercase shell variables of the generated scripts and the built-in hooks
 * (compiler/render/templates/*.ejs, plugins/*\/*.ejs). test/reserved-env.test.ts checks every
 * variable the templates use is here: a template that adds one must add it too.
 */
export const SCRIPT_VARIABLES = [
  "code", "container", "current", "deadline", "dir", "docker", "dump", "file", "gid", "group", "here",
  "home", "hook", "hook_status", "id", "image", "instance", "item", "keep", "key", "last", "listed",
  "missing", "mode", "name", "path", "pg", "pg_image", "post_hooks_done", "present", "previous_image",
  "previous_release", "purge", "release", "script", "secrets_given", "secrets_source", "short",
  "snapshot", "status", "target", "target_id", "target_image", "tool", "uid", "unit", "user", "vhost",
] as const;

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
  if ((SCRIPT_VARIABLES as readonly string[]).includes(key)) return `it is a variable of plc's scripts, which source the env file`;
  if (SHELL_VARIABLES.includes(key)) return "the shell running plc's scripts as root reads it";
  const prefix = RESERVED_PREFIXES.find((candidate) => key.startsWith(candidate));
  if (prefix !== undefined) return `${prefix}* names are read by plc's scripts or the tools they run as root`;
  if (DOCKER_CLIENT.includes(key)) return "docker-run.sh's docker client would read it";
  return undefined;
}

/** The same rule as a JSON Schema pattern, so `plc schema` tells editors too. */
export function reservedEnvPattern(): string {
  const exact = [...SCRIPT_VARIABLES, ...SHELL_VARIABLES, ...DOCKER_CLIENT, "__proto__"];
  const prefixes = RESERVED_PREFIXES.map((prefix) => `${prefix}.*`);
  return `^(${[...exact, ...prefixes].join("|")})$`;
}
