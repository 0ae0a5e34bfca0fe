// Differential test: plc reads an inventory as ansible-core 2.14 does. For each inventory, one
// `ansible-inventory -i SRC… --list` call is the oracle; every host's every variable (all plc may
// read: prefixed, bare, connection, globals) and every host's groups must agree. A mismatch prints
// both values and where each came from.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, describe, it } from "node:test";
import fc from "fast-check";
import { formatOrigin } from "../compiler/diagnostics.js";
import { hostVariables, layersOf, valueOf } from "../compiler/load/hostvars.js";
import { deployHosts } from "../compiler/load/hosts.js";
import { readInventory } from "../compiler/load/inventory.js";
import { decryptVault, encryptVault } from "../compiler/load/vault.js";
import type { Inventory } from "../compiler/types.js";
import { hasTool } from "./tools.js";

interface Case {
  name: string;
  /** path -> content, relative to the case directory. */
  files: Record<string, string>;
  /** -i sources, relative to the case directory. */
  sources: string[];
}

const VAULT_PASSWORD = "oracle vault password";
const vaulted = (text: string): string => encryptVault(text, { id: undefined, password: VAULT_PASSWORD }, Buffer.alloc(32, 7));
const inlineVault = (text: string): string => "!vault |\n" + vaulted(text).trimEnd().split("\n").map((line) => "    " + line).join("\n");

const P = "yourproject_production";
const CASES: Case[] = [
  {
    name: "all < parent < child < host_vars (inv1)",
    sources: ["inv"],
    files: {
      "inv/inventory.yml": "all:\n  hosts:\n    web1:\n    web2:\n  children:\n    web:\n      children:\n        yourproject-production:\n          hosts:\n            web1:\n            web2:\n",
      "inv/group_vars/all.yml": `${P}_image: reg/app:from-all\n${P}_dns: all.example.com\n${P}_env:\n  FROM_ALL: "1"\n  LAYER: all\n`,
      "inv/group_vars/web.yml": `${P}_dns: parent.example.com\n`,
      "inv/group_vars/yourproject-production.yml": `${P}_image: reg/app:from-group\n${P}_env:\n  FROM_CHILD: "1"\n  LAYER: child\n`,
      "inv/host_vars/web1.yml": `${P}_image: reg/app:from-host-web1\n`,
    },
  },
  {
    name: "INI inventory named hosts: [g:vars], [g:children], k=v on host lines, literals (inv2)",
    sources: ["inv"],
    files: {
      "inv/hosts": [
        "# comment",
        "web0 ansible_host=10.0.0.9",
        "[yourproject-production]",
        "web1 ansible_host=10.0.0.5 ansible_port=2222 flag=True quoted=\"a b\" n=010 f=1.5 lst=\"[1, 'x']\"",
        "web2:2201 ansible_user=deploy",
        "[prod:children]",
        "yourproject-production",
        "[prod:vars]",
        `${P}_image=reg/app:ini-groupvars`,
        `${P}_dns = "ini.example.com"`,
        "answer=42",
        "none=None",
        "",
      ].join("\n"),
    },
  },
  {
    name: "INI inventory named inventory, read as a file (inv2b)",
    sources: ["inv/inventory"],
    files: {
      "inv/inventory": "[yourproject-production]\nweb[1:3] region=eu\n[yourproject-production:vars]\nyourproject_production_image=reg/app:ini\n",
      "inv/group_vars/yourproject-production/main.yml": `${P}_dns: from-group-vars.example.com\n`,
    },
  },
  {
    name: "YAML vars: blocks at all, group and host level (inv3)",
    sources: ["inv"],
    files: {
      "inv/inventory.yaml": [
        "all:",
        "  vars:",
        `    ${P}_backup_password: from-all-vars`,
        `    ${P}_image: reg/app:from-all-vars`,
        "  children:",
        "    yourproject-production:",
        "      vars:",
        `        ${P}_dns: group-inline.example.com`,
        `        ${P}_image: reg/app:from-group-inline`,
        "      hosts:",
        "        web1:",
        `          ${P}_image: reg/app:from-host-inline`,
        "          ansible_host: 10.0.0.1",
        "",
      ].join("\n"),
    },
  },
  {
    name: "group_vars/all/ directory with .yml, .json, extension-less; <g>.yml and <g>/ both present (inv4)",
    sources: ["inv"],
    files: {
      "inv/inventory.yml": "all:\n  children:\n    yourproject-production:\n      hosts:\n        web1:\n",
      "inv/group_vars/all/10-project.yml": `${P}_image: reg/app:from-all-dir\n${P}_port: 1\n`,
      "inv/group_vars/all/20-dns.json": `{"${P}_dns": "json.example.com"}\n`,
      "inv/group_vars/all/30-noext": `${P}_port: 9000\n`,
      "inv/group_vars/all/40-ignored.txt": `${P}_port: 1234\n`,
      "inv/group_vars/yourproject-production.yml": `${P}_healthcheck_path: /from-group-file\n`,
      "inv/group_vars/yourproject-production/main.yml": `${P}_healthcheck_timeout: 99\n`,
      "inv/host_vars/web1/a.yml": `${P}_stop_timeout: 5\n`,
      "inv/host_vars/web1/b.yaml": `${P}_stop_timeout: 6\n`,
    },
  },
  {
    name: "sibling groups at the same depth merge by name: zeta wins (inv5)",
    sources: ["inv"],
    files: {
      "inv/inventory.yml": "all:\n  children:\n    production:\n      hosts: {web1: }\n    yourproject-production:\n      hosts: {web1: }\n    zeta:\n      hosts: {web1: }\n",
      "inv/group_vars/production.yml": `${P}_backup_password: from-production-group\n${P}_image: reg/app:from-production\n`,
      "inv/group_vars/yourproject-production.yml": `${P}_image: reg/app:from-instance-group\n`,
      "inv/group_vars/zeta.yml": `${P}_image: reg/app:from-zeta\n`,
    },
  },
  {
    name: "playlabs' pattern *yourproject-production* (inv6)",
    sources: ["inv"],
    files: {
      "inv/inventory.yml": "all:\n  hosts:\n    yourproject-production.example.com:\n  children:\n    yourproject-production-eu:\n      hosts:\n        eu1:\n    other:\n      hosts:\n        x1:\n",
    },
  },
  {
    name: "a child group of the instance group wins (inv7)",
    sources: ["inv"],
    files: {
      "inv/inventory.yml": "all:\n  children:\n    yourproject-production:\n      children:\n        eu:\n          hosts:\n            web1:\n",
      "inv/group_vars/yourproject-production.yml": `${P}_image: reg/app:from-instance-group\n`,
      "inv/group_vars/eu.yml": `${P}_image: reg/app:from-child-eu\n`,
    },
  },
  {
    name: "top-level group beside all, as inventory_template (inv8)",
    sources: ["inv/inventory.yaml"],
    files: {
      "inv/inventory.yaml": "all:\n  hosts:\n    ci:\n      fqdn: ci.yourlabs.io\n\ndocker-firewall-nginx:\n  hosts:\n    ci:\n",
      "inv/group_vars/all/project.yml": "project_staging_env:\n  SECRET_KEY: '{{ \"secrets/project_staging_secret_key\"|vaulted_read }}'\n",
      "inv/group_vars/docker-firewall-nginx.yml": "backup_password: bare-in-group\n",
    },
  },
  {
    name: "connection variables: inline, host_vars, legacy ansible_ssh_*, group-level user (invh)",
    sources: ["inv"],
    files: {
      "inv/inventory.yml": [
        "all:",
        "  vars:",
        "    ansible_user: groupuser",
        "  children:",
        "    yourproject-production:",
        "      hosts:",
        "        web1: {ansible_host: 10.0.0.1, ansible_user: deploy, ansible_port: 2201}",
        "        web2: {ansible_ssh_host: 10.0.0.2, ansible_ssh_port: 2202}",
        "        web3:",
        "",
      ].join("\n"),
      "inv/host_vars/web3.yml": "ansible_host: 10.0.0.3\n",
    },
  },
  {
    name: "dicts are replaced whole across layers",
    sources: ["inv"],
    files: {
      "inv/inventory.yml": "all:\n  vars:\n    d: {a: 1, b: {c: 2}}\n  children:\n    g:\n      vars:\n        d: {b: {e: 3}}\n      hosts: {h1: {d: {z: 0}}, h2: }\n",
      "inv/group_vars/g.yml": "d:\n  x: [1, 2]\n",
    },
  },
  {
    name: "group_vars/all beats every group's inline vars; group_vars/<g> beats them too",
    sources: ["inv"],
    files: {
      "inv/inventory.yml": "all:\n  children:\n    g:\n      vars: {v: inline-g, w: inline-g}\n      children:\n        child:\n          vars: {v: inline-child}\n          hosts: {h: }\n",
      "inv/group_vars/all.yml": "v: gv-all\n",
      "inv/group_vars/g.yml": "w: gv-g\n",
    },
  },
  {
    name: "host inline vars beat group_vars; host_vars beat host inline vars",
    sources: ["inv"],
    files: {
      "inv/inventory.yml": "g:\n  hosts:\n    h:\n      a: inline\n      b: inline\n",
      "inv/group_vars/g.yml": "a: group\nb: group\nc: group\n",
      "inv/host_vars/h.yml": "b: host_vars\n",
    },
  },
  {
    name: "ansible_group_priority reorders groups at the same depth",
    sources: ["inv"],
    files: {
      "inv/inventory.yml": "all:\n  children:\n    alpha:\n      vars: {ansible_group_priority: 10, v: alpha}\n      hosts: {h: }\n    beta:\n      vars: {v: beta}\n      hosts: {h: }\n",
    },
  },
  {
    name: "deeper groups win whatever their names",
    sources: ["inv"],
    files: {
      "inv/inventory.yml": "all:\n  children:\n    zz:\n      hosts: {h: }\n    aa:\n      children:\n        bb:\n          children:\n            cc:\n              hosts: {h: }\n",
      "inv/group_vars/zz.yml": "v: zz\n",
      "inv/group_vars/aa.yml": "v: aa\n",
      "inv/group_vars/cc.yml": "v: cc\nw: cc\n",
      "inv/group_vars/bb.yml": "w: bb\n",
    },
  },
  {
    name: "several -i sources merged in order, group_vars beside each",
    sources: ["a", "b/hosts.yml"],
    files: {
      "a/inventory.yml": "all:\n  children:\n    g:\n      hosts: {h1: {x: from-a}}\n",
      "a/group_vars/g.yml": "v: a\nonly_a: 1\n",
      "a/group_vars/all.yml": "allv: a\n",
      "b/hosts.yml": "all:\n  children:\n    g:\n      hosts: {h1: {x: from-b}, h2: }\n    zeta:\n      hosts: {h1: }\n",
      "b/group_vars/g.yml": "v: b\n",
      "b/group_vars/zeta.yml": "z: b-zeta\nv: b-zeta\n",
      "b/group_vars/all.yml": "allv: b\n",
    },
  },
  {
    name: "a comma list of hosts",
    sources: ["web1,web2:2222,"],
    files: {},
  },
  {
    name: "a comma list beside a directory",
    sources: ["inv", "extra1,"],
    files: {
      "inv/inventory.yml": "g:\n  hosts: {h: }\n",
      "inv/group_vars/all.yml": "v: all\n",
    },
  },
  {
    name: "host ranges, zero-padded and alphabetic",
    sources: ["inv"],
    files: {
      "inv/inventory.yml": "g:\n  hosts:\n    web[01:03].example.com: {r: 1}\n    db-[a:c]:\n",
    },
  },
  {
    name: "an inventory directory holding several files, INI and YAML, sorted",
    sources: ["inv"],
    files: {
      "inv/01-hosts": "[g]\nh1 src=ini\n",
      "inv/02-more.yml": "all:\n  children:\n    g:\n      hosts: {h1: {src: yaml}, h2: }\n",
      "inv/README.md": "not an inventory\n",
      "inv/group_vars/g.yml": "gv: 1\n",
    },
  },
  {
    name: "hosts only under all are ungrouped; group_vars/ungrouped applies",
    sources: ["inv"],
    files: {
      "inv/inventory.yml": "all:\n  hosts:\n    lone:\n  children:\n    g:\n      hosts: {grouped: }\n",
      "inv/group_vars/ungrouped.yml": "u: yes-ungrouped\n",
    },
  },
  {
    name: "YAML 1.1 scalars as PyYAML reads them: yes/no/on/off, octal, null",
    sources: ["inv"],
    files: {
      "inv/inventory.yml": "g:\n  hosts: {h: }\n",
      "inv/group_vars/g.yml": "a: yes\nb: off\nc: 0755\nd: ~\ne: 'yes'\nf: 1e3\ng: 12_000\nh: .5\ni: Yes\n",
    },
  },
  {
    name: "anchors and merge keys",
    sources: ["inv"],
    files: {
      "inv/inventory.yml": "g:\n  hosts: {h: }\n",
      "inv/group_vars/g.yml": "base: &base {A: 1, B: 2}\nenv:\n  <<: *base\n  B: own\nlist: &l [1, 2]\nagain: *l\n",
    },
  },
  {
    name: "bare playlabs variables anywhere, beside prefixed ones",
    sources: ["inv"],
    files: {
      "inv/inventory.yml": "all:\n  children:\n    yourproject-production:\n      hosts: {web1: {home: /srv/yp}}\n",
      "inv/group_vars/all/backup_password.yml": "backup_password: s3cret\n",
      "inv/group_vars/all/project.yml": `${P}_image: reg/app:1\nimage: reg/app:bare\ndns: app.example.com\nplugins: postgres,django\n`,
    },
  },
  {
    name: "vault: inline !vault values and a whole vault-encrypted vars file",
    sources: ["inv"],
    files: {
      "inv/inventory.yml": "all:\n  children:\n    g:\n      hosts: {h: }\n",
      "inv/group_vars/all.yml": `inline_secret: ${inlineVault("inline-plain")}\nplain: text\n`,
      "inv/group_vars/g.yml": vaulted("file_secret: from-vault-file\nnested: {k: v}\n"),
    },
  },
  {
    name: "the same host in several groups and files keeps the last inline value",
    sources: ["inv"],
    files: {
      "inv/inventory.yml": "a:\n  hosts: {h: {x: from-a, y: a}}\nb:\n  hosts: {h: {x: from-b}}\n",
    },
  },
  {
    name: "JSON inventory file",
    sources: ["inv/inventory.json"],
    files: {
      "inv/inventory.json": JSON.stringify({ all: { vars: { v: "all" }, children: { g: { hosts: { h: { v: "host", n: 3, l: [1, "x"] } } } } } }),
      "inv/group_vars/g.json": JSON.stringify({ w: { deep: true } }),
    },
  },
  {
    name: "group_vars file for a group nobody is in is not applied to the host",
    sources: ["inv"],
    files: {
      "inv/inventory.yml": "g:\n  hosts: {h: }\nother:\n  hosts: {x: }\n",
      "inv/group_vars/other.yml": "v: other\n",
      "inv/group_vars/missing.yml": "v: missing\n",
    },
  },
  {
    name: "nested group_vars directory and hidden/backup files skipped",
    sources: ["inv"],
    files: {
      "inv/inventory.yml": "g:\n  hosts: {h: }\n",
      "inv/group_vars/g/sub/deep.yml": "deep: 1\n",
      "inv/group_vars/g/.hidden.yml": "hidden: 1\n",
      "inv/group_vars/g/backup.yml~": "backup: 1\n",
      "inv/group_vars/g/z.yml": "deep: 2\n",
    },
  },
  {
    name: "INI: a group's vars and children declared before its hosts, comments after values",
    sources: ["inv/hosts.ini"],
    files: {
      "inv/hosts.ini": "[parent:vars]\npv=1\n[parent:children]\nkid\n[kid]\nh1 a=1 # trailing comment\n; a semicolon comment\n[kid:vars]\nkv='quoted'\n",
    },
  },
];

/** Random inventories: a group tree, memberships and variables spread over every kind of layer. */
const generated = fc.record({
  groups: fc.uniqueArray(fc.constantFrom("alpha", "beta", "gamma", "delta", "web", "db", "zeta", "yourproject-production"), { minLength: 1, maxLength: 6 }),
  parents: fc.array(fc.nat(5), { minLength: 6, maxLength: 6 }),
  hosts: fc.uniqueArray(fc.constantFrom("h1", "h2", "h3", "web1"), { minLength: 1, maxLength: 3 }),
  membership: fc.array(fc.nat(20), { minLength: 12, maxLength: 12 }),
  vars: fc.array(
    fc.record({
      name: fc.constantFrom("v", "w", `${P}_image`, `${P}_env`, "image", "ansible_host", "backup_password"),
      value: fc.oneof(fc.constantFrom("one", "two", "x y", "10.0.0.1"), fc.integer({ min: 0, max: 99 }), fc.dictionary(fc.constantFrom("A", "B", "C"), fc.constantFrom("1", "2"), { maxKeys: 2 })),
      layer: fc.nat(60),
    }),
    { minLength: 1, maxLength: 12 },
  ),
  ini: fc.boolean(),
  split: fc.boolean(),
});

function generatedCase(seed: number, sample: unknown): Case {
  const { groups, parents, hosts, membership, vars, ini, split } = sample as {
    groups: string[];
    parents: number[];
    hosts: string[];
    membership: number[];
    vars: { name: string; value: unknown; layer: number }[];
    ini: boolean;
    split: boolean;
  };
  // A group's parent is an earlier group (or all): a tree with no cycle.
  const parentOf = new Map(groups.map((group, index) => [group, index === 0 ? undefined : groups[(parents[index] ?? 0) % (index + 1)]]));
  for (const [group, parent] of parentOf) if (parent === group) parentOf.set(group, undefined);
  const members = new Map<string, string[]>(groups.map((group) => [group, []]));
  hosts.forEach((host, index) => {
    const first = groups[(membership[index] ?? 0) % groups.length] ?? "";
    members.get(first)?.push(host);
    const second = membership[index + 4] ?? 0;
    if (second < groups.length && groups[second] !== first) members.get(groups[second] ?? "")?.push(host);
  });
  const files: Record<string, string> = {};
  const entities = ["all", ...groups];
  const inline = new Map<string, Record<string, unknown>>();
  const hostInline = new Map<string, Record<string, unknown>>();
  const fileVars = new Map<string, Record<string, unknown>>();
  for (const { name, value, layer } of vars) {
    const kind = layer % 3;
    const target = (kind === 2 ? hosts : entities)[Math.floor(layer / 3) % (kind === 2 ? hosts.length : entities.length)] ?? "all";
    const map = kind === 0 ? inline : kind === 1 ? fileVars : hostInline;
    const key = kind === 1 ? `group_vars/${target}` : kind === 2 ? target : target;
    // INI values are Python literals: keep them to strings and ints there.
    const usable = ini && kind !== 1 && typeof value === "object" ? "dict-in-ini" : value;
    map.set(key, { ...(map.get(key) ?? {}), [name]: usable });
  }
  for (const [key, values] of fileVars) {
    const body = Object.entries(values).map(([name, value]) => `${name}: ${JSON.stringify(value)}`).join("\n") + "\n";
    if (split) files[`inv/${key}/vars.yml`] = body;
    else files[`inv/${key}.yml`] = body;
  }
  if (ini) {
    const lines: string[] = [];
    for (const group of groups) {
      lines.push(`[${group}]`);
      for (const host of members.get(group) ?? []) {
        const own = Object.entries(hostInline.get(host) ?? {}).map(([name, value]) => `${name}=${JSON.stringify(value)}`);
        lines.push([host, ...own].join(" "));
      }
    }
    for (const [group, values] of inline) {
      lines.push(`[${group}:vars]`);
      for (const [name, value] of Object.entries(values)) lines.push(`${name}=${JSON.stringify(value)}`);
    }
    for (const group of groups) {
      const children = groups.filter((other) => parentOf.get(other) === group);
      if (children.length > 0) lines.push(`[${group}:children]`, ...children);
    }
    files["inv/hosts"] = lines.join("\n") + "\n";
  } else {
    const render = (group: string): unknown => {
      const node: Record<string, unknown> = {};
      const own = members.get(group) ?? [];
      if (own.length > 0) node["hosts"] = Object.fromEntries(own.map((host) => [host, hostInline.get(host) ?? null]));
      const values = inline.get(group);
      if (values !== undefined) node["vars"] = values;
      const children = groups.filter((other) => parentOf.get(other) === group);
      if (children.length > 0) node["children"] = Object.fromEntries(children.map((child) => [child, render(child)]));
      return node;
    };
    const all: Record<string, unknown> = { children: Object.fromEntries(groups.filter((group) => parentOf.get(group) === undefined).map((group) => [group, render(group)])) };
    const allVars = inline.get("all");
    if (allVars !== undefined) all["vars"] = allVars;
    files["inv/inventory.json"] = JSON.stringify({ all });
  }
  return { name: `generated #${seed} (${ini ? "INI" : "JSON"}, group_vars ${split ? "directories" : "files"})`, files, sources: ["inv"] };
}

const GENERATED = fc.sample(generated, { numRuns: 12, seed: 14 }).map((sample, index) => generatedCase(index, sample));

/**
 * The oracle, batched: what `ansible-inventory --list` computes (InventoryManager, then
 * VariableManager.get_vars(stage='all') per host, internal variables removed), for every case in
 * one Python process; a few cases also go through the real CLI to prove both agree.
 */
const ORACLE = String.raw`
import json, os, sys
from ansible.parsing.dataloader import DataLoader
from ansible.inventory.manager import InventoryManager
from ansible.vars.manager import VariableManager
from ansible.parsing.vault import VaultSecret
from ansible.parsing.ajson import AnsibleJSONEncoder
from ansible import constants as C
INTERNAL = set(C.INTERNAL_STATIC_VARS) if hasattr(C, 'INTERNAL_STATIC_VARS') else set()
INTERNAL |= {'ansible_diff_mode', 'ansible_config_file', 'ansible_facts', 'ansible_forks', 'ansible_inventory_sources', 'ansible_limit',
  'ansible_playbook_python', 'ansible_run_tags', 'ansible_skip_tags', 'ansible_verbosity', 'ansible_version', 'inventory_dir',
  'inventory_file', 'inventory_hostname', 'inventory_hostname_short', 'groups', 'group_names', 'omit', 'playbook_dir', 'ansible_check_mode'}
out = {}
for case in json.load(sys.stdin):
    os.chdir(case['dir'])
    loader = DataLoader()
    loader.set_vault_secrets([('default', VaultSecret(case['password'].encode()))])
    inventory = InventoryManager(loader=loader, sources=case['sources'])
    manager = VariableManager(loader=loader, inventory=inventory)
    hosts = {}
    for host in inventory.get_hosts():
        found = manager.get_vars(host=host, include_hostvars=False, stage='all')
        hosts[host.name] = {'vars': {k: v for k, v in found.items() if k not in INTERNAL}, 'groups': sorted(g.name for g in host.get_groups())}
    out[case['name']] = hosts
json.dump(out, sys.stdout, cls=AnsibleJSONEncoder)
`;

type OracleHosts = Record<string, { vars: Record<string, unknown>; groups: string[] }>;

/** The interpreter ansible-inventory runs with (its #! line): the one that has the ansible package. */
function ansiblePython(): string {
  const where = spawnSync("sh", ["-c", "command -v ansible-inventory"], { encoding: "utf8" }).stdout.trim();
  const first = readFileSync(where, "utf8").split("\n")[0] ?? "";
  return first.replace(/^#!\s*/, "").split(/\s+/)[0] ?? "python3";
}

function ansibleEnv(home: string): NodeJS.ProcessEnv {
  return { ...process.env, ANSIBLE_HOME: home, ANSIBLE_LOCAL_TEMP: join(home, "tmp"), ANSIBLE_NOCOLOR: "1", ANSIBLE_DEPRECATION_WARNINGS: "False" };
}

/** Sorted keys, so two values compare whatever order their maps were written in. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (typeof value === "object" && value !== null) {
    return `{${Object.keys(value).sort().map((key) => `${JSON.stringify(key)}:${canonical((value as Record<string, unknown>)[key])}`).join(",")}}`;
  }
  return value === undefined ? "undefined" : JSON.stringify(value);
}

/** Ansible shows an inline vault value still encrypted; the oracle's value is its plaintext. */
function opened(value: unknown): unknown {
  if (typeof value === "object" && value !== null && "__ansible_vault" in value) {
    return decryptVault((value as { __ansible_vault: string }).__ansible_vault, [{ id: undefined, password: VAULT_PASSWORD }]);
  }
  if (Array.isArray(value)) return value.map(opened);
  if (typeof value === "object" && value !== null) return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, opened(item)]));
  return value;
}

/** Where an inventory wrote a variable with this value: Ansible's side of a mismatch. */
function placesOf(inventory: Inventory, host: string, name: string, value: unknown): string {
  const places: string[] = [];
  for (const layer of layersOf(inventory, host, "none")) {
    const leaves = layer.filter((assignment) => assignment.path[0] === name);
    if (leaves.length > 0 && canonical(valueOf(leaves)) === canonical(value)) places.push(formatOrigin(leaves[0]?.origin ?? { kind: "default" }));
  }
  return places.length === 0 ? "no layer plc read holds this value" : `written at ${places.join(", ")}`;
}

describe("inventories, differential against ansible-inventory 2.14", () => {
  let root = "";
  let oracle: Record<string, OracleHosts> = {};
  let oracleMs = 0;
  const all = [...CASES, ...GENERATED];
  const dirOf = (index: number): string => join(root, `case-${index}`);

  before(() => {
    if (!hasTool("ansible-inventory")) return;
    root = mkdtempSync(join(tmpdir(), "plc-oracle-"));
    const home = join(root, ".ansible-home");
    mkdirSync(join(home, "tmp"), { recursive: true });
    all.forEach((entry, index) => {
      const dir = dirOf(index);
      mkdirSync(dir, { recursive: true });
      for (const [path, content] of Object.entries(entry.files)) {
        mkdirSync(dirname(join(dir, path)), { recursive: true });
        writeFileSync(join(dir, path), content);
      }
    });
    const input = JSON.stringify(all.map((entry, index) => ({ name: entry.name, dir: dirOf(index), sources: entry.sources, password: VAULT_PASSWORD })));
    const started = Date.now();
    const run = spawnSync(ansiblePython(), ["-c", ORACLE], { input, encoding: "utf8", env: ansibleEnv(home), maxBuffer: 64 * 1024 * 1024 });
    oracleMs = Date.now() - started;
    assert.equal(run.status, 0, run.stderr);
    oracle = JSON.parse(run.stdout) as Record<string, OracleHosts>;
  });

  after(() => {
    if (root !== "") rmSync(root, { recursive: true, force: true });
  });

  const skipWithoutAnsible = (): boolean => {
    if (root !== "") return false;
    if (process.env["CI"] !== undefined) assert.fail("ansible-inventory missing: .ci/run must install ansible-core");
    return true;
  };

  it("has at least 30 inventories, and the batched oracle is what ansible-inventory --list prints", () => {
    assert.ok(all.length >= 30, `${all.length} inventories`);
    if (skipWithoutAnsible()) return;
    process.stdout.write(`# oracle: ${all.length} inventories in one ansible process, ${oracleMs} ms\n`);
    for (const name of ["INI inventory named hosts: [g:vars], [g:children], k=v on host lines, literals (inv2)", "several -i sources merged in order, group_vars beside each"]) {
      const index = all.findIndex((entry) => entry.name === name);
      const entry = all[index];
      assert.ok(entry !== undefined);
      const cli = spawnSync("ansible-inventory", [...entry.sources.flatMap((source) => ["-i", source]), "--list"], { cwd: dirOf(index), encoding: "utf8", env: ansibleEnv(join(root, ".ansible-home")) });
      assert.equal(cli.status, 0, cli.stderr);
      const list = JSON.parse(cli.stdout) as { _meta: { hostvars: Record<string, Record<string, unknown>> } };
      for (const [host, { vars }] of Object.entries(oracle[name] ?? {})) assert.equal(canonical(list._meta.hostvars[host] ?? {}), canonical(vars), `${name}: ${host}`);
    }
  });

  all.forEach((entry, index) => {
    it(entry.name, () => {
      if (skipWithoutAnsible()) return;
      const dir = dirOf(index);
      const expectedHosts = oracle[entry.name] ?? {};
      const inventory = readInventory(entry.sources.map((source) => (source.includes(",") ? source : join(dir, source))), [{ id: undefined, password: VAULT_PASSWORD }], dir);
      const problems: string[] = [];
      for (const host of new Set([...Object.keys(expectedHosts), ...inventory.hosts.keys()])) {
        const ours = [...(inventory.hosts.get(host) ?? [])].sort();
        const theirs = expectedHosts[host]?.groups ?? [];
        if (canonical(ours) !== canonical(theirs)) problems.push(`host ${host}: groups plc ${JSON.stringify(ours)} / ansible ${JSON.stringify(theirs)}`);
        const expected = opened(expectedHosts[host]?.vars ?? {}) as Record<string, unknown>;
        const actual = hostVariables(inventory, host, "none");
        for (const name of new Set([...Object.keys(expected), ...actual.keys()])) {
          const variable = actual.get(name);
          const value = variable === undefined ? undefined : valueOf(variable.assignments);
          if (canonical(value) === canonical(expected[name])) continue;
          const where = variable === undefined ? "not set" : `from ${formatOrigin(variable.assignments[0]?.origin ?? { kind: "default" })}`;
          problems.push(`host ${host}, ${name}:\n  plc     ${JSON.stringify(value)} (${where})\n  ansible ${JSON.stringify(expected[name])} (${placesOf(inventory, host, name, expected[name])})`);
        }
      }
      assert.deepEqual(problems, [], problems.join("\n"));
    });
  });

  it("the deploy's hosts are the group <prefix>-<instance> and playlabs' pattern *<prefix>-<instance>*", () => {
    if (skipWithoutAnsible()) return;
    const index = all.findIndex((entry) => entry.name.includes("(inv6)"));
    const inventory = readInventory([join(dirOf(index), "inv")], [], dirOf(index));
    assert.deepEqual(deployHosts(inventory, "yourproject-production"), ["yourproject-production.example.com", "eu1"]);
    const groups = new Set(Object.entries(oracle[all[index]?.name ?? ""] ?? {}).filter(([host, { groups: member }]) => host.includes("yourproject-production") || member.some((name) => name.includes("yourproject-production"))).map(([host]) => host));
    assert.deepEqual(new Set(deployHosts(inventory, "yourproject-production")), groups);
  });
});
