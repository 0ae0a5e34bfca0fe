// playlabs' own parser tests (playlabs/tests/test_parser_func.py and test_parser_err.py), case by
// case, against plc: the same meaning, or an error that says what plc does instead. plc ship
// --dry-run connects nowhere and prints the ssh command each host would get.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { CLI } from "./fixtures.js";

const work = mkdtempSync(join(tmpdir(), "plc-playlabs-cli-"));
after(() => {
  rmSync(work, { recursive: true, force: true });
});
const IMAGE = "image=reg.example.com/app:1";

function plc(args: string[], env: NodeJS.ProcessEnv = {}) {
  return spawnSync(process.execPath, [CLI, ...args], { cwd: work, encoding: "utf8", env: { ...process.env, NO_COLOR: "1", ...env } });
}

/** The ssh line of each host in `plc ship --dry-run` output. */
function sshLines(args: string[], env: NodeJS.ProcessEnv = {}): string[] {
  const result = plc([...args, "--dry-run"], env);
  assert.equal(result.status, 0, result.stderr);
  return result.stdout.split("\n").filter((line) => /^ {2}(ssh |sh -c)/.test(line));
}

function fails(args: string[], code: string, ...mentions: RegExp[]): string {
  const result = plc(args);
  assert.equal(result.status, 2, `${args.join(" ")}: ${result.stderr}`);
  assert.match(result.stderr, code === "" ? /^error: /m : new RegExp(`error\\[${code}\\]`));
  for (const mention of mentions) assert.match(result.stderr, mention);
  return result.stderr;
}

describe("test_parser_func.py", () => {
  it("test_user_name_shortopt/longopt/shortvar/longvar: -u NAME, --user NAME, -u=NAME, --user=NAME", () => {
    for (const [option, name] of [[["-u", "testname"], "testname"], [["--user", "testname2"], "testname2"], [["-u=testname1"], "testname1"], [["--user=testname2"], "testname2"]] as const) {
      const [line] = sshLines(["ship", IMAGE, "@testhost", ...option]);
      assert.match(line ?? "", new RegExp(`^ {2}ssh -T -o User=${name} .* -- testhost `), option.join(" "));
    }
  });

  it("test_user_default: no user given, ssh's own default", () => {
    const [line] = sshLines(["ship", IMAGE, "@testhost"]);
    assert.doesNotMatch(line ?? "", /User=| -l /);
  });

  it("test_at_host_only and test_user_at_host: @testhost, testname3@testhost2", () => {
    assert.match(sshLines(["ship", IMAGE, "@testhost"])[0] ?? "", / -- testhost /);
    assert.match(sshLines(["ship", IMAGE, "testname3@testhost2"])[0] ?? "", / -l testname3 -- testhost2 /);
  });

  it("test_user_pass_at_host, test_root_pass_at_host: a password in the target is refused (plc logs in with keys)", () => {
    fails(["ship", IMAGE, "testname4:password@testhost3", "--dry-run"], "invalid-target", /not a ship target/);
    fails(["ship", IMAGE, "root:password@testhost3", "--dry-run"], "invalid-target", /not a ship target/);
  });

  it("test_localhost: @localhost runs on this machine, no ssh", () => {
    const [line] = sshLines(["ship", IMAGE, "@localhost"]);
    assert.match(line ?? "", /^ {2}sh -c "\$PLC_RECEIVER" plc-ship [0-9a-f]{64} project-staging {2}\(on this machine, no ssh\)$/);
  });

  it("test_ssh_config: plc's ssh options; --accept-new-host-keys is playlabs' first contact without a prompt", () => {
    assert.match(sshLines(["ship", IMAGE, "@host"])[0] ?? "", /-o StrictHostKeyChecking=yes -o BatchMode=yes/);
    assert.match(sshLines(["ship", IMAGE, "@host", "--accept-new-host-keys"])[0] ?? "", /-o StrictHostKeyChecking=accept-new -o StrictHostKeyChecking=yes/);
    const help = plc(["ship", "--help"]).stdout;
    assert.match(help.replace(/\s+/g, " "), /--accept-new-host-keys .*first connection to each host can then be intercepted/);
  });

  it("test_vars: --extra=opt, extra-opt2 and extra=var each get an error; none becomes the image", () => {
    fails(["check", IMAGE, "--extra=opt"], "", /unknown option '--extra=opt'/);
    fails(["check", IMAGE, "extra-opt2"], "invalid-operand", /'extra-opt2' is not name=value, @host or an image/, /argv\[2\]/);
    fails(["check", IMAGE, "extra=var"], "unknown-variable", /unknown variable 'extra'/, /argv\[2\]/);
  });

  it("test_subvars, test_deep_vars, test_merge_vars: dotted names nest and merge", () => {
    const result = plc(["explain", IMAGE, "env.testsub=value", "env.sub=value1", "env.sub2=value2", "env"]);
    assert.equal(result.status, 0, result.stderr);
    for (const line of [/env\.testsub = "value"/, /env\.sub = "value1"/, /env\.sub2 = "value2"/]) assert.match(result.stdout, line);
    fails(["check", IMAGE, "test.very.deep.var=deep"], "unknown-variable", /unknown variable 'test'/);
  });

  it("test_role_uniq, test_role_multi: install ROLES is plc install ROLES @host (host preparation), which needs its hosts", () => {
    for (const roles of ["rolename", "nginx,docker,firewall"]) {
      const result = plc(["install", roles]);
      assert.equal(result.status, 2, result.stderr);
      assert.match(result.stderr, /missing required argument 'hosts'/);
    }
  });

  it("test_plugin_uniq, test_plugin_multi: -p django, -p django,postgres,sentry", () => {
    const one = plc(["check", IMAGE, "-p", "django"]);
    assert.equal(one.status, 0, one.stderr);
    assert.match(one.stdout, /"plugins": \[\s*"django"\s*\]/);
    const many = plc(["check", IMAGE, "-p", "django,postgres,sentry", "sentry_dsn=https://k@sentry.example.com/4"]);
    assert.equal(many.status, 0, many.stderr);
    assert.match(many.stdout, /"plugins": \[\s*"postgres",\s*"django",\s*"sentry"\s*\]/);
  });
});

describe("test_parser_err.py", () => {
  it("test_multi_user_error, test_multi_user_error_at: the user once", () => {
    fails(["ship", IMAGE, "-u", "user1", "-u", "user2", "@h"], "ssh-user-twice", /the ssh user is given twice/, /argv\[4\] '-u'/);
    fails(["ship", IMAGE, "-u", "user1", "user@host"], "ssh-user-twice", /-u and user@host/);
  });

  it("test_var_starting_with_eq, ending with '.', starting with '.'", () => {
    fails(["check", "=value"], "invalid-operand");
    fails(["check", IMAGE, ".var=value"], "invalid-variable-name", /'\.var' is not a variable name/);
    fails(["check", IMAGE, "var.=value"], "invalid-variable-name", /'var\.' is not a variable name/);
  });

  it("test_var_ending_with_eq: var= clears a value; an unknown one is still an error", () => {
    fails(["check", IMAGE, "var="], "unknown-variable", /unknown variable 'var'/);
    assert.equal(plc(["check", IMAGE, "dns="]).status, 0);
  });

  it("test_plugin_must_exits, test_plugin_must_be_specified", () => {
    fails(["check", IMAGE, "-p", "notaplugin"], "unknown-plugin", /unknown plugin 'notaplugin'/);
    const missing = plc(["check", IMAGE, "-p"]);
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /argument missing/);
  });

  it("test_inventory_must_exist, test_inventory_must_be_specified", () => {
    fails(["check", IMAGE, "-i", "inexistant13245.yml"], "missing-inventory");
    const missing = plc(["check", IMAGE, "-i"]);
    assert.equal(missing.status, 2);
    assert.match(missing.stderr, /argument missing/);
  });
});

describe("playlabs' CI lines", () => {
  it("plc @host deploy … and plc deploy @host … are plc ship @host …", () => {
    const expected = sshLines(["ship", "@web1", IMAGE, "prefix=ybs", "instance=hack"]);
    assert.deepEqual(sshLines(["@web1", "deploy", IMAGE, "prefix=ybs", "instance=hack"]), expected);
    assert.deepEqual(sshLines(["deploy", "@web1", IMAGE, "prefix=ybs", "instance=hack"]), expected);
  });

  it("a stray deploy is never the image: the inventory's stays", () => {
    const inventory = join(work, "inv");
    mkdirSync(join(inventory, "group_vars", "all"), { recursive: true });
    writeFileSync(join(inventory, "group_vars", "all", "project.yml"), "ybs_hack_image: reg.example.com/app:from-inventory\n");
    // The same bundle (same sha256) as without the word: deploy was not read as an image.
    const without = sshLines(["ship", "-i", inventory, "@web1", "prefix=ybs", "instance=hack"]);
    assert.deepEqual(sshLines(["ship", "-i", inventory, "@web1", "deploy", "prefix=ybs", "instance=hack"]), without);
    assert.deepEqual(sshLines(["@web1", "deploy", "-i", inventory, "prefix=ybs", "instance=hack"]), without);
    // Outside a ship, a bare deploy is no image either.
    fails(["build", "-i", inventory, "deploy", "prefix=ybs", "instance=hack"], "invalid-operand", /'deploy' is not name=value/);
  });

  it("-e name=value and -e '{json}' are variables; -e @file is refused", () => {
    const result = plc(["explain", "-e", IMAGE, "-e", '{"env":{"A":"b"}}', "--extra-vars=env.C=d", "image", "env"]);
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /^image = "reg\.example\.com\/app:1" {2}<- argv\[2\]/m);
    assert.match(result.stdout, /^env\.A = "b" {2}<- argv\[4\] \(JSON argument\)/m);
    assert.match(result.stdout, /^env\.C = "d"/m);
    fails(["check", IMAGE, "-e", "@vars.yml"], "variables-file", /plc does not read variables files/);
  });

  it("--limit HOST ships to that host", () => {
    assert.deepEqual(sshLines(["ship", IMAGE, "--limit", "web1"]).map((line) => / -- (\S+) /.exec(line)?.[1]), ["web1"]);
    assert.deepEqual(sshLines(["ship", IMAGE, "--limit=web1,web2"]).map((line) => / -- (\S+) /.exec(line)?.[1]), ["web1", "web2"]);
  });

  it("ansible-playbook options get an error saying what plc does instead", () => {
    fails(["ship", IMAGE, "@h", "--tags", "update"], "ansible-option", /--tags is an ansible-playbook option/, /plc has no tags/, /argv\[3\] '--tags'/);
    fails(["ship", IMAGE, "@h", "--ask-become-pass"], "ansible-option", /sudo -n/);
    fails(["ship", IMAGE, "@h", "-vvv"], "ansible-option", /\.deploys/);
    fails(["ship", IMAGE, "@h", "--forks", "5"], "ansible-option", /--parallel N/);
  });

  it("$SSH_PRIVATE_KEY, the inventory's keys/<user> and known_hosts, $SSH_KNOWN_HOSTS reach ssh as files, never as argv", () => {
    const inventory = join(work, "inv-keys");
    mkdirSync(join(inventory, "keys"), { recursive: true });
    writeFileSync(join(inventory, "keys", "deploy"), "-----BEGIN OPENSSH PRIVATE KEY-----\nnot-a-real-key\n");
    writeFileSync(join(inventory, "known_hosts"), "web1 ssh-ed25519 AAAA\n");
    const fromInventory = plc(["ship", "-i", inventory, IMAGE, "deploy@web1", "--dry-run"], { SSH_KNOWN_HOSTS: "web1 ssh-ed25519 BBBB" });
    assert.equal(fromInventory.status, 0, fromInventory.stderr);
    assert.match(fromInventory.stderr, /note: ssh key: .*keys\/deploy/);
    assert.match(fromInventory.stdout, /-o 'IdentityFile=<0600 temporary file: key>'/);
    assert.match(fromInventory.stdout, /-o 'UserKnownHostsFile=~\/\.ssh\/known_hosts <0600 temporary file: known_hosts> .*inv-keys\/known_hosts'/);
    const fromEnv = plc(["ship", IMAGE, "@web1", "--dry-run"], { SSH_PRIVATE_KEY: "-----BEGIN OPENSSH PRIVATE KEY-----\nsecret-key-text\n" });
    assert.equal(fromEnv.status, 0, fromEnv.stderr);
    assert.match(fromEnv.stderr, /note: ssh key: \$SSH_PRIVATE_KEY/);
    assert.ok(!fromEnv.stdout.includes("secret-key-text"));
  });
});
