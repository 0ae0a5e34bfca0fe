// Django superusers as playlabs picks them (roles of the instance), their passwords from
// `passwords/<name>` beside the inventory (made by the real ansible-vault), kept out of the tarball,
// and the generated Python run by a real python3 against a recording stand-in of Django's User.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { after, before, describe, it } from "node:test";
import { CLI } from "./fixtures.js";
import { requireTool } from "./tools.js";

const USERS = `users:
- name: alice          # superuser: the instance's roles hold superuser
  email: alice@example.com
  roles:
    yourproject-staging: [superuser]
- name: bob            # not: readonly only
  email: bob@example.com
  password: bobs password
  roles:
    yourproject-staging: [readonly]
- name: hacker         # superuser: the inventory template's form
  roles:
    ssh: [sudo]
    superuser: [yourproject-staging]
- name: carol          # not: a list naming the instance is no superuser in playlabs
  password: carols password
  roles: [yourproject-staging]
- name: dave           # superuser, password from the inventory (no passwords/dave)
  password: daves password
  roles:
    yourproject-staging: superuser
`;
const ALICE_PASSWORD = "alice's vaulted pw $(x) `y`";

describe("django superusers", () => {
  let dir = "";
  let inventory = "";
  let vaultPassword = "";
  const plc = (args: string[]) => spawnSync(process.execPath, [CLI, ...args], { cwd: dir, encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } });
  const build = (out: string, ...extra: string[]) =>
    plc(["build", "-o", out, "-i", inventory, "--vault-password-file", vaultPassword, "prefix=yourproject", "instance=staging", ...extra]);
  const encrypt = (plaintext: string, file: string): void => {
    const result = spawnSync("ansible-vault", ["encrypt", `--vault-password-file=${vaultPassword}`, "--output", file, "-"], { input: plaintext, encoding: "utf8" });
    assert.equal(result.status, 0, result.stderr);
  };
  /** The built tarball's files (path -> text) and the secrets file beside it. */
  const built = (out: string): { files: Map<string, string>; tar: string; secrets: string } => {
    const names = readdirSync(join(dir, out));
    const tarball = gunzipSync(readFileSync(join(dir, out, names.find((n) => n.endsWith(".tar.gz")) ?? "")));
    const files = new Map<string, string>();
    // ustar: 512-byte headers, name at 0 (100 bytes), prefix at 345 (155 bytes), size in octal at 124.
    for (let at = 0; at + 512 <= tarball.length; ) {
      const field = (start: number, length: number) => tarball.subarray(at + start, at + start + length).toString("utf8").replace(/\0.*$/s, "");
      const name = field(0, 100);
      if (name === "") break;
      const prefix = field(345, 155);
      const size = parseInt(field(124, 12).trim() || "0", 8);
      files.set((prefix === "" ? name : `${prefix}/${name}`).replace(/^[^/]+\//, ""), tarball.subarray(at + 512, at + 512 + size).toString("utf8"));
      at += 512 + Math.ceil(size / 512) * 512;
    }
    const secretsName = names.find((n) => n.endsWith(".secrets.env"));
    return { files, tar: tarball.toString("utf8"), secrets: secretsName === undefined ? "" : readFileSync(join(dir, out, secretsName), "utf8") };
  };

  before(() => {
    dir = mkdtempSync(join(tmpdir(), "plc-superusers-"));
    inventory = join(dir, "inventory");
    vaultPassword = join(dir, ".vault");
    writeFileSync(vaultPassword, "foo\n");
    mkdirSync(join(inventory, "group_vars", "all"), { recursive: true });
    mkdirSync(join(inventory, "passwords"));
    writeFileSync(join(inventory, "group_vars", "all", "users.yml"), USERS);
    writeFileSync(join(inventory, "group_vars", "all", "project.yml"), "yourproject_staging_image: reg.example.com/app:1\nyourproject_staging_plugins: [django]\n");
  });

  after(() => {
    if (dir !== "") rmSync(dir, { recursive: true, force: true });
  });

  it("alice {inst: [superuser]}, hacker {superuser: [inst]} and dave {inst: superuser} are; bob {inst: [readonly]} and carol [inst] are not", (t) => {
    if (!requireTool(t, "ansible-vault")) return;
    const result = build("out-select");
    assert.equal(result.status, 0, result.stderr);
    const hook = built("out-select").files.get("hooks/01-django/deploy.post.sh") ?? "";
    const made = [...hook.matchAll(/User\.USERNAME_FIELD: "([^"]*)"/g)].map((match) => match[1]);
    assert.deepEqual(made, ["alice", "hacker", "dave"]);
  });

  it("a vault-encrypted passwords/alice (ansible-vault) sets alice's password, travels as a secret, never in the tarball; bob's passwords file is never needed", (t) => {
    if (!requireTool(t, "ansible-vault")) return;
    // A trailing newline, as `echo pw | ansible-vault encrypt` leaves: playlabs strips it.
    encrypt(`${ALICE_PASSWORD}\n`, join(inventory, "passwords", "alice"));
    // bob is not a superuser: a file the vault password cannot open does not matter.
    writeFileSync(join(inventory, "passwords", "bob"), "$ANSIBLE_VAULT;1.1;AES256\n6162\n");
    try {
      const result = build("out-vault");
      assert.equal(result.status, 0, result.stderr);
      const { files, tar, secrets } = built("out-vault");
      assert.ok(!tar.includes(ALICE_PASSWORD), "the tarball holds alice's password");
      assert.ok(!tar.includes("daves password"), "the tarball holds dave's password");
      assert.ok(secrets.includes(`PLC_DJANGO_SUPERUSER_0_PASSWORD='alice'\\''s vaulted pw $(x) \`y\`'\n`), secrets);
      assert.ok(secrets.includes("PLC_DJANGO_SUPERUSER_2_PASSWORD='daves password'\n"), secrets);
      assert.ok(!secrets.includes("SUPERUSER_1_PASSWORD"), "hacker has no password");
      assert.match(files.get("secrets.keys") ?? "", /PLC_DJANGO_SUPERUSER_0_PASSWORD/);
    } finally {
      rmSync(join(inventory, "passwords", "bob"));
      rmSync(join(inventory, "passwords", "alice"));
    }
  });

  it("a plain passwords/<name> file works too; a superuser's file the vault password cannot open is a located error, nothing written", (t) => {
    if (!requireTool(t, "ansible-vault")) return;
    writeFileSync(join(inventory, "passwords", "hacker"), "hackers plain pw\n");
    try {
      const result = build("out-plain");
      assert.equal(result.status, 0, result.stderr);
      assert.ok(built("out-plain").secrets.includes("PLC_DJANGO_SUPERUSER_1_PASSWORD='hackers plain pw'\n"));

      encrypt("x", join(inventory, "passwords", "hacker"));
      const wrong = join(dir, "wrong-vault");
      writeFileSync(wrong, "not foo\n");
      const refused = plc(["build", "-o", "out-wrong", "-i", inventory, "--vault-password-file", wrong, "prefix=yourproject", "instance=staging"]);
      assert.equal(refused.status, 2, refused.stderr);
      assert.match(refused.stderr, /error\[superuser-password\]: cannot read the password of superuser hacker \(passwords\/hacker\)/);
      assert.match(refused.stderr, /inventory\/passwords\/hacker:1:1/);
      assert.ok(!existsSync(join(dir, "out-wrong")), "nothing written");
    } finally {
      rmSync(join(inventory, "passwords", "hacker"));
    }
  });

  it("a password with a line break is a located error naming the variable, nothing written", (t) => {
    if (!requireTool(t, "ansible-vault")) return;
    const other = join(dir, "inventory-newline");
    mkdirSync(join(other, "group_vars", "all"), { recursive: true });
    writeFileSync(
      join(other, "group_vars", "all", "users.yml"),
      'users:\n- name: eve\n  password: "two\\nlines"\n  roles: {yourproject-staging: [superuser]}\n',
    );
    const result = plc(["build", "-o", "out-newline", "-i", other, "image=x/y:1", "prefix=yourproject", "instance=staging", "-p", "django"]);
    assert.equal(result.status, 2, result.stderr);
    // Refused by the django plugin's schema before the password is read: the variable and its line.
    assert.match(result.stderr, /error\[multi-line-value\]: users\.0\.password may not hold a line break/);
    assert.match(result.stderr, /inventory-newline\/group_vars\/all\/users\.yml:2:1/);
    assert.ok(!existsSync(join(dir, "out-newline")), "nothing written");

    // The same break in a passwords/<name> file, with no password inline.
    writeFileSync(join(other, "group_vars", "all", "users.yml"), "users:\n- name: eve\n  roles: {yourproject-staging: [superuser]}\n");
    encrypt("one\ntwo\n", join(other, "passwords-eve"));
    mkdirSync(join(other, "passwords"));
    writeFileSync(join(other, "passwords", "eve"), readFileSync(join(other, "passwords-eve")));
    const fromFile = plc(["build", "-o", "out-newline", "-i", other, "--vault-password-file", vaultPassword, "image=x/y:1", "prefix=yourproject", "instance=staging", "-p", "django"]);
    assert.equal(fromFile.status, 2, fromFile.stderr);
    assert.match(fromFile.stderr, /superuser eve \(passwords\/eve\) holds a line break/);
    assert.match(fromFile.stderr, /passwords\/eve:1:1/);
  });

  it("the generated Python (real python3): an existing user without a password keeps it, a new one gets an unusable one, a given one is set", (t) => {
    if (!requireTool(t, "ansible-vault", "python3")) return;
    const result = build("out-python");
    assert.equal(result.status, 0, result.stderr);
    const hook = built("out-python").files.get("hooks/01-django/deploy.post.sh") ?? "";
    const programs = [...hook.matchAll(/<<'PY'[^\n]*\n([\s\S]*?)\nPY\n/g)].map((match) => match[1] ?? "");
    assert.equal(programs.length, 3);
    // A stand-in for django.contrib.auth: get_or_create over a dict, every call recorded.
    const stub = join(dir, "stub");
    mkdirSync(join(stub, "django", "contrib"), { recursive: true });
    writeFileSync(join(stub, "django", "__init__.py"), "");
    writeFileSync(join(stub, "django", "contrib", "__init__.py"), "");
    writeFileSync(
      join(stub, "django", "contrib", "auth.py"),
      [
        "import json, os",
        "STATE = os.environ['STUB_STATE']",
        "class User:",
        "    USERNAME_FIELD = 'username'",
        "    def __init__(self, **kw): self.__dict__.update(kw)",
        "    def set_password(self, pw): self.password = 'set:' + pw",
        "    def set_unusable_password(self): self.password = '!unusable'",
        "    def save(self):",
        "        db = json.load(open(STATE))",
        "        db[self.username] = {k: v for k, v in self.__dict__.items()}",
        "        json.dump(db, open(STATE, 'w'))",
        "class Manager:",
        "    def get_or_create(self, **kw):",
        "        db = json.load(open(STATE))",
        "        if kw['username'] in db: return User(**db[kw['username']]), False",
        "        return User(username=kw['username'], password=''), True",
        "User.objects = Manager()",
        "def get_user_model(): return User",
        "",
      ].join("\n"),
    );
    const state = join(dir, "users.json");
    // hacker exists with a password; alice does not exist yet.
    writeFileSync(state, JSON.stringify({ hacker: { username: "hacker", password: "pbkdf2$kept", email: "old@example.com" } }));
    const run = (program: string, password: string) => {
      const ran = spawnSync("python3", ["-c", program], { encoding: "utf8", env: { PATH: process.env["PATH"], PYTHONPATH: stub, STUB_STATE: state, PLC_PASSWORD: password } });
      assert.equal(ran.status, 0, ran.stderr);
    };
    const [alice = "", hacker = "", dave = ""] = programs;
    run(alice, "");
    run(hacker, "");
    run(dave, "daves password");
    const db = JSON.parse(readFileSync(state, "utf8")) as Record<string, Record<string, unknown>>;
    const [aliceRow, hackerRow, daveRow] = [db["alice"] ?? {}, db["hacker"] ?? {}, db["dave"] ?? {}];
    assert.equal(aliceRow["password"], "!unusable", "a new user without a password cannot log in with an empty one");
    assert.equal(aliceRow["email"], "alice@example.com");
    assert.equal(hackerRow["password"], "pbkdf2$kept", "an existing user's password is never touched when none is given");
    assert.equal(hackerRow["email"], "old@example.com", "no email given: the existing one stays");
    assert.equal(hackerRow["is_superuser"], true);
    assert.equal(daveRow["password"], "set:daves password");
  });
});
