// Phase 2, resolve: precedence, plugin selection and order. Pure: no I/O.
import { diagnostic, nearest, PlcError, type Diagnostic } from "../diagnostics.js";
import { BARE_VARIABLES } from "../load/bare.js";
import type { Assignment, Origin, PluginDefinition, ResolvedSpec, ResolvedValue, WrittenSpec } from "../types.js";
import { checkPostgresHomes, htaccessSwitch, htaccessUsers, playlabsGlobals, renamePlaylabs, type PlaylabsPending } from "./playlabs.js";

export const DEFAULT_PREFIX = "project";
export const DEFAULT_INSTANCE = "staging";

/** Variables whose argv form is a comma-separated list (`-p a,b`, `dns=a.fr,b.fr`). */
const LIST_VARIABLES = new Set(["plugins", "dns", "dns_redirect", "secret_env", "networks"]);

export function pointerOf(path: readonly string[]): string {
  return path.map((part) => "/" + part.replace(/~/g, "~0").replace(/\//g, "~1")).join("");
}

/** Applies the design's precedence: defaults, inventory (all, group, host), image, argv. */
export function resolveSpec(written: WrittenSpec): ResolvedSpec {
  const prefix = lastString(written.argv, "prefix") ?? DEFAULT_PREFIX;
  const instance = lastString(written.argv, "instance") ?? DEFAULT_INSTANCE;
  const name = `${prefix}-${instance}`;
  const values = new ValueTable();
  const defaults: Origin = { kind: "default" };

  setValue(values, { path: ["home"], value: `/home/${name}`, origin: defaults, isSecret: false });
  setValue(values, { path: ["host_port"], value: defaultHostPort(name), origin: defaults, isSecret: false });

  const playlabsNotes: string[] = [];
  const pending: PlaylabsPending = { postgresHomes: [] };
  const inventoryLayers = renamePlaylabs(inventoryAssignments(written, prefix, instance), playlabsNotes, pending);
  for (const assignment of inventoryLayers) setValue(values, assignment);
  const argv = renamePlaylabs(written.argv, playlabsNotes, pending);

  const pluginsGiven = [...inventoryLayers, ...argv].some((a) => a.path[0] === "plugins");
  const imagePlugins = written.imageEnv?.get("PLAYLABS_PLUGINS");
  if (!pluginsGiven && imagePlugins !== undefined && imagePlugins.trim() !== "") {
    setValue(values, {
      path: ["plugins"],
      value: splitList(imagePlugins),
      origin: { kind: "image", ref: "ENV PLAYLABS_PLUGINS" },
      isSecret: false,
    });
  }
  for (const assignment of argv) {
    const isList = assignment.path.length === 1 && LIST_VARIABLES.has(assignment.path[0] ?? "");
    const value = isList && typeof assignment.value === "string" ? splitList(assignment.value) : assignment.value;
    setValue(values, { ...assignment, value });
  }

  checkPostgresHomes(pending, String(values.map.get("/home")?.value));
  const htaccess = values.map.get("/htaccess");
  const isHtaccessOn = htaccess === undefined ? undefined : htaccessSwitch(htaccess.value);
  if (htaccess !== undefined && isHtaccessOn !== undefined) {
    const users = isHtaccessOn ? htaccessUsers(htaccess, written, name) : [];
    values.map.set("/htaccess", { ...htaccess, value: users, isSecret: true });
  }

  const pluginValue = values.map.get("/plugins");
  const { plugins, notes } = orderPlugins(pluginValue, written.plugins);
  const given = new Set(values.map.keys());
  const isGiven = (pointer: string): boolean => given.has(pointer) || [...given].some((key) => key.startsWith(pointer + "/"));
  for (const assignment of pluginDefaults(written, plugins)) {
    if (!isGiven(pointerOf(assignment.path))) setValue(values, assignment);
  }
  if (written.imageNote !== undefined && (pluginValue === undefined || plugins.some((plugin) => Object.keys(plugin.imageEnv).length > 0))) notes.push(written.imageNote);
  notes.push(...playlabsNotes);
  for (const plugin of written.plugins) {
    if (plugin.shadows !== undefined) notes.push(`plugin '${plugin.name}' of ${plugin.dir} shadows the built-in ${plugin.name} plugin: -p ${plugin.name} runs it`);
  }
  return { vars: buildObject(values.map), values: values.map, plugins, notes, imageArchive: written.imageArchive, imageTags: written.imageTags, imageParts: written.imageParts, passwords: written.passwords };
}

function lastString(assignments: readonly Assignment[], name: string): string | undefined {
  const found = assignments.filter((a) => a.path.length === 1 && a.path[0] === name).pop();
  return typeof found?.value === "string" ? found.value : undefined;
}

function splitList(text: string): string[] {
  return text
    .split(",")
    .map((item) => item.trim())
    .filter((item) => item !== "");
}

/**
 * The inventory's variables for the host (load applied Ansible's precedence and evaluated the
 * templates): `<prefix>_<instance>_<name>`, then the bare `<name>` playlabs also reads, which wins
 * wherever it is written (playlabs reads `name|default(<prefix>_<instance>_name)`).
 */
function inventoryAssignments(written: WrittenSpec, prefix: string, instance: string): Assignment[] {
  const variables = written.inventory?.variables;
  if (variables === undefined) return [];
  // Ansible variable names cannot hold '-', so `feature-login` is also looked up as `feature_login`.
  const keyPrefixes = [...new Set([`${prefix}_${instance}_`, `${prefix}_${instance}_`.replace(/-/g, "_")])];
  const prefixed: Assignment[] = [];
  const bare: Assignment[] = [];
  for (const [name, variable] of variables) {
    const keyPrefix = keyPrefixes.find((candidate) => name.startsWith(candidate) && name.length > candidate.length);
    const [first, ...rest] = variable.assignments;
    if (first === undefined) continue;
    const located = [{ ...first, overrode: variable.overrode }, ...rest];
    if (keyPrefix !== undefined) {
      for (const assignment of located) prefixed.push({ ...assignment, path: [name.slice(keyPrefix.length), ...assignment.path.slice(1)] });
    } else if (BARE_VARIABLES.includes(name)) {
      bare.push(...located);
    }
  }
  // `<prefix>_slack_icon`, `<prefix>-<instance>_email_from`: playlabs' names without the usual prefix.
  const globals = playlabsGlobals([[...variables.values()].flatMap((variable) => variable.assignments)], prefix, instance);
  return [...globals, ...prefixed, ...bare];
}

/** Values plugins take when nothing else set them: playlabs' unprefixed globals (`users`), then the image's Env. */
function pluginDefaults(written: WrittenSpec, plugins: readonly PluginDefinition[]): Assignment[] {
  const result: Assignment[] = [];
  for (const plugin of plugins) {
    for (const name of plugin.globals) result.push(...(written.inventory?.variables?.get(name)?.assignments ?? []));
    for (const [variable, key] of Object.entries(plugin.imageEnv)) {
      const value = written.imageEnv?.get(key);
      if (value !== undefined) result.push({ path: [variable], value, origin: { kind: "image", ref: `ENV ${key}` }, isSecret: false });
    }
  }
  return result;
}

/**
 * The values by JSON pointer, and for each pointer the pointers set below it: a set replaces
 * what is above and below its path without scanning every value (20,000 env keys stay linear).
 */
class ValueTable {
  readonly map = new Map<string, ResolvedValue>();
  private readonly below = new Map<string, Set<string>>();

  set(pointer: string, value: ResolvedValue): void {
    this.map.set(pointer, value);
    for (const ancestor of ancestorsOf(pointer)) {
      let set = this.below.get(ancestor);
      if (set === undefined) this.below.set(ancestor, (set = new Set()));
      set.add(pointer);
    }
  }

  delete(pointer: string): void {
    if (!this.map.delete(pointer)) return;
    for (const ancestor of ancestorsOf(pointer)) this.below.get(ancestor)?.delete(pointer);
  }

  /** The pointers set strictly below this one. */
  keysBelow(pointer: string): string[] {
    return [...(this.below.get(pointer) ?? [])];
  }
}

function ancestorsOf(pointer: string): string[] {
  const result: string[] = [];
  for (let index = pointer.lastIndexOf("/"); index > 0; index = pointer.lastIndexOf("/", index - 1)) {
    result.push(pointer.slice(0, index));
  }
  return result;
}

/** Sets a value; a scalar replaces whatever was below its path, objects merge key by key. */
function setValue(values: ValueTable, assignment: Assignment): void {
  const pointer = pointerOf(assignment.path);
  const overrode: Origin[] = [];
  const previous = values.map.get(pointer);
  if (previous !== undefined) overrode.push(...previous.overrode, previous.origin);
  overrode.push(...(assignment.overrode ?? []));
  values.delete(pointer);
  for (const key of values.keysBelow(pointer)) values.delete(key);
  for (const key of ancestorsOf(pointer)) values.delete(key);
  values.set(pointer, { value: assignment.value, origin: assignment.origin, overrode, isSecret: assignment.isSecret, template: assignment.template });
}

/** The merged object; null-prototype nodes, so a `__proto__` key is a key, never Object.prototype. */
function buildObject(values: Map<string, ResolvedValue>): Record<string, unknown> {
  const root: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  for (const [pointer, resolved] of values) {
    const parts = pointer
      .split("/")
      .slice(1)
      .map((part) => part.replace(/~1/g, "/").replace(/~0/g, "~"));
    let node = root;
    parts.forEach((part, index) => {
      if (index === parts.length - 1) {
        node[part] = resolved.value;
        return;
      }
      const next = node[part];
      if (typeof next !== "object" || next === null) node[part] = Object.create(null) as Record<string, unknown>;
      node = node[part] as Record<string, unknown>;
    });
  }
  return root;
}

/** A stable port per instance, so two instances on one host do not collide by default. */
function defaultHostPort(name: string): number {
  let hash = 2166136261;
  for (const char of name) {
    hash ^= char.charCodeAt(0);
    hash = Math.imul(hash, 16777619) >>> 0;
  }
  return 20000 + (hash % 10000);
}

/** Keeps the user's order unless `after`/`requires` forbid it; then a stable topological sort. */
export function orderPlugins(
  given: ResolvedValue | undefined,
  available: readonly PluginDefinition[],
): { plugins: PluginDefinition[]; notes: string[] } {
  if (given === undefined) return { plugins: [], notes: [] };
  const origin = given.origin;
  const problems: Diagnostic[] = [];
  const names = Array.isArray(given.value) ? given.value.map(String) : splitList(String(given.value));
  const byName = new Map(available.map((plugin) => [plugin.name, plugin]));
  const wanted: PluginDefinition[] = [];
  for (const name of names) {
    const plugin = byName.get(name);
    if (plugin === undefined) {
      const suggestion = nearest(name, byName.keys());
      problems.push(
        diagnostic("unknown-plugin", `unknown plugin '${name}'`, {
          origin,
          variable: "plugins",
          hint:
            (suggestion === undefined ? "" : `did you mean '${suggestion}'? `) +
            `available: ${[...byName.keys()].sort().join(", ")}`,
        }),
      );
    } else if (!wanted.includes(plugin)) {
      wanted.push(plugin);
    }
  }
  for (const plugin of wanted) {
    for (const required of plugin.requires) {
      if (!wanted.some((other) => other.name === required)) {
        problems.push(
          diagnostic("plugin-requires", `plugin '${plugin.name}' requires '${required}', which is not active`, {
            origin,
            variable: "plugins",
            hint: `add it: -p ${[required, ...names].join(",")}`,
          }),
        );
      }
    }
  }
  if (problems.length > 0) throw new PlcError(problems);

  const mustFollow = (plugin: PluginDefinition): string[] =>
    [...plugin.after, ...plugin.requires].filter((name) => wanted.some((other) => other.name === name));
  const placed: PluginDefinition[] = [];
  const remaining = [...wanted];
  while (remaining.length > 0) {
    const index = remaining.findIndex((plugin) =>
      mustFollow(plugin).every((name) => placed.some((done) => done.name === name)),
    );
    if (index < 0) {
      throw new PlcError([
        diagnostic("plugin-cycle", `plugin order has a cycle: ${findCycle(remaining, mustFollow).join(" -> ")}`, {
          origin,
          variable: "plugins",
          hint: "remove one of these 'after'/'requires' entries from the plugins' plugin.yml",
        }),
      ]);
    }
    placed.push(...remaining.splice(index, 1));
  }
  const notes = placed
    .map((plugin, index) =>
      wanted[index] === plugin
        ? undefined
        : `plugin order: '${plugin.name}' moved to position ${index + 1} (${plugin.name} runs after ${mustFollow(plugin).join(", ") || "nothing"}); order used: ${placed.map((p) => p.name).join(",")}`,
    )
    .filter((note): note is string => note !== undefined)
    .slice(0, 1);
  return { plugins: placed, notes };
}

function findCycle(plugins: PluginDefinition[], mustFollow: (plugin: PluginDefinition) => string[]): string[] {
  const byName = new Map(plugins.map((plugin) => [plugin.name, plugin]));
  for (const start of plugins) {
    const path: string[] = [];
    let current: PluginDefinition | undefined = start;
    while (current !== undefined && !path.includes(current.name)) {
      path.push(current.name);
      const next: string | undefined = mustFollow(current).find((name) => byName.has(name));
      current = next === undefined ? undefined : byName.get(next);
    }
    if (current !== undefined) return [...path.slice(path.indexOf(current.name)), current.name];
  }
  return plugins.map((plugin) => plugin.name);
}
