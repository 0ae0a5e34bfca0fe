// The message catalogue: every diagnostic plc reports, one code per meaning, its exit class, the
// arguments it carries and its wording. Call sites build `{code, args, origin, variable}` values
// (diagnostics.ts); only this module turns args into words, as publint's formatMessage and Svelte's
// generated errors do. docs/diagnostics.md is generated from this table (test/docs-reference.test.ts).

/** input: bad input, exit 2, nothing written. failure: the job itself failed, exit 1. */
export type ExitClass = "input" | "failure";

export interface Entry<A> {
  exit: ExitClass;
  /** What the code means, for docs/diagnostics.md. */
  summary: string;
  /** Arguments the docs render the wording with; also proves every entry renders. */
  example: A;
  message: (args: A) => string;
  hint?: ((args: A) => string | undefined) | undefined;
}

function input<A>(summary: string, example: A, message: (args: A) => string, hint?: (args: A) => string | undefined): Entry<A> {
  return { exit: "input", summary, example, message, hint };
}

function failure<A>(summary: string, example: A, message: (args: A) => string, hint?: (args: A) => string | undefined): Entry<A> {
  return { exit: "failure", summary, example, message, hint };
}

const LINT_HINT = "a value reaches a generated file only as one quoting helper call forming a whole word (compiler/render/template-lint.ts)";

/** A finding of the template lint: bad input (the template is), with the lint's rule as the default fix. */
function lint<A>(summary: string, example: A, message: (args: A) => string, hint?: (args: A) => string | undefined): Entry<A> {
  return { exit: "input", summary, example, message, hint: hint ?? (() => LINT_HINT) };
}

const didYouMean = (suggestion: string | undefined): string => (suggestion === undefined ? "" : `did you mean '${suggestion}'? `);
const NAME_RULE = "use lowercase letters, digits and '-' (at most 63)";
const VAULT_PASSWORD_HINT = "give the vault password with --vault-password-file FILE";
const SHIP_TARGET_HINT = "write @host, user@host or user@host:port";
const RENDER_DIR_HINT = "give a new or empty directory (plc render replaces it whole)";
const BUNDLE_EDITED = "the tarball was repacked or edited";
const BUNDLE_HINT = "give the .tar.gz plc build wrote";

/** Any entry, whatever its args: what the table is checked against. */
interface AnyEntry {
  exit: ExitClass;
  summary: string;
  example: unknown;
  message: (args: never) => string;
  hint?: ((args: never) => string | undefined) | undefined;
}

export const MESSAGES = {
  // ---- variables and the schema (validate) ----
  "unknown-variable": input<{ variable: string; suggestion?: string | undefined }>(
    "a variable the schema does not have",
    { variable: "imgae", suggestion: "image" },
    (a) => `unknown variable '${a.variable}'`,
    (a) => (a.suggestion === undefined ? "plc schema lists the variables" : `did you mean '${a.suggestion}'?`),
  ),
  "required-variable": input(
    "a variable every spec needs is not set",
    { variable: "image" },
    (a) => `'${a.variable}' is required`,
    (a) => (a.variable === "image" ? "give image=REPOSITORY:TAG (or the image as a bare argument)" : `set ${a.variable}=… (plc plugins describes it)`),
  ),
  "reserved-env-key": input(
    "an env key plc's scripts or the engine use themselves",
    { variable: "env.PATH", key: "PATH", why: "plc's scripts use it" },
    (a) => `${a.variable}: '${a.key}' is reserved`,
    (a) => `${a.why}; rename the key (or set it in the image)`,
  ),
  "invalid-env-key": input(
    "an env key that is not a shell variable name",
    { variable: "env.MY-KEY", key: "MY-KEY", suggestion: "MY_KEY" },
    (a) => `${a.variable}: '${a.key}' is not a valid name here`,
    (a) => `env keys match [A-Za-z_][A-Za-z0-9_]*; try '${a.suggestion}'`,
  ),
  "multi-line-value": input(
    "a one-line value holds a line break",
    { variable: "dns" },
    (a) => `${a.variable} may not hold a line break`,
    () => "write it on one line",
  ),
  "invalid-instance-name": input<{ variable: string; value?: string | undefined; suggestion: string }>(
    "prefix or instance is not a lowercase DNS label (a secret one is not shown)",
    { variable: "instance", value: "Hack_1", suggestion: "hack-1" },
    (a) => (a.value === undefined ? `${a.variable} is not a valid name` : `${a.variable} '${a.value}' is not a valid name`),
    (a) =>
      a.value === undefined
        ? undefined
        : `${NAME_RULE}${a.suggestion === "" ? "" : `: try ${a.variable}=${a.suggestion}`}; playlabs took any name, and home=/home/<old name> keeps a playlabs home (container, network and units take the new name)`,
  ),
  "invalid-image": input(
    "image is not a docker image reference",
    { variable: "image", value: "Not An Image" },
    (a) => `${a.variable} '${a.value}' is not a valid image reference`,
    () => "write it as [registry/]repository[:tag][@sha256:digest], e.g. betagouv/mrs:master",
  ),
  "invalid-format": input<{ variable: string; value: string; format: string; why: string | undefined }>(
    "a value is not of its variable's format (host name, absolute path, home path, lftp dsn)",
    { variable: "dns", value: "a b", format: "host-name", why: undefined },
    (a) => `${a.variable} '${a.value}' is not a valid ${a.format.replace(/-/g, " ")}`,
    (a) => FORMAT_HINTS[a.format] ?? (a.why === undefined ? undefined : `${a.why}; e.g. sftp://user:password@backup.example.com/restic`),
  ),
  "invalid-value": input<{ variable: string; problem: string; expected: string | undefined }>(
    "a value the schema refuses (wrong type, out of range, not one of the choices)",
    { variable: "host_port", problem: "must be integer", expected: "a whole number" },
    (a) => `${a.variable} ${a.problem}`,
    (a) => a.expected,
  ),
  "proto-key": input(
    "a '__proto__' key anywhere in the variables",
    { variable: "env.__proto__" },
    (a) => `${a.variable}: '__proto__' is not a variable or key name`,
    () => "remove the '__proto__' key",
  ),
  "invalid-text": input(
    "a value holds a character no generated file can carry (NUL, a control character)",
    { variable: "env.KEY", problem: "holds a NUL character" },
    (a) => `${a.variable} ${a.problem}`,
    () => "remove the character; every other character is allowed and quoted safely",
  ),
  "vault-in-clear": input(
    "an Ansible Vault value in a variable that is written into the bundle in clear",
    { variable: "dns", top: "dns", secretVariables: "backup_password, lftp_dsn" },
    (a) => `${a.variable} is an Ansible Vault value, but ${a.top} is written into the bundle in clear`,
    (a) => `an encrypted value cannot be kept out of a public tarball for ${a.top}: write it unencrypted (only env values and ${a.secretVariables} stay out of the tarball)`,
  ),
  "plugin-env-template": input(
    "a plugin's env template fails to render",
    { plugin: "postgres", key: "DATABASE_URL", problem: "x is not defined" },
    (a) => `plugin ${a.plugin}: env ${a.key}: ${a.problem}`,
  ),
  "plugin-mount-relative": input(
    "a plugin's mount target is not an absolute path once rendered",
    { plugin: "postgres", target: "data" },
    (a) => `plugin ${a.plugin}: mount target '${a.target}' is not an absolute path`,
    () => "check the variable the mount target is made of",
  ),
  "plugin-secret-missing": input(
    "a plugin needs a secret given for this instance (production instances get no generated one)",
    { plugin: "django", key: "SECRET_KEY", prefix: "ybs", instance: "production" },
    (a) => `plugin ${a.plugin} needs env.${a.key} for instance '${a.instance}'`,
    (a) => `give env.${a.key}=… (better: ${a.prefix}_${a.instance}_env: {${a.key}: !vault …} in the inventory); other instances get one generated on the host`,
  ),
  "lftp-without-backup": input(
    "lftp_dsn is set while backups are off",
    {},
    () => "lftp_dsn is set but backups are off",
    () => "set backup_password=… to turn backups on, or drop lftp_dsn",
  ),
  "redirect-without-dns": input("dns_redirect is set without a dns", {}, () => "dns_redirect needs a dns to redirect to", () => "set dns=example.com"),
  "htaccess-without-dns": input("htaccess is set without a dns", {}, () => "htaccess protects the vhost, which needs a dns", () => "set dns=example.com"),
  "blue-green-without-dns": input(
    "deploy_strategy blue-green without a vhost",
    {},
    () => "deploy_strategy blue-green switches nginx's upstream from one container to the other, which needs a vhost (dns)",
    () => "set dns=example.com, or deploy_strategy=recreate",
  ),
  "blue-green-port": input(
    "deploy_strategy blue-green with host_port 65535",
    {},
    () => "deploy_strategy blue-green publishes its second slot on host_port + 1, which must be a port (at most 65535)",
    () => "set host_port to 65534 or less",
  ),
  "archive-image-digest": input(
    "--image-archive with an image named by digest",
    { image: "app@sha256:…" },
    (a) => `--image-archive images are named by tag, not by digest (${a.image})`,
    () => "give the tag the archive holds, e.g. image=app:v1",
  ),
  "archive-image-mismatch": input(
    "--image-archive does not hold the image the spec names",
    { image: "app:v2", held: "app:v1" },
    (a) => `--image-archive holds ${a.held}, not ${a.image}`,
    (a) => `save the image under its name (docker save ${a.image} -o FILE), or build with image= one of its tags`,
  ),
  "playlabs-postgres-data": input(
    "a playlabs postgres data directory plc cannot keep",
    { variable: "postgres_data_home", expected: "/home/ybs-hack/postgres/data" },
    (a) => `${a.variable} must be ${a.expected}: plc keeps the postgres data where playlabs put it by default`,
    (a) => `move the directory to ${a.expected} (or set home= so that it is), then drop ${a.variable}`,
  ),
  "htaccess-no-user": input(
    "htaccess: true but no inventory user has the role",
    { role: "ybs" },
    (a) => `htaccess is true, but no inventory user with a passwords/<name> file has the role ${a.role}`,
    (a) => `give a user roles: {${a.role}: [...]} (or roles: {superuser: [${a.role}]}) and a passwords/<name> file, or list them: htaccess: [{user: …, password: …}]`,
  ),
  "notify-slack-channel": input(
    "a Slack API token without slack_channel",
    {},
    () => "slack_token is a Slack API token, which posts only to a channel: slack_channel is missing",
    () => "set slack_channel=#deploys (a channel the token's app is in)",
  ),
  "superuser-password-line-break": input(
    "a superuser's password holds a line break",
    { name: "admin", variable: "passwords/admin" },
    (a) => `the password of superuser ${a.name} (${a.variable}) holds a line break`,
    () => "a password is one line; passwords/<name> may end with one newline",
  ),

  // ---- HTTPS ----
  "tls-without-dns": input(
    "tls is on without a dns",
    { mode: "acme" },
    (a) => `tls=${a.mode} secures the vhost, which needs a dns`,
    () => "set dns=example.com",
  ),
  "tls-acme-wildcard": input(
    "tls=acme for a wildcard name",
    { name: "*.example.com" },
    (a) => `tls=acme cannot get a certificate for ${a.name}: HTTP-01 does not validate wildcards`,
    () => "list the names themselves, or give a wildcard certificate with tls=files",
  ),
  "tls-files-missing": input(
    "tls=files without the certificate or key",
    { variable: "tls_key" },
    (a) => `tls=files needs ${a.variable}`,
    (a) => `give ${a.variable} as a secret (an Ansible Vault value in the inventory); it never enters the tarball`,
  ),
  "tls-files-unused": input(
    "a certificate or key is given while tls is not files",
    { variable: "tls_key", mode: "acme" },
    (a) => `${a.variable} is set, but tls is ${a.mode}`,
    () => "set tls=files to serve this certificate, or drop it",
  ),
  "tls-ca-roots-unused": input(
    "acme_ca_roots is given while tls is not acme",
    { mode: "off" },
    (a) => `acme_ca_roots is set, but tls is ${a.mode}`,
    () => "acme_ca_roots are the CA uacme trusts for acme_directory: set tls=acme (or letsencrypt_email), or drop it",
  ),

  // ---- the command line ----
  "invalid-json": input(
    "a JSON argument does not parse",
    { problem: "Unexpected token } in JSON at position 9" },
    (a) => `argument is not valid JSON: ${a.problem}`,
    () => `quote it for your shell: '{"env":{"KEY":"value"}}'`,
  ),
  "json-not-object": input(
    "a JSON argument is a list or a scalar",
    {},
    () => "a JSON argument must be an object of variables",
    () => `write '{"env":{"KEY":"value"}}', not a list or a scalar`,
  ),
  "invalid-variable-name": input(
    "name=value whose name is not a variable path",
    { name: "1x" },
    (a) => `'${a.name}' is not a variable name`,
    () => "write name=value or env.KEY=value",
  ),
  "invalid-operand": input(
    "an operand that is neither name=value, @host nor an image",
    { text: "Foo Bar" },
    (a) => `'${a.text}' is not name=value, @host or an image`,
    (a) => `a bare image names a repository path or a tag (betagouv/mrs:master); for an image of Docker Hub's library write image=${a.text}`,
  ),
  "invalid-target": input<{ text: string; what: string; fix?: string | undefined }>(
    "a host operand that is not @host, user@host or user@host:port",
    { text: "@bad host", what: "ship target" },
    (a) => `'${a.text}' is not a ${a.what}`,
    (a) => a.fix ?? SHIP_TARGET_HINT,
  ),
  "no-host": input(
    "ship or diff has no host: none named and the inventory group is empty",
    { command: "ship", group: "ybs-hack" },
    (a) => (a.command === "diff" ? "no host to compare with" : "no host to ship to"),
    (a) => `name hosts (@host, user@host:port) or give -i DIR whose inventory lists hosts in group ${a.group}`,
  ),
  "playlabs-action": input<{ action: string; fix?: string | undefined }>(
    "a playlabs action plc does not have",
    { action: "backup", fix: "plc ships backups with every deploy" },
    (a) => `'${a.action}' is a playlabs action plc does not have`,
    (a) => a.fix,
  ),
  "option-needs-value": input(
    "-e, -u or --limit without its value",
    { option: "-e", needs: "a value", fix: "write -e name=value or -e '{\"name\": \"value\"}'" },
    (a) => `${a.option} needs ${a.needs}`,
    (a) => a.fix,
  ),
  "variables-file": input(
    "-e @file: a variables file",
    { value: "@vars.yml" },
    (a) => `-e ${a.value}: plc does not read variables files`,
    () => "put the variables in the inventory (group_vars/all/<file>.yml, -i DIR), or give them as name=value",
  ),
  "ansible-option": input<{ option: string; fix?: string | undefined }>(
    "an ansible-playbook option plc has no use for",
    { option: "--check", fix: "plc check -i DIR … checks without a host" },
    (a) => `${a.option} is an ansible-playbook option; plc has no use for it`,
    (a) => a.fix,
  ),
  "ssh-user-twice": input<{ other?: string | undefined }>(
    "the ssh user given by -u twice, or by -u and user@host",
    { other: "deploy@web1" },
    (a) => (a.other === undefined ? "the ssh user is given twice" : `the ssh user is given twice: -u and ${a.other}`),
    (a) => (a.other === undefined ? "give -u NAME once (or user@host)" : "give either -u NAME or user@host"),
  ),
  "init-operand": input(
    "plc init given a word other than prefix= or instance=",
    { word: "image=x" },
    (a) => `'${a.word}' is not a name plc init takes`,
    () => "give prefix=NAME and instance=NAME; set other variables in group_vars/all/project.yml",
  ),
  "init-invalid-name": input<{ shown: string; suggestion?: string | undefined }>(
    "plc init given a prefix or instance that is not a lowercase DNS label",
    { shown: "prefix=Foo", suggestion: "prefix=foo" },
    (a) => `${a.shown} is not a valid name`,
    (a) => `${NAME_RULE}${a.suggestion === undefined ? "" : `: try ${a.suggestion}`}`,
  ),
  "init-dir-is-file": input("plc init DIR names a file", { dir: "inventory" }, (a) => `${a.dir} is a file, not a directory`),
  "init-dir-not-empty": input(
    "plc init DIR is not empty",
    { dir: "inventory" },
    (a) => `${a.dir} is not empty; plc init writes only into a new or empty directory`,
    () => "give a new directory name; an existing inventory needs no init: plc check -i DIR prefix=… instance=…",
  ),
  "render-needs-dir": input("plc render without -o DIR", {}, () => "plc render needs a directory to write", () => "add -o DIR (a new or empty directory)"),
  "out-dir-not-dir": input<{ flag: string; dir: string; isRender: boolean }>(
    "-o names something that is not a directory",
    { flag: "-o", dir: "dist", isRender: false },
    (a) => `${a.flag} ${a.dir} is not a directory`,
    (a) => (a.isRender ? RENDER_DIR_HINT : "give a directory (it is created if missing)"),
  ),
  "render-dir-not-empty": input(
    "plc render -o DIR names a directory that holds something else than an earlier render",
    { dir: "out" },
    (a) => `${a.dir} is not empty and holds no earlier render`,
    () => RENDER_DIR_HINT,
  ),
  "bundle-missing": input<{ bundle: string; isShip?: boolean | undefined }>(
    "the BUNDLE operand names no file",
    { bundle: "dist/ybs-hack-0123.tar.gz", isShip: true },
    (a) => (a.isShip === true ? `bundle ${a.bundle} does not exist` : `${a.bundle} is not a plc bundle: no such file`),
    (a) => (a.isShip === true ? "give the path plc build printed (dist/<prefix>-<instance>-<id>.tar.gz), or variables to build one now" : BUNDLE_HINT),
  ),
  "secrets-without-bundle": input(
    "--secrets without a built BUNDLE",
    {},
    () => "--secrets goes with a built BUNDLE",
    () => "when plc builds, it sends the secrets it built",
  ),
  "secrets-unreadable": input(
    "--secrets names a file plc cannot read",
    { file: "dist/x.secrets.env" },
    (a) => `cannot read the secrets file ${a.file}`,
    () => "give the *.secrets.env plc build wrote beside the bundle",
  ),
  "invalid-count": input<{ option: string; value: string; min: number }>(
    "--parallel or --max-failures is not a whole number",
    { option: "--parallel", value: "x", min: 1 },
    (a) => `${a.option} ${a.value} is not a number of hosts`,
    (a) => `give a whole number, ${String(a.min)} or more`,
  ),
  "rollout-without-batch": input(
    "--max-failures or --no-canary without --batch",
    {},
    () => "--max-failures and --no-canary belong to a rollout, which --batch starts",
    () => "add --batch N (or N%)",
  ),
  "invalid-batch": input(
    "--batch is neither a number nor a percentage",
    { value: "many" },
    (a) => `--batch ${a.value} is neither a number of hosts nor a percentage`,
    () => "write --batch 5 or --batch 25%",
  ),
  "invalid-ssh-option": input(
    "-o is not an ssh KEY=VALUE option",
    { option: "ConnectTimeout" },
    (a) => `-o ${a.option} is not an ssh option`,
    () => "write KEY=VALUE, as for ssh -o (ConnectTimeout=10)",
  ),
  "invalid-jump": input(
    "-J is not a jump host",
    { jump: "a b" },
    (a) => `-J ${a.jump} is not a jump host`,
    () => "write [user@]host[:port]; for a chain of jumps, put ProxyJump in an ssh config file given with -F",
  ),
  "invalid-ssh-user": input(
    "-u is not a login name",
    { user: "-oProxy" },
    (a) => `-u ${a.user} is not a user name`,
    () => "give a login name (letters, digits, '.', '_', '-')",
  ),
  "ssh-config-missing": input("-F names no file", { file: "ssh_config" }, (a) => `ssh config file ${a.file} does not exist`),
  "invalid-host-address": input(
    "an inventory host whose ansible_host or ansible_user ssh would read as an option",
    { host: "web1", what: "-oProxyCommand=x", isUser: false },
    (a) => `host ${a.host}: '${a.what}' is not an ssh ${a.isUser ? "login name" : "address"}`,
    () => "ansible_host is a host name or an IP address, ansible_user a login name; ssh would read one starting with '-' as an option",
  ),
  "invalid-host-port": input(
    "an inventory host whose ansible_port is not a port",
    { host: "web1", variable: "ansible_port", value: "x" },
    (a) => `host ${a.host}: ${a.variable} '${a.value}' is not a port`,
    () => "a port is a number from 1 to 65535",
  ),

  // ---- the inventory and files ----
  "missing-inventory": input(
    "-i names nothing",
    { source: "inventory" },
    (a) => `inventory '${a.source}' does not exist`,
    () => "give an inventory directory, an inventory file or a comma list of hosts (web1,web2,); plc init DIR makes one",
  ),
  "missing-plugins-dir": input(
    "--plugins-dir names nothing",
    { dir: "plugins" },
    (a) => `plugins directory '${a.dir}' does not exist`,
    () => "give a directory holding <name>/plugin.yml folders",
  ),
  "invalid-yaml": input(
    "a YAML file does not parse",
    { problem: "Nested mappings are not allowed in compact mappings" },
    (a) => `invalid YAML: ${a.problem}`,
    () => "fix the YAML syntax at this line (indentation, quotes, a missing ':')",
  ),
  "inventory-not-map": input(
    "a YAML inventory whose top level is not a map of groups",
    { file: "inventory/hosts.yml" },
    (a) => `${a.file} is not a YAML inventory (its top level must be a map of groups)`,
    () => "write `all: {hosts: {web1: {}}, children: {…}}`",
  ),
  "group-not-map": input(
    "an inventory group that is not a map of hosts, vars and children",
    { group: "web" },
    (a) => `group '${a.group}' must be a map of hosts, vars and children`,
    () => "write `<group>: {hosts: {…}, vars: {…}, children: {…}}`",
  ),
  "yaml-alias-bomb": input(
    "YAML aliases that expand past plc's limit",
    { file: "inventory/group_vars/all.yml", limit: 10000 },
    (a) => `${a.file}: aliases expand to more than ${String(a.limit)} nodes`,
    () => "an alias of an alias of … multiplies; write the values out, or use fewer nested aliases",
  ),
  "ini-section": input(
    "an INI inventory section type other than hosts, vars or children",
    { file: "hosts", line: 3, kind: "foo" },
    (a) => `${a.file}:${String(a.line)}: section type '${a.kind}' is not hosts, vars or children`,
  ),
  "ini-vars-line": input(
    "a [group:vars] line that is not key=value",
    { file: "hosts", line: 3, text: "dns" },
    (a) => `${a.file}:${String(a.line)}: '${a.text}' is not key=value`,
    () => "a [group:vars] line is name=value",
  ),
  "ini-host-var": input(
    "a word after an INI host that is not key=value",
    { file: "hosts", line: 3, word: "port", host: "web1" },
    (a) => `${a.file}:${String(a.line)}: '${a.word}' after host ${a.host} is not key=value`,
    () => "host variables on an INI host line are written name=value",
  ),
  "not-utf8": input("a file that is not UTF-8", { file: "inventory/hosts.yml" }, (a) => `${a.file} is not valid UTF-8`, () => "save the file as UTF-8"),
  "unreadable-file": input<{ file: string; reason: string; isPermission: boolean }>(
    "an inventory file plc cannot read (dangling link, loop, permission, directory)",
    { file: "inventory/group_vars/all.yml", reason: "cannot be read: permission denied", isPermission: true },
    (a) => `${a.file} ${a.reason}`,
    (a) => (a.isPermission ? "make it readable by the user running plc" : "fix or remove it"),
  ),
  "not-regular-file": input(
    "an inventory entry that is a device, socket or fifo",
    { file: "inventory/group_vars/fifo", what: "a fifo" },
    (a) => `${a.file} is ${a.what}, not a regular file`,
    () => "an inventory holds regular YAML files only",
  ),
  "file-too-big": input(
    "an inventory file past plc's size limit",
    { file: "inventory/hosts.yml", size: 99999999, limit: 16777216 },
    (a) => `${a.file} is ${String(a.size)} bytes, more than the ${String(a.limit)} an inventory file may have`,
    () => "split it, or check it is the file you meant",
  ),
  "file-grew": input("an inventory file that grew while plc read it", { file: "inventory/hosts.yml", limit: 16777216 }, (a) => `${a.file} grew past ${String(a.limit)} bytes while read`),
  "image-archive-invalid": input(
    "--image-archive is not a docker save archive",
    { file: "app.tar", why: "it has no manifest.json" },
    (a) => `${a.file} is not a docker image archive: ${a.why}`,
    () => "make it with: docker save IMAGE -o app.tar",
  ),

  // ---- vault ----
  "vault-password-unreadable": input(
    "--vault-password-file names a file plc cannot read",
    { file: "vault.txt" },
    (a) => `cannot read vault password file '${a.file}'`,
    () => "give a readable file holding the vault password",
  ),
  "vault-password-invalid": input(
    "the vault password file holds no usable password (empty, or not one line)",
    { file: "vault.txt", problem: "it is empty" },
    (a) => `vault password file '${a.file}': ${a.problem}`,
    () => "write the vault password on the file's first line",
  ),
  "vault-decrypt": input<{ variable?: string | undefined; problem: string; isPassword: boolean }>(
    "a vault value or file that does not decrypt",
    { variable: "env.SECRET_KEY", problem: "wrong password", isPassword: true },
    (a) => `cannot decrypt ${a.variable ?? "this vault file"}: ${a.problem}`,
    (a) => (a.isPassword ? "give the vault password with --vault-password-file FILE (or ANSIBLE_VAULT_PASSWORD_FILE)" : "re-encrypt the value with ansible-vault encrypt_string"),
  ),
  "vault-ssh-key": input(
    "a vaulted ssh key that does not decrypt",
    { file: "inventory/ssh_key", problem: "wrong password" },
    (a) => `cannot decrypt the ssh key ${a.file}: ${a.problem}`,
    () => "give the vault password with --vault-password-file FILE (or $ANSIBLE_VAULT_PASSWORD_FILE)",
  ),
  "htaccess-password": input(
    "a passwords/<name> file for htaccess that cannot be read",
    { user: "alice", problem: "it is vaulted and no vault password was given" },
    (a) => `cannot read the htaccess password of ${a.user} (passwords/${a.user}): ${a.problem}`,
    () => VAULT_PASSWORD_HINT,
  ),
  "superuser-password": input(
    "a passwords/<name> file of a superuser that cannot be read",
    { name: "admin", problem: "it is vaulted and no vault password was given" },
    (a) => `cannot read the password of superuser ${a.name} (passwords/${a.name}): ${a.problem}`,
    () => `${VAULT_PASSWORD_HINT}, or re-encrypt the file with ansible-vault encrypt`,
  ),

  // ---- Jinja and templates ----
  "variable-cycle": input(
    "inventory variables whose templates refer to each other in a cycle",
    { cycle: "a -> b -> a" },
    (a) => `variables refer to each other in a cycle: ${a.cycle}`,
    () => "one of them must hold a value, not a template reading the others",
  ),
  "jinja-syntax": input(
    "a Jinja template in the inventory that does not parse",
    { variable: "dns", template: "{{ name ", problem: "expected variable end" },
    (a) => `${a.variable}: template syntax error: ${a.problem} in ${JSON.stringify(a.template)}`,
    () => "check the {{ }} and {% %} pairs and the quotes inside them",
  ),
  "jinja-undefined": input<{ variable: string; template: string; names: string[]; facts: string[] }>(
    "a Jinja template reading names the inventory does not define (a host fact is unknown at build time)",
    { variable: "env.X", template: "{{ nowhere }}", names: ["nowhere"], facts: [] },
    (a) => `${a.variable}: '${a.names.join("', '")}' ${a.names.length === 1 ? "is" : "are"} undefined in ${JSON.stringify(a.template)}`,
    (a) =>
      a.facts.length > 0
        ? `${a.facts.join(", ")} ${a.facts.length === 1 ? "is a fact" : "are facts"} of the host, unknown at build time: give the value in the inventory or on the command line`
        : `define ${a.names[0] ?? "it"} in the inventory or on the command line (${a.names[0] ?? "name"}=value), or write {{ ${a.names[0] ?? "name"} | default("…") }}`,
  ),
  "jinja-unknown-filter": input(
    "a Jinja filter plc does not have",
    { variable: "dns", template: "{{ name | bogus }}", filter: "bogus", known: "default, lower, upper" },
    (a) => `${a.variable}: unknown filter '${a.filter}' in ${JSON.stringify(a.template)}`,
    (a) => `plc knows the filters ${a.known}`,
  ),
  "jinja-self-reference": input(
    "a variable whose template reads itself",
    { variable: "dns", template: "{{ dns }}", name: "dns" },
    (a) => `${a.variable}: ${a.name} refers to itself in ${JSON.stringify(a.template)}`,
    () => "a variable cannot be defined from its own value in Ansible (recursive loop)",
  ),
  "jinja-filter": input<{ variable: string; template: string; problem: string; fix: string }>(
    "a Jinja filter or lookup that refused its input (a lookup plc does not evaluate, a vaulted_read of a missing file); the filter says why",
    { variable: "env.X", template: "{{ lookup('pipe', 'date') }}", problem: "lookup('pipe') runs on the control machine", fix: "give the value itself" },
    (a) => `${a.variable}: ${a.problem} in ${JSON.stringify(a.template)}`,
    (a) => a.fix,
  ),
  "jinja-error": input(
    "a Jinja template that fails to evaluate for another reason (nunjucks says why)",
    { variable: "dns", template: "{{ 1 / none }}", problem: "unable to call `none`" },
    (a) => `${a.variable}: ${a.problem} in ${JSON.stringify(a.template)}`,
    () => "fix the expression",
  ),
  // The template lint (render/template-lint.ts): built-in templates and every plugin's, as they load.
  "lint-unclosed-tag": lint("an EJS tag that does not close", {}, () => "unclosed EJS tag"),
  "lint-escaped-output": lint("an <%= tag, which escapes for HTML", {}, () => "<%= escapes for HTML, which is not quoting", () => "print through a quoting helper with <%-"),
  "lint-scriptlet-output": lint(
    "a scriptlet that writes output itself",
    {},
    () => "a scriptlet writes output itself (__append/__output), past every quoting helper",
    () => "print values with <%- helper(value) %>",
  ),
  "lint-set-x": lint("set -x or -v in a template", {}, () => "set -x or -v prints every command after expansion, secrets included"),
  "lint-include-name": lint("include() of a name that is not a literal file below the template's folder", {}, () => "include() takes the literal name of a file in the template's own folder or below it"),
  "lint-unclosed-call": lint("a helper call that does not close", { helper: "sh" }, (a) => `the ${a.helper}( call does not close`),
  "lint-concatenated": lint(
    "something printed with a helper's output in the same tag",
    { helper: "sh" },
    (a) => `something is concatenated to the output of ${a.helper}(): the helper's output must be the whole value printed`,
  ),
  "lint-raw-value": lint("an output tag that prints a value through no quoting helper", {}, () => "a raw value: it does not go through a quoting helper"),
  "lint-include-alone": lint<{ where: "on its line" | "at the start of a line" }>("an include() that shares its line", { where: "on its line" }, (a) => `include() stands alone ${a.where}`),
  "lint-env-line": lint("an env file line that is not one shAssign call", {}, () => "an env file line is one shAssign(KEY, value) call and nothing else"),
  "lint-list-line": lint("a list file line that is not one sh(name) call", {}, () => "each line is one sh(name) call and nothing else"),
  "lint-wrong-helper": lint(
    "a helper that is not the quoting of the file's context",
    { helper: "sh", wanted: "unitValue" },
    (a) => `${a.helper}() is not the quoting of this context: use ${a.wanted}()`,
  ),
  "lint-quoted-output": lint(
    "a helper's output inside shell quotes or an expansion",
    { where: 'inside "…", where its quotes are literal characters and $(…) still runs' },
    (a) => `helper output ${a.where}`,
    () => "close the quotes around it: the helper's output is a word of its own",
  ),
  "lint-not-shell-quoting": lint(
    "another language's helper in shell",
    { helper: "py" },
    (a) => `${a.helper}() is not shell quoting: use sh() (or ${a.helper}() only inside a quoted heredoc of its language)`,
  ),
  "lint-glued-before": lint(
    "a helper's output glued to text before it",
    { word: "\"--name=<%- … %>\"" },
    (a) => `helper output glued to ${a.word} before it`,
    () => "make the whole word one helper call: <%- sh(`prefix${value}`) %>",
  ),
  "lint-glued-next-tag": lint("a helper's output glued to the next tag", {}, () => "helper output glued to the next tag", () => "make the whole word one helper call"),
  "lint-glued-after": lint(
    "a helper's output glued to text after it",
    { word: "\".conf\"" },
    (a) => `helper output glued to ${a.word} after it`,
    () => "make the whole word one helper call: <%- sh(`${value}suffix`) %>",
  ),
  "lint-eval": lint("a helper's output as an argument of eval", {}, () => "helper output as an argument of eval, which runs it as code"),
  "lint-sh-c": lint("a helper's output as the code string of sh -c", {}, () => "helper output as the code string of a shell's -c, which runs it as code"),
  "lint-unquoted-heredoc": lint(
    "a helper's output inside an unquoted heredoc",
    { delimiter: "EOF" },
    (a) => `helper output inside the unquoted heredoc <<${a.delimiter}, whose body expands $(…)`,
    () => "quote the delimiter (<<'EOF') or pass the value some other way",
  ),
  "lint-heredoc-language": lint(
    "a helper's output inside a heredoc whose language has no helper",
    { delimiter: "SQL" },
    (a) => `helper output inside the heredoc <<'${a.delimiter}', whose language has no helper`,
    () => "name the delimiter after its language (PY) or pass the value some other way",
  ),
  "lint-heredoc-helper": lint(
    "a helper inside a heredoc of another language",
    { helper: "sh", delimiter: "PY", language: "py" },
    (a) => `${a.helper}() inside the ${a.delimiter} heredoc: only ${a.language}() quotes for it`,
  ),
  "lint-comment": lint(
    "a helper's output in a shell comment",
    {},
    () => "helper output in a comment: a newline in the value would end the comment and run the rest",
    () => "leave values out of comments",
  ),
  "template-render": input(
    "a template that throws while rendering",
    { file: "plugins/x/hooks/deploy.pre.sh.ejs", problem: "y is not defined" },
    (a) => `cannot render ${a.file}: ${a.problem}`,
    () => "fix the template; values reach output only through a quoting helper",
  ),
  "secrets-template-line": input(
    "a plugin's secrets template with a line that is not one shAssign call",
    { file: "plugins/x/secrets.env.ejs" },
    (a) => `${a.file}: every line must be a shAssign(KEY, value) call`,
  ),

  // ---- plugins ----
  "unknown-plugin": input<{ name: string; suggestion?: string | undefined; available: string }>(
    "-p names a plugin that does not exist",
    { name: "postgress", suggestion: "postgres", available: "django, postgres" },
    (a) => `unknown plugin '${a.name}'`,
    (a) => `${didYouMean(a.suggestion)}available: ${a.available}`,
  ),
  "plugin-requires": input(
    "a plugin requires another one that is not active",
    { plugin: "django", required: "postgres", fix: "-p postgres,django" },
    (a) => `plugin '${a.plugin}' requires '${a.required}', which is not active`,
    (a) => `add it: ${a.fix}`,
  ),
  "plugin-cycle": input(
    "plugins whose after/requires form a cycle",
    { cycle: "a -> b -> a" },
    (a) => `plugin order has a cycle: ${a.cycle}`,
    () => "remove one of these 'after'/'requires' entries from the plugins' plugin.yml",
  ),
  "plugin-yaml": input("a plugin.yml that does not parse", { problem: "bad indentation" }, (a) => `invalid YAML in plugin manifest: ${a.problem}`),
  "plugin-folder-name": input(
    "a plugin whose folder is named differently from its plugin.yml name",
    { plugin: "postgres" },
    (a) => `plugin '${a.plugin}' lives in a folder named differently`,
    () => "name the folder after the plugin",
  ),
  "plugin-manifest": input(
    "a plugin.yml that schema/plugin.schema.json refuses",
    { where: "field 'env'", problem: "must be object" },
    (a) => `plugin manifest ${a.where}: ${a.problem}`,
    () => "see schema/plugin.schema.json for the fields a plugin.yml may have",
  ),

  // ---- bundles ----
  "not-a-tarball": failure(
    "BUNDLE is not a gzip tarball",
    { bundle: "x.tar.gz", why: "incorrect header check" },
    (a) => `${a.bundle} is not a bundle tarball: ${a.why}`,
    () => BUNDLE_HINT,
  ),
  "not-a-bundle": failure(
    "BUNDLE is a tarball but not plc's (no single root folder, no install.sh)",
    { bundle: "x.tar.gz", why: "x/install.sh is missing" },
    (a) => `${a.bundle} is not a plc bundle: ${a.why}`,
    () => "give a tarball written by plc build",
  ),
  // plc verify (verify.ts): a bundle whose structure, MANIFEST.json or SHA256SUMS is not what plc writes.
  "bundle-roots": failure("a tarball without one top-level folder", { count: 2 }, (a) => `the tarball has ${String(a.count)} top-level entries, a bundle has one folder`),
  "bundle-path-escapes": failure("an entry whose path leaves the bundle", { path: "x/../../etc/passwd" }, (a) => `${a.path}: path escapes the bundle`),
  "bundle-duplicate-entry": failure(
    "a path twice in the tarball",
    { path: "x/install.sh" },
    (a) => `${a.path} appears twice in the tarball`,
    () => "the later copy would replace the checked one on unpacking",
  ),
  "bundle-entry-type": failure(
    "a link, device or fifo in the tarball",
    { path: "x/link", type: "SymbolicLink" },
    (a) => `${a.path}: a ${a.type} has no place in a bundle`,
    () => "a bundle holds only regular files and directories",
  ),
  "bundle-nested-sums": failure("a SHA256SUMS below the root", { path: "x/a/SHA256SUMS" }, (a) => `${a.path}: a nested SHA256SUMS has no place in a bundle`),
  "bundle-owners": failure(
    "entries not owned by 0, as plc writes them",
    { count: 1, owners: "x/install.sh user:group" },
    (a) => `${String(a.count)} entries are not owned by 0 in the tarball, as plc writes them (${a.owners})`,
    () => "the tarball was repacked or edited: unpacked as root, its owners would own the release",
  ),
  "bundle-listing-missing": failure<{ file: "SHA256SUMS" | "MANIFEST.json" }>("SHA256SUMS or MANIFEST.json is missing", { file: "SHA256SUMS" }, (a) => `${a.file} is missing`),
  "bundle-listing-mode": failure("SHA256SUMS or MANIFEST.json with another mode than 0644", { path: "SHA256SUMS", mode: "0755" }, (a) => `${a.path} has mode ${a.mode} in the tarball, plc writes 0644`),
  "bundle-listing-size": failure("SHA256SUMS or MANIFEST.json too big to be plc's", { path: "SHA256SUMS", size: 99999999 }, (a) => `${a.path} is ${String(a.size)} bytes, too big to be plc's`),
  "bundle-sums-line": failure("a SHA256SUMS line that is not a sum and a path", { line: "deadbeef x" }, (a) => `SHA256SUMS: malformed line '${a.line}'`),
  "bundle-file-missing": failure("a file SHA256SUMS or MANIFEST.json lists is not in the tarball", { path: "x/install.sh" }, (a) => `${a.path} is missing`, () => "the tarball was truncated or edited"),
  "bundle-file-modified": failure(
    "a file whose sha256 is not the one SHA256SUMS lists",
    { path: "x/install.sh" },
    (a) => `${a.path} was modified (sha256 mismatch)`,
    () => "rebuild it with plc build; never edit a bundle",
  ),
  "bundle-file-unlisted": failure("a file SHA256SUMS does not list", { path: "x/extra" }, (a) => `${a.path} is not listed in SHA256SUMS`),
  "bundle-manifest-invalid": failure("a MANIFEST.json that is not plc's", { problem: "not JSON" }, (a) => `MANIFEST.json: ${a.problem}`),
  "bundle-manifest-duplicate": failure(
    "a path MANIFEST.json lists twice",
    { path: "x/install.sh" },
    (a) => `MANIFEST.json lists ${a.path} twice`,
    () => "a bundle holds each path once; rebuild it with plc build",
  ),
  "bundle-manifest-differs": failure("a file whose sha256 is not the one MANIFEST.json lists", { path: "x/install.sh" }, (a) => `${a.path} differs from MANIFEST.json`),
  "bundle-manifest-mode": failure(
    "a file whose mode is not the one MANIFEST.json lists",
    { path: "x/install.sh", mode: "0644", listed: "0755" },
    (a) => `${a.path} has mode ${a.mode} in the tarball, MANIFEST.json says ${a.listed}`,
  ),
  "bundle-file-extra": failure("a file MANIFEST.json does not list", { path: "x/extra" }, (a) => `${a.path} is not in MANIFEST.json`, () => "the tarball was repacked with a file plc did not build"),
  "bundle-manifest-layout": failure("a MANIFEST.json not laid out as plc writes it", {}, () => "MANIFEST.json is not laid out as plc writes it", () => BUNDLE_EDITED),
  "bundle-sums-layout": failure("a SHA256SUMS that is not the one plc writes for MANIFEST.json", {}, () => "SHA256SUMS is not the one plc writes for MANIFEST.json", () => BUNDLE_EDITED),
  "bundle-id": failure("a bundle whose id does not match its files", {}, () => "the bundle id does not match its files", () => BUNDLE_EDITED),
  "bundle-refused": failure(
    "plc ship refused a bundle that fails plc verify",
    { bundle: "dist/x.tar.gz" },
    (a) => `${a.bundle} fails plc verify; nothing was sent`,
    () => "rebuild it with plc build; never edit a bundle",
  ),
  "cannot-create-dir": failure(
    "plc cannot create the output directory",
    { dir: "dist", reason: "permission denied" },
    (a) => `cannot create ${a.dir}: ${a.reason}`,
    () => "give a directory you can write to",
  ),
  "cannot-write": failure<{ path: string; reason: string; fix?: string | undefined; flag: string }>(
    "plc cannot write an output file or directory",
    { path: "dist/x.tar.gz", reason: "permission denied", flag: "-o", fix: "nothing was written; give a directory you can write to (-o DIR)" },
    (a) => `cannot write ${a.path}: ${a.reason}`,
    (a) => a.fix,
  ),

  // ---- ship and diff ----
  "ssh-missing": failure(
    "no ssh client to run",
    { problem: "spawn ssh ENOENT" },
    (a) => `cannot run ssh: ${a.problem}`,
    () => "install the OpenSSH client (apt-get install openssh-client)",
  ),
  "host-key-changed": failure(
    "the host key is not the one known_hosts holds",
    { host: "web1", keyName: "web1" },
    (a) => `${a.host}: the host key of ${a.keyName} is not the one known_hosts holds; nothing was sent`,
    (a) => `if the host was reinstalled, check its new key with its administrator, then: ssh-keygen -R '${a.keyName}' and accept the new key; otherwise do not ship (someone may be in the middle)`,
  ),
  "host-key-unknown": failure(
    "the host key is not in known_hosts",
    { host: "web1", keyName: "web1", scan: "ssh-keyscan web1 >> ~/.ssh/known_hosts" },
    (a) => `${a.host}: the host key of ${a.keyName} is unknown; nothing was sent`,
    (a) => `check the key's fingerprint with the host's administrator, then accept it: ${a.scan} (or connect once with ssh and answer yes)`,
  ),
  "ssh-login": failure(
    "ssh reached the host but could not log in",
    { host: "web1", said: "Permission denied (publickey).", address: "web1" },
    (a) => `${a.host}: ssh could not log in: ${a.said}`,
    (a) => `check the user (user@${a.address}) and that your key is offered (ssh-add -l, IdentityFile in ssh config, or -o IdentityFile=FILE)`,
  ),
  "ssh-connect": failure(
    "ssh could not reach the host",
    { host: "web1", said: "Connection refused", command: "ssh web1 true" },
    (a) => `${a.host}: ssh could not connect: ${a.said}; nothing was sent`,
    (a) => `try: ${a.command}`,
  ),
  "ssh-signal": failure("ssh was stopped by a signal", { host: "web1", signal: "SIGTERM" }, (a) => `${a.host}: ssh was stopped by ${a.signal}`),
  "receiver-error": failure(
    "plc's receiver on the host refused or failed (sudo, disk, checksums)",
    { host: "web1", problem: "sudo asks user deploy for a password", isSudo: true },
    (a) => `${a.host}: ${a.problem}`,
    (a) => (a.isSudo ? "plc ships through `sudo -n`: it never types a password" : undefined),
  ),
  "no-install-report": failure(
    "ssh exited 0 but the host never ran plc's receiver",
    { host: "web1" },
    (a) => `${a.host}: ssh exited 0 but the host never reported an install; nothing is known to be deployed`,
    () => "the host ran another command than plc's receiver: look for command=\"…\" in its authorized_keys or a ForceCommand in its sshd_config",
  ),
  "transfer-cut": failure(
    "the connection broke while the bundle was sent",
    { host: "web1", said: "ssh exit 255" },
    (a) => `${a.host}: the connection was cut during the transfer (${a.said}); nothing was installed, and the receiver removes what it had written`,
    () => "ship again: install.sh runs only once the whole stream arrived and matched its checksums",
  ),
  "install-detached": failure(
    "the connection broke while install.sh ran (it goes on on the host)",
    { host: "web1", said: "ssh exit 255" },
    (a) => `${a.host}: the connection was lost while install.sh ran (${a.said})`,
    () => "install.sh goes on detached from the connection, so the deploy finishes or brings back what ran before on its own; its output is in <home>/.deploys/ on the host",
  ),
  "install-failed": failure(
    "install.sh exited non-zero on the host",
    { host: "web1", status: "3" },
    (a) => `${a.host}: install.sh failed (exit ${a.status})`,
    () => "install.sh's output, on plc ship's stdout, says what runs now: what ran before, or the new release when only a step after the switch failed",
  ),
  "hosts-failed": failure(
    "some hosts of a ship failed",
    { failed: 1, total: 3, hosts: "web2" },
    (a) => `${String(a.failed)} of ${String(a.total)} hosts failed: ${a.hosts}`,
  ),
  "rollout-stopped": failure(
    "a rollout stopped after too many failures",
    { count: 2, hosts: "web3, web4" },
    (a) => `the rollout stopped: ${String(a.count)} hosts not reached: ${a.hosts}`,
    () => "the hosts that failed brought back what ran before; fix the release, then ship again (or raise --max-failures)",
  ),
  "installed-manifest": failure(
    "plc diff found an installed MANIFEST.json that is not plc's",
    { host: "web1", file: "/home/ybs-hack/current/MANIFEST.json", problem: "not JSON" },
    (a) => `${a.host}: ${a.file} is not a plc manifest: ${a.problem}`,
    () => "the release there was not installed by plc; plc ship replaces it",
  ),
  "installed-manifest-too-big": failure(
    "plc diff found an installed MANIFEST.json past its size limit",
    { host: "web1", limit: 1048576 },
    (a) => `${a.host}: the installed MANIFEST.json is larger than ${String(a.limit)} bytes`,
  ),
  "diff-remote-error": failure(
    "the manifest reader on the host refused or failed (sudo)",
    { host: "web1", problem: "sudo asks user deploy for a password", isSudo: true },
    (a) => `${a.host}: ${a.problem}`,
    (a) => (a.isSudo ? "plc diff reads the release through `sudo -n`, as plc ship installs it: it never types a password" : undefined),
  ),
  "diff-connection-lost": failure("the connection broke while plc diff read the manifest", { host: "web1", status: "255" }, (a) => `${a.host}: the connection was lost (ssh exit ${a.status})`, () => "compare again"),
  "diff-read-failed": failure("reading the installed manifest failed", { host: "web1", status: "1" }, (a) => `${a.host}: reading the installed manifest failed (exit ${a.status})`, () => "compare again"),

  // ---- host preparation ----
  "users-format": input(
    "an inventory users entry not in playlabs' format",
    { variable: "users", fix: "each user is a map with name, roles, …" },
    (a) => `${a.variable} is not in playlabs' users format`,
    (a) => a.fix,
  ),
  "invalid-login-name": input(
    "a login or group name useradd would refuse",
    { variable: "users[0].name", value: "\"Bob\"" },
    (a) => `${a.variable}: ${a.value} is not a login or group name`,
    () => "lowercase letters, digits, '_' and '-', starting with a letter or '_', at most 32",
  ),
  "invalid-sudo-command": input(
    "a users sudo entry that is not an absolute command",
    { user: "alice", value: "\"backup\"" },
    (a) => `users[${a.user}].sudo: ${a.value} is not a command`,
    () => "each entry is an absolute command path, with arguments or sudoers wildcards: /home/*/backup.sh",
  ),
  "invalid-public-key": input(
    "a keys/<name>.pub line that is not an ssh public key",
    { file: "keys/alice.pub", line: 2 },
    (a) => `${a.file}: line ${String(a.line)} is not an ssh public key`,
    () => "one public key per line, as ssh-keygen writes it (ssh-ed25519 AAAA… comment); no options",
  ),
  "no-role": input("--prep or install with no role", { roles: "ssh,docker" }, () => "no role given", (a) => `give roles, comma-separated: ${a.roles}`),
  "unknown-role": input<{ name: string; suggestion?: string | undefined; roles: string }>(
    "a host preparation role that does not exist",
    { name: "dokcer", suggestion: "docker", roles: "ssh, docker" },
    (a) => `unknown role ${a.name}`,
    (a) => `${a.suggestion === undefined ? "" : `did you mean ${a.suggestion}? `}roles: ${a.roles}`,
  ),
  "invalid-login-user": input(
    "plc init's login user is root or not a login name",
    { user: "root" },
    (a) => `${a.user} cannot be the login user`,
    () => "give -u NAME: lowercase letters, digits, '_' and '-', not root",
  ),
  "no-public-key": input<{ file?: string | undefined }>(
    "plc init finds no public key to log in with",
    { file: undefined },
    (a) => (a.file === undefined ? "no public key found in ~/.ssh" : `${a.file} does not exist`),
    () => "give --key FILE.pub: the key you will log in with (ssh-keygen -t ed25519 makes one)",
  ),
  "empty-key-file": input("a public key file that holds no key", { file: "id.pub" }, (a) => `${a.file} holds no key`),
  "no-signer": input(
    "the deploy role without --signer",
    {},
    () => "the deploy role needs the public key that signs bundles",
    () => "give --signer FILE.pub (the .pub of the key plc sign --key uses)",
  ),
  "file-missing": input<{ file: string; what?: string | undefined; fix?: string | undefined }>(
    "a file an option names does not exist (--deploy-key, --key, --signer, BUNDLE)",
    { file: "deploy.pub", what: undefined, fix: undefined },
    (a) => `${a.what === undefined ? "" : `${a.what} `}${a.file} does not exist`,
    (a) => a.fix,
  ),
  "no-deploy-key": input(
    "the deploy user has no key",
    { user: "deploy" },
    (a) => `no key for the deploy user ${a.user}`,
    (a) => `put it in the inventory's keys/${a.user}.pub (playlabs' layout) or give --deploy-key FILE.pub`,
  ),
  "invalid-ssh-port": input("--ssh-port is not a port", { value: "x" }, (a) => `--ssh-port ${a.value} is not a port`, () => "1 to 65535"),
  "invalid-host": input("a host preparation target that is not a host", { text: "x y" }, (a) => `'${a.text}' is not a host`, () => SHIP_TARGET_HINT),
  "install-init-role": input(
    "plc install given the init role",
    {},
    () => "init is plc init user@host: it logs in twice to check the key before password login goes off",
    () => "run plc init user@host first, then plc install the other roles",
  ),
  "offline-without-prep": input(
    "--offline without --prep",
    {},
    () => "--offline is for host preparation bundles",
    () => "plc build --prep ssh,docker,firewall,nginx --offline",
  ),
  "offline-tool": input(
    "--offline without apt or dpkg-dev on this machine",
    { tool: "dpkg-scanpackages" },
    (a) => `--offline needs ${a.tool} on this machine`,
    () => "apt-get install apt dpkg-dev (build on Debian or Ubuntu, the release you target)",
  ),
  "prep-variables": input(
    "plc build --prep given variables",
    { text: "image=x" },
    (a) => `plc build --prep takes no variables: ${a.text}`,
    () => "the users come from -i DIR; the project variables are for deploy bundles",
  ),
  "apt-failed": failure<{ step: string; problem: string; isDownload: boolean }>(
    "apt-get or dpkg-scanpackages failed while --offline gathered packages",
    { step: "apt-get install --download-only docker.io", problem: "E: Unable to locate package", isDownload: true },
    (a) => `${a.step} failed: ${a.problem}`,
    (a) => (a.isDownload ? "the packages come from this machine's apt sources: run apt-get update, or build where the archive is reachable" : undefined),
  ),
  "apt-missing-deb": failure("apt-get did not download a package it named", { name: "docker.io_1.deb" }, (a) => `apt-get did not download ${a.name}`),
  "sign-failed": failure(
    "ssh-keygen -Y sign failed",
    { problem: "incorrect passphrase" },
    (a) => `ssh-keygen -Y sign failed: ${a.problem}`,
    () => "a key with a passphrase needs ssh-agent (ssh-add) or a terminal",
  ),
  "prep-ssh-missing": failure("no ssh client for plc init/install", { problem: "spawn ssh ENOENT" }, (a) => `cannot run ssh: ${a.problem}`, () => "install an OpenSSH client"),
  "prep-failed": failure<{ host: string; reason: "connect" | "sudo" | "stopped"; status: string }>(
    "host preparation failed on a host (ssh, sudo, or prep.sh stopped)",
    { host: "web1", reason: "stopped", status: "1" },
    (a) =>
      `${a.host}: ${
        a.reason === "connect"
          ? "ssh could not connect or log in (its message is above)"
          : a.reason === "sudo"
            ? "the login user cannot use sudo without a password"
            : `the host's preparation stopped (status ${a.status}; its message is above)`
      }`,
    (a) => (a.reason === "connect" ? "a first contact needs the host key: -o StrictHostKeyChecking=accept-new, or ssh-keyscan into known_hosts" : undefined),
  ),
  "prep-key-login": failure(
    "plc init could not log in with the key and sudo -n, so password login stays on",
    { host: "web1", user: "alice" },
    (a) => `${a.host}: logging in as ${a.user} with the key and sudo -n failed, so password login stays on`,
    () => "check that ssh -i KEY user@host sudo -n true works (the key must be in your agent or beside --key), then run plc init again",
  ),
} satisfies Record<string, AnyEntry>;

const FORMAT_HINTS: Record<string, string> = {
  "host-name": "give a host name (example.com) or an IP address, without spaces, ';' or a port",
  "absolute-path": "give an absolute path of letters, digits, '.', '_', '-' and '/', without '..'",
  "home-path":
    "give a directory of its own, such as /home/<name> or /srv/<name>: install.sh makes it 0755 and uninstall --purge deletes it, so a system directory (/, /root, /etc, /home, /var…), a path with '.' or '..' components or a trailing '/' is refused",
};

export type DiagnosticCode = keyof typeof MESSAGES;
export type ArgsOf<C extends DiagnosticCode> = (typeof MESSAGES)[C] extends Entry<infer A> ? A : never;

/** The words of one diagnostic: its message and, when there is one, what to do. */
export function wordingOf(code: DiagnosticCode, args: unknown): { message: string; hint: string | undefined } {
  // The code and its args travel together (Diagnostic is a union over codes), so the entry takes these args.
  const entry = MESSAGES[code] as unknown as Entry<unknown>;
  return { message: entry.message(args), hint: entry.hint?.(args) };
}

export function exitClassOf(code: DiagnosticCode): ExitClass {
  return MESSAGES[code].exit;
}
